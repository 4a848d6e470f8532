"""A real Celery worker, with its beat, against the local Redis: a ticket made in another
process has its mail delivered by the worker, and beat fires the lifecycle timers.

Skipped, with the reason, where no Redis answers on 127.0.0.1:6379 or the tests run on the
in-memory SQLite database (another process cannot see it); CI runs it on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from email import message_from_string
from email.header import decode_header, make_header
from email.utils import parseaddr
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tests.processes import database_url, redis_answers
from tickets import services
from tickets.models import LifecycleTimers, State, Ticket
from tickets.sla import jobs

ROOT = Path(__file__).resolve().parents[2]
REDIS = ("127.0.0.1", 6379)


pytestmark = [
    pytest.mark.skipif(not redis_answers(), reason="no Redis answers on 127.0.0.1:6379"),
    pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason="the worker is another process and cannot see the in-memory SQLite test database "
        "(CI runs this on PostgreSQL)",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def stack(tmp_path):
    """The environment of the production processes, on the test database and a queue of our own."""
    queue = f"helpdesk-test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
        "CELERY_QUEUE": queue,
        "EMAIL_URL": f"file://{tmp_path / 'mail'}",
        "HELPDESK_VAR_DIR": str(tmp_path / "var"),
        "TIMERS_EVERY_SECONDS": "1",
        # Beat's schedule and lock in Redis (celery-redbeat) under this run's own keys, so runs
        # side by side never wait for one another's lock.
        "CELERY_REDBEAT_KEY_PREFIX": f"{queue}-beat",
    }
    return {"env": env, "queue": queue, "mail": tmp_path / "mail", "tmp": tmp_path}


@pytest.fixture
def worker(stack):
    """A worker with its beat (-B), started the way docker-compose starts them."""
    log = (stack["tmp"] / "worker.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            "-B",
            "--pool=solo",
            "--loglevel=INFO",
            "--schedule",
            str(stack["tmp"] / "beat-schedule"),
        ],
        cwd=ROOT,
        env=stack["env"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
    import redis

    client = redis.Redis(host=REDIS[0], port=REDIS[1], db=15)
    client.delete(stack["queue"], *client.scan_iter(match=f"{stack['queue']}-beat*"))


def _run_elsewhere(stack, code: str) -> str:
    """Run Django code in a process of its own, with a broker: its tasks go to Redis."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=stack["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _mails(folder: Path) -> list[tuple[str, str]]:
    """(recipient address, subject) of every message the worker wrote to the file mail backend."""
    found = []
    for path in sorted(folder.glob("*.log")) if folder.exists() else []:
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                message = message_from_string(chunk.strip())
                found.append(
                    (parseaddr(message["To"])[1], str(make_header(decode_header(message["Subject"]))))
                )
    return found


def _wait_for(condition, what: str, worker, stack, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        assert worker.poll() is None, (stack["tmp"] / "worker.log").read_text()
        time.sleep(0.3)
    raise AssertionError(
        f"{what} did not happen in {seconds} s:\n{(stack['tmp'] / 'worker.log').read_text()}"
    )


def test_a_worker_delivers_the_mail_and_beat_fires_the_timers(lab, karen, stack, worker):
    # 1. A ticket opened in another process: its mail goes through Redis to the worker.
    number = _run_elsewhere(
        stack,
        "from tickets import services; from tickets.models import Requester; "
        "t = services.ticket_create(requester=Requester.objects.get(email='karen@example.com'), "
        "subject='Sent through the worker', body='Queued on commit, sent by Celery.'); print(t.number)",
    )
    ticket = Ticket.objects.filter(number=number).first()
    assert ticket is not None, number
    delivered = _wait_for(
        lambda: len(_mails(stack["mail"])) >= 2 and _mails(stack["mail"]), "mail", worker, stack
    )
    assert sorted(delivered) == [
        ("john@example.com", f"[#{number}] New ticket in Support: Sent through the worker"),
        ("karen@example.com", f"[#{number}] We received your request: Sent through the worker"),
    ]

    # 2. A ticket resolved eight days ago: beat runs the timers, and the worker closes it.
    LifecycleTimers.objects.filter(pk=1).update(close_resolved_after_days=7)
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=Ticket.objects.get(pk=ticket.pk), actor=lab.john, message="Done.")
    Ticket.objects.filter(pk=ticket.pk).update(state_changed_at=timezone.now() - timedelta(days=8))

    def closed():
        return Ticket.objects.filter(pk=ticket.pk, state=State.CLOSED).exists()

    _wait_for(closed, "the auto-close timer", worker, stack)
    close = Ticket.objects.get(pk=ticket.pk).transitions.last()
    assert (close.name, close.actor, close.actor_label) == ("close", None, f"system: {jobs.AUTO_CLOSE_TIMER}")
    # Its closure mail went out through the worker too.
    _wait_for(
        lambda: (
            ("karen@example.com", f"[#{number}] Closed: Sent through the worker") in _mails(stack["mail"])
        ),
        "the closure mail",
        worker,
        stack,
    )
