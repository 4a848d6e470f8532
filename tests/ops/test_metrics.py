"""/metrics: who may read it, and that the help desk's own figures move when tickets do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from smtplib import SMTPException

import pytest
import redis
from celery.exceptions import Retry
from django.db import connection
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from tickets import services
from tickets.mailout import notifications
from tickets.mailout import tasks as mail_tasks
from tickets.models import InboundMessage
from tickets.sla import jobs

ROOT = Path(__file__).resolve().parents[2]
REMOTE = "203.0.113.7"


def _scrape(client, **extra) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _value(samples, metric, **labels) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_metrics_refused_to_an_anonymous_remote_caller(client):
    response = client.get("/metrics", REMOTE_ADDR=REMOTE)
    assert response.status_code == 403
    assert b"helpdesk_" not in response.content


@pytest.mark.django_db
def test_metrics_for_loopback_and_for_the_token(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    settings.METRICS_TOKEN = "a-long-random-token"
    right = "Bearer a-long-random-token"
    assert client.get("/metrics", REMOTE_ADDR=REMOTE, HTTP_AUTHORIZATION=right).status_code == 200
    for wrong in ("Bearer a-long-random-toke", "Bearer ", "Basic a-long-random-token", "a-long-random-token"):
        assert client.get("/metrics", REMOTE_ADDR=REMOTE, HTTP_AUTHORIZATION=wrong).status_code == 403, wrong
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR=REMOTE, HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_allowed_networks_and_trusted_proxies(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    # A proxy on this host: the address it saw counts, not its own.
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    settings.NUM_PROXIES = 1
    through_proxy = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": REMOTE}
    assert client.get("/metrics", **through_proxy).status_code == 403
    # Without NUM_PROXIES the header is not believed.
    settings.NUM_PROXIES = 0
    assert client.get("/metrics", REMOTE_ADDR=REMOTE, HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403


def test_the_domain_counters_move_with_a_ticket(
    client, lab, new_ticket, django_capture_on_commit_callbacks, time_machine
):
    before = _scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = new_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_claim(ticket=ticket, actor=lab.john)
    ticket.refresh_from_db()
    # Past both its targets: the SLA watch marks them.
    time_machine.move_to(ticket.resolution_due + (ticket.resolution_due - ticket.created_at))
    with django_capture_on_commit_callbacks(execute=True):
        jobs.run_timers()
    after = _scrape(client)

    def moved(metric, **labels):
        return _value(after, metric, **labels) - _value(before, metric, **labels)

    assert moved("helpdesk_tickets_created_total", source="web") == 1
    assert moved("helpdesk_ticket_transitions_total", name="intake") == 1
    assert moved("helpdesk_ticket_transitions_total", name="claim") == 1
    ticket.refresh_from_db()
    assert ticket.resolution_breached_at is not None
    for target in ("first_response", "resolution"):
        breached = getattr(ticket, f"{target}_breached_at") is not None
        assert moved("helpdesk_sla_breaches_total", target=target) == int(breached)
    assert moved("helpdesk_mail_deliveries_total", outcome="sent") >= 1
    assert moved("helpdesk_timers_run_seconds_count") == 1
    assert _value(after, "helpdesk_timers_last_run_timestamp_seconds") > 0
    # The database's statements and the requests, per view.
    assert moved("django_db_execute_total", alias="default", vendor=connection.vendor) > 0
    requests = "django_http_requests_total_by_view_transport_method_total"
    assert moved(requests, view="metrics", transport="http", method="GET") == 1


def test_a_refused_ticket_counts_nothing(client, lab, karen, django_capture_on_commit_callbacks):
    before = _scrape(client)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.TicketActionError):
        services.ticket_create(requester=karen, subject="", body="No subject", actor=lab.karen)
    after = _scrape(client)
    assert _value(after, "helpdesk_tickets_created_total", source="web") == _value(
        before, "helpdesk_tickets_created_total", source="web"
    )


def test_mail_retries_and_failures_are_counted(client, db, monkeypatch):
    def refuse(payload):
        raise SMTPException("421 try later")

    monkeypatch.setattr(notifications, "deliver", refuse)
    monkeypatch.setattr(
        mail_tasks.send_email, "retry", lambda *, exc, countdown: Retry(exc=exc, when=countdown)
    )
    payload = {"to": "karen@example.com", "subject": "Hello"}

    def attempt(retries: int, is_eager: bool, raises: type[Exception]) -> None:
        mail_tasks.send_email.push_request(retries=retries, is_eager=is_eager)
        try:
            with pytest.raises(raises):
                mail_tasks.send_email.run(payload)
        finally:
            mail_tasks.send_email.pop_request()

    def counted(outcome: str) -> float:
        return _value(_scrape(client), "helpdesk_mail_deliveries_total", outcome=outcome)

    retried, failed = counted("retried"), counted("failed")
    attempt(5, False, Retry)  # under a worker, tried again later
    assert (counted("retried"), counted("failed")) == (retried + 1, failed)
    attempt(mail_tasks.MAIL_MAX_RETRIES, False, Retry)  # its last try: given up
    assert (counted("retried"), counted("failed")) == (retried + 1, failed + 1)
    attempt(mail_tasks.MAIL_INLINE_TRIES - 1, True, SMTPException)  # inline, the last of a few tries
    assert (counted("retried"), counted("failed")) == (retried + 1, failed + 2)


def test_inbound_messages_by_status_and_the_quarantine(client, db):
    for key, status in (("a", "quarantined"), ("b", "quarantined"), ("c", "ticket")):
        InboundMessage.objects.create(key=key, raw=b"x", size=1, source="pipe", status=status)
    samples = _scrape(client)
    assert _value(samples, "helpdesk_quarantine_messages") == 2
    assert _value(samples, "helpdesk_inbound_messages", status="quarantined") == 2
    assert _value(samples, "helpdesk_inbound_messages", status="ticket") == 1
    assert _value(samples, "helpdesk_inbound_messages", status="bounce") == 0
    # Inline, there is no queue to measure.
    assert not any(name == "helpdesk_celery_queue_length" for name, _ in samples)


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, db=12, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="no Redis answers on 127.0.0.1:6379")
def test_the_celery_queue_length_when_the_broker_is_redis(client, db):
    queue = "helpdesk-h1-tests-metrics"
    broker = redis.Redis(host="127.0.0.1", port=6379, db=12)
    broker.delete(queue)
    broker.rpush(queue, "one", "two")
    try:
        with override_settings(
            CELERY_BROKER_URL="redis://127.0.0.1:6379/12",
            CELERY_TASK_ALWAYS_EAGER=False,
            CELERY_TASK_DEFAULT_QUEUE=queue,
        ):
            samples = _scrape(client)
    finally:
        broker.delete(queue)
    assert _value(samples, "helpdesk_celery_queue_length", queue=queue) == 2


COUNT_ONE = """
import django
django.setup()
from tickets import metrics
metrics.TICKETS_CREATED.labels(source="email").inc()
"""
SCRAPE = """
import django
django.setup()
from helpdesk.ops import metrics
print(metrics.exposition().decode())
"""


def test_processes_sharing_a_multiprocess_folder_add_up(tmp_path):
    """gunicorn's workers with PROMETHEUS_MULTIPROC_DIR: any one of them reports them all."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }

    def run(code: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    run(COUNT_ONE)
    run(COUNT_ONE)
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(run(SCRAPE))
        for sample in family.samples
    }
    assert _value(samples, "helpdesk_tickets_created_total", source="email") == 2
