"""Request ids: every request gets one (the caller's X-Request-ID when it is sane, a new one
otherwise), every log record written while it is served carries it (helpdesk.logs), the
response returns it, and the Celery tasks the request queues carry it into the worker's log.

The response also names the node that served it (X-Served-By, setting HELPDESK_NODE), so that
behind a load balancer one can tell which web node answered.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from helpdesk.logs import request_id

logger = logging.getLogger("helpdesk.requests")

HEADER = "X-Request-ID"
# Anything else a caller sends (too long, spaces, quotes, line breaks) could forge or break a
# log line, so it is replaced rather than cleaned.
_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")
# The message header a queued task carries the id in.
TASK_HEADER = "request_id"


def request_id_for(sent: str | None) -> str:
    """The caller's id when it is sane, otherwise a new one."""
    if sent and _SANE.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Set the request id for the request's duration and return it, with the node's name.

    First in MIDDLEWARE, so that whatever the others log or fail with carries the id. It reads
    one header and queries nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.node = settings.HELPDESK_NODE
        self.log_requests = settings.LOG_REQUESTS

    def __call__(self, request: HttpRequest) -> HttpResponse:
        current = request_id_for(request.headers.get(HEADER))
        request.request_id = current
        token = request_id.set(current)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = current
            response["X-Served-By"] = self.node
            if self.log_requests:
                self._log(request, response, started)
            return response
        finally:
            request_id.reset(token)

    def _log(self, request: HttpRequest, response: HttpResponse, started: float) -> None:
        """One line per request. The route's pattern stands in for the path, which may hold a
        signed ticket link or an address; the query string is left out for the same reason."""
        match = request.resolver_match
        route = f"/{match.route}" if match else "-"
        logger.info(
            "%s %s %s",
            request.method,
            route,
            response.status_code,
            extra={
                "method": request.method,
                "route": route,
                "view": match.view_name if match else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )


# Celery: the id travels in a message header from the process that queues a task to the worker
# that runs it. Inline (eager) tasks run in the queuing process and already see the contextvar.


@before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    current = request_id.get()
    if current and headers is not None:
        headers.setdefault(TASK_HEADER, current)


# The token of each running task's set(), by task id, so postrun puts back what was there.
_tokens: dict[str, Any] = {}


def _sent_request_id(task: Any) -> str | None:
    sent = getattr(task.request, TASK_HEADER, None) or (getattr(task.request, "headers", None) or {}).get(
        TASK_HEADER
    )
    return sent if isinstance(sent, str) and _SANE.fullmatch(sent) else None


@task_prerun.connect
def _take_request_id(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None or task.request.is_eager:
        return
    sent = _sent_request_id(task)
    if sent and task_id:
        _tokens[task_id] = request_id.set(sent)


@task_postrun.connect
def _drop_request_id(task_id: str | None = None, **_: Any) -> None:
    token = _tokens.pop(task_id, None) if task_id else None
    if token is not None:
        request_id.reset(token)
