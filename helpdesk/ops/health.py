"""/healthz and /readyz, for load balancers, orchestrators and monitoring.

``/healthz`` says only that the process answers: no query, no session, nothing to fail but the
process itself. ``/readyz`` says whether this node can do its work, one entry per check and an
overall status, 200 when ready and 503 when not:

- ``database``: a ``SELECT 1`` on the default database;
- ``migrations``: no migration left unapplied (asked until the answer is yes, then remembered
  for the life of the process: a node does not become unmigrated by itself);
- ``cache``: a set and a get (Redis when CACHE_URL is set);
- ``broker``: the Celery broker answers a ping ("inline" when there is none: tasks run in the
  process that queues them);
- ``timers``: the periodic job (``tickets.sla.jobs.run_timers``) got to the end of a run less
  than HEALTH_JOB_MAX_AGE_SECONDS ago. A job that never ran counts as late only once this
  process has been up that long, so a fresh deployment is "waiting", not unready;
- ``mailboxes``: every active IMAP mailbox was polled within the same age (one that was never
  polled, like the job). A mailbox whose server refuses us is polled all the same: its error is
  counted, not failed on.

``?scope=serving`` runs only the first four, which are what this node needs to answer requests:
a load balancer that asks that does not take every node out together because the one beat
process or a mailbox is late (README, Health and metrics).

It costs two short queries (three until the migrations are known to be applied) and two cache
round trips; each check that fails says which, with the name of the error only (the details go
to the log, not to whoever asks). A stopped database or Redis refuses the connection at once;
the broker's client waits HEALTH_CHECK_TIMEOUT_SECONDS at most.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from helpdesk import ops
from helpdesk.ops import broker
from tickets.models import Mailbox
from tickets.sla import jobs

logger = logging.getLogger(__name__)

OK, FAIL, WAITING, INLINE = "ok", "fail", "waiting", "inline"

# This process's own cache key: two processes checking at once never read each other's value.
_CACHE_KEY = f"helpdesk:readyz:{uuid.uuid4().hex}"
_migrated = False


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": OK}


def check_migrations() -> dict[str, Any]:
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connection)
        unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if unapplied:
            return {"status": FAIL, "unapplied": len(unapplied)}
        _migrated = True
    return {"status": OK}


def check_cache() -> dict[str, Any]:
    token = uuid.uuid4().hex
    cache.set(_CACHE_KEY, token, 60)
    if cache.get(_CACHE_KEY) != token:
        return {"status": FAIL, "error": "the value set was not read back"}
    return {"status": OK}


def check_broker() -> dict[str, Any]:
    if broker.is_inline():
        return {"status": INLINE}
    broker.ping()
    return {"status": OK}


def _max_age() -> int:
    return settings.HEALTH_JOB_MAX_AGE_SECONDS


def _past_grace() -> bool:
    """Up longer than the job's allowed age: what never ran by now is late, not just new."""
    return time.monotonic() - ops.STARTED > _max_age()


def check_timers() -> dict[str, Any]:
    last = jobs.last_finished()
    if last is None:
        return {"status": FAIL if _past_grace() else WAITING, "last_run_age_seconds": None}
    age = max(0, round(time.time() - last))
    return {"status": OK if age <= _max_age() else FAIL, "last_run_age_seconds": age}


def check_mailboxes() -> dict[str, Any]:
    late = Q(last_polled_at__lt=timezone.now() - timedelta(seconds=_max_age()))
    if _past_grace():
        late |= Q(last_polled_at__isnull=True)
    counts = Mailbox.objects.filter(is_active=True).aggregate(
        active=Count("pk"), late=Count("pk", filter=late), erring=Count("pk", filter=~Q(last_error=""))
    )
    return {"status": FAIL if counts["late"] else OK, **counts}


# Each check, and the one it needs to have passed (else it fails at once, without trying).
SERVING: dict[str, tuple[Callable[[], dict[str, Any]], str | None]] = {
    "database": (check_database, None),
    "migrations": (check_migrations, "database"),
    "cache": (check_cache, None),
    "broker": (check_broker, None),
}
BACKGROUND: dict[str, tuple[Callable[[], dict[str, Any]], str | None]] = {
    "timers": (check_timers, "cache"),
    "mailboxes": (check_mailboxes, "database"),
}


def run_checks(scope: str = "all") -> dict[str, dict[str, Any]]:
    checks = SERVING if scope == "serving" else {**SERVING, **BACKGROUND}
    results: dict[str, dict[str, Any]] = {}
    for name, (check, needs) in checks.items():
        if needs is not None and results[needs]["status"] == FAIL:
            results[name] = {"status": FAIL, "error": f"{needs} unavailable"}
            continue
        started = time.monotonic()
        try:
            result = check()
        except Exception as exc:
            logger.warning("Readiness check %s failed: %s", name, exc, exc_info=True)
            result = {"status": FAIL, "error": type(exc).__name__}
        result["ms"] = round((time.monotonic() - started) * 1000, 1)
        results[name] = result
    return results


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    scope = "serving" if request.GET.get("scope") == "serving" else "all"
    checks = run_checks(scope)
    failed = sorted(name for name, result in checks.items() if result["status"] == FAIL)
    body = {"status": "unready" if failed else "ready", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)
