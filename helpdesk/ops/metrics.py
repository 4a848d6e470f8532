"""/metrics: everything Prometheus scrapes from a web node, in its text format.

- the requests' counts and latency per view (django-prometheus' middleware) and the database's
  statements (``helpdesk.ops.dbmetrics``);
- the help desk's own counters, moved by the domain (``tickets.metrics``);
- figures read when scraped: the inbound messages by status and the quarantine's size (one
  aggregate query), the end of the periodic job's last run (from the cache, so whichever
  process ran it), and the Celery queue's length (LLEN, when the broker is Redis; absent
  otherwise).

Who may read it: a caller whose address is in METRICS_ALLOWED_IPS (addresses or networks;
127.0.0.1 and ::1 unless set), or one that sends ``Authorization: Bearer <METRICS_TOKEN>``
(no token access while METRICS_TOKEN is unset). The address is REMOTE_ADDR; behind NUM_PROXIES
trusted proxies it is the one they saw (``tickets.throttle.client_ip``), so a proxy on this
host does not make everyone who comes through it local. Everyone else gets 403.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn's workers, ``helpdesk/gunicorn_conf.py``), the
counters are the sum over every process that writes to that folder.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Iterator
from functools import cache
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from helpdesk.ops import broker
from tickets.models import InboundMessage
from tickets.sla import jobs
from tickets.throttle import client_ip

logger = logging.getLogger(__name__)


@cache
def _allowed_networks(entries: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address_allowed(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    networks = _allowed_networks(tuple(settings.METRICS_ALLOWED_IPS))
    return any(address in network for network in networks)


def _token_allowed(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not token:
        return False
    return secrets.compare_digest(token.strip().encode(), expected.encode())


def may_read(request: HttpRequest) -> bool:
    return _token_allowed(request) or _address_allowed(request)


class ScrapeTimeCollector(Collector):
    """The figures read when Prometheus asks, rather than counted as they happen."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._safely(self._inbound)
        yield from self._safely(self._timers)
        yield from self._safely(self._queue)

    def _safely(self, part: Any) -> Iterator[GaugeMetricFamily]:
        # A source that is away (the database, Redis) leaves its figures out, not the page.
        try:
            yield from part()
        except Exception:
            logger.warning("Metrics: %s could not be read", part.__name__, exc_info=True)

    def _inbound(self) -> Iterator[GaugeMetricFamily]:
        counts = dict(InboundMessage.objects.values_list("status").annotate(n=Count("pk")).order_by())
        by_status = GaugeMetricFamily(
            "helpdesk_inbound_messages", "Inbound mail messages stored, by status.", labels=["status"]
        )
        for status in InboundMessage.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        yield GaugeMetricFamily(
            "helpdesk_quarantine_messages",
            "Inbound messages that could not be processed and wait in the quarantine.",
            value=counts.get(InboundMessage.Status.QUARANTINED, 0),
        )

    def _timers(self) -> Iterator[GaugeMetricFamily]:
        last = jobs.last_finished()
        if last is not None:
            yield GaugeMetricFamily(
                "helpdesk_timers_last_run_timestamp_seconds",
                "When the periodic job last finished a run (Unix time), in any process.",
                value=last,
            )

    def _queue(self) -> Iterator[GaugeMetricFamily]:
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        length = broker.queue_length(queue)
        if length is not None:
            gauge = GaugeMetricFamily(
                "helpdesk_celery_queue_length", "Tasks waiting in the Celery queue.", labels=["queue"]
            )
            gauge.add_metric([queue], length)
            yield gauge


def exposition() -> bytes:
    """The whole page: this process's metrics (or every process's, in multiprocess mode), then
    the figures read now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    return generate_latest(counted) + generate_latest(ScrapeTimeCollector())


@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not may_read(request):
        return HttpResponseForbidden("Metrics are not available to this address.", content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
