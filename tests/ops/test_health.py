"""/healthz and /readyz: who may call them (anyone, without a session), what makes a node
unready, and that a stopped Redis or database turns it unready within one call."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client, override_settings
from django.utils import timezone

from helpdesk import ops
from helpdesk.ops import health
from tickets.models import Mailbox
from tickets.sla import jobs
from tickets.sla import tasks as timer_tasks


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis_cache(port: int, db: int = 11) -> dict:
    backend = "django.core.cache.backends.redis.RedisCache"
    return {"default": {"BACKEND": backend, "LOCATION": f"redis://127.0.0.1:{port}/{db}"}}


@pytest.fixture
def timers_ran(db):
    """The periodic job ran just now (as beat or `manage.py run_timers` would)."""
    jobs.run_timers()


def _ready(client: Client, **query):
    response = client.get("/readyz", query)
    return response.status_code, response.json()


def test_healthz_answers_without_session_or_query(client):
    # No database access is allowed here (no db fixture): a query would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_ready_on_the_test_database(client, timers_ran):
    status, body = _ready(client)
    assert status == 200, body
    assert body["status"] == "ready"
    assert body["failed"] == []
    assert set(body["checks"]) == {"database", "migrations", "cache", "broker", "timers", "mailboxes"}
    assert body["checks"]["broker"]["status"] == "inline"
    assert body["checks"]["timers"]["last_run_age_seconds"] <= 5


def test_readyz_costs_a_few_queries(client, timers_ran, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(health, "_migrated", False)
    with django_assert_max_num_queries(5):  # the first call also reads the applied migrations
        assert client.get("/readyz").status_code == 200
    with django_assert_max_num_queries(2):  # then SELECT 1 and the mailboxes' one aggregate
        assert client.get("/readyz").status_code == 200


def test_readyz_unready_when_the_cache_does_not_answer(client, timers_ran):
    with override_settings(CACHES=_redis_cache(_free_port())):
        started = time.monotonic()
        status, body = _ready(client)
        elapsed = time.monotonic() - started
    assert status == 503
    assert body["status"] == "unready"
    assert "cache" in body["failed"]
    assert body["checks"]["cache"]["error"] == "ConnectionError"
    # The job's last run is read from the cache, which is away.
    assert body["checks"]["timers"] == {"status": "fail", "error": "cache unavailable"}
    assert body["checks"]["database"]["status"] == "ok"
    assert elapsed < 2
    # No address or port in the answer: the details go to the log.
    assert "127.0.0.1" not in str(body)


class _BrokenConnection:
    def cursor(self):
        raise OperationalError("connection refused")


def test_readyz_unready_when_the_database_does_not_answer(client, timers_ran, monkeypatch):
    monkeypatch.setattr(health, "connection", _BrokenConnection())
    status, body = _ready(client)
    assert status == 503
    assert body["checks"]["database"]["status"] == "fail"
    assert body["checks"]["database"]["error"] == "OperationalError"
    # What needs the database is not tried, and says why.
    assert body["checks"]["migrations"]["error"] == "database unavailable"
    assert body["checks"]["mailboxes"]["error"] == "database unavailable"
    assert body["failed"] == ["database", "mailboxes", "migrations"]


def test_readyz_unready_while_a_migration_is_unapplied(client, timers_ran, monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)
    unapplied = [("tickets", "9999_next")]
    monkeypatch.setattr(health.MigrationExecutor, "migration_plan", lambda self, targets: unapplied)
    status, body = _ready(client)
    assert status == 503
    assert body["checks"]["migrations"]["unapplied"] == 1
    assert health._migrated is False


def test_the_periodic_job_notes_its_runs_however_it_is_started(db):
    for run in (jobs.run_timers, lambda: call_command("run_timers"), lambda: timer_tasks.run_timers.delay()):
        cache.delete(jobs.LAST_RUN_KEY)
        run()
        assert time.time() - jobs.last_finished() < 5


def test_readyz_unready_when_the_periodic_job_is_late(client, settings, timers_ran):
    settings.HEALTH_JOB_MAX_AGE_SECONDS = 180
    cache.set(jobs.LAST_RUN_KEY, time.time() - 181, None)
    status, body = _ready(client)
    assert status == 503
    assert body["failed"] == ["timers"]
    assert body["checks"]["timers"]["last_run_age_seconds"] >= 181
    # A load balancer that asks about serving only is not told about the job.
    status, body = _ready(client, scope="serving")
    assert status == 200
    assert "timers" not in body["checks"]


def test_a_job_that_never_ran_is_late_only_once_the_process_has_been_up_long_enough(
    client, settings, db, monkeypatch
):
    settings.HEALTH_JOB_MAX_AGE_SECONDS = 180
    cache.delete(jobs.LAST_RUN_KEY)
    monkeypatch.setattr(ops, "STARTED", time.monotonic() - 10)
    status, body = _ready(client)
    assert status == 200
    assert body["checks"]["timers"]["status"] == "waiting"
    monkeypatch.setattr(ops, "STARTED", time.monotonic() - 200)
    status, body = _ready(client)
    assert status == 503
    assert body["failed"] == ["timers"]


def test_readyz_unready_when_an_active_mailbox_is_not_polled(client, settings, timers_ran):
    settings.HEALTH_JOB_MAX_AGE_SECONDS = 180
    mailbox = Mailbox.objects.create(name="Support", host="imap.example.org", username="s", password_env="X")
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now() - timedelta(seconds=300))
    Mailbox.objects.create(
        name="Old", host="imap.example.org", username="o", password_env="X", is_active=False
    )
    status, body = _ready(client)
    assert status == 503
    assert body["failed"] == ["mailboxes"]
    mailboxes = body["checks"]["mailboxes"]
    assert {key: mailboxes[key] for key in ("status", "active", "late", "erring")} == {
        "status": "fail",
        "active": 1,
        "late": 1,
        "erring": 0,
    }
    # No mailbox's name in an answer anyone may read.
    assert "Support" not in str(body)
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now(), last_error="refused")
    status, body = _ready(client)
    assert status == 200
    assert body["checks"]["mailboxes"]["erring"] == 1


@override_settings(SECURE_SSL_REDIRECT=True)
def test_probes_are_not_redirected_to_https(db, timers_ran):
    plain = Client()
    assert plain.get("/").status_code == 301
    assert plain.get("/healthz").status_code == 200
    assert plain.get("/readyz").status_code == 200


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_readyz_follows_a_real_redis_that_stops_and_starts(client, timers_ran, tmp_path):
    """A throwaway Redis on loopback holds the cache (DB 11) and the broker (DB 12): stopped,
    the next call is unready within two seconds; started again, ready."""
    port = _free_port()

    def start() -> subprocess.Popen:
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return server
            except OSError:
                time.sleep(0.05)
        server.kill()
        pytest.fail("redis-server did not start")

    server = start()
    try:
        with override_settings(
            CACHES=_redis_cache(port),
            CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/12",
            CELERY_TASK_ALWAYS_EAGER=False,
        ):
            jobs.run_timers()  # noted in this Redis
            status, body = _ready(client)
            assert status == 200, body
            assert body["checks"]["broker"]["status"] == "ok"

            server.terminate()
            server.wait(timeout=10)
            started = time.monotonic()
            status, body = _ready(client)
            assert time.monotonic() - started < 2
            assert status == 503
            assert {"cache", "broker"} <= set(body["failed"])

            server = start()
            status, body = _ready(client, scope="serving")
            assert status == 200, body
            # Redis came back empty (no saves): the job's last run is there once it runs again.
            jobs.run_timers()
            status, body = _ready(client)
            assert status == 200, body
    finally:
        server.terminate()
        server.wait(timeout=10)
