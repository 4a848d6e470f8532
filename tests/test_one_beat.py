"""Exactly one Celery beat however many are started: two real `celery -A helpdesk beat`
processes on the local Redis send each periodic task once per interval, not twice, and when
the one holding the lock is killed the other takes over within the lock's timeout.

No worker runs: the tasks the beats send stay in the queue's Redis list, where they are counted
by name. Skipped, with the reason, where no Redis answers on 127.0.0.1:6379 or the `celery`
command is missing. Needs no database: beat reads only the settings.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from tests.processes import redis_answers

ROOT = Path(__file__).resolve().parents[1]
REDIS = ("127.0.0.1", 6379)
DB = 13
CELERY = Path(sys.executable).parent / "celery"
EVERY = 2  # seconds, the timers and the mailbox poll
REPORTS_EVERY = 4  # seconds, the dashboards
LOCK_TIMEOUT = 5  # seconds
RUN = 12  # seconds with both beats up


pytestmark = [
    pytest.mark.skipif(not redis_answers(), reason="no Redis answers on 127.0.0.1:6379"),
    pytest.mark.skipif(not CELERY.exists(), reason=f"no `celery` command at {CELERY}"),
]


@pytest.fixture
def redis_db():
    """This test's Redis database, with every key of this run's deleted afterwards."""
    import redis

    client = redis.Redis(host=REDIS[0], port=REDIS[1], db=DB)
    token = uuid.uuid4().hex[:12]
    yield client, token
    for key in client.scan_iter(match=f"*{token}*"):
        client.delete(key)
    client.close()


def _start_beat(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own command and arguments
            [str(CELERY), "-A", "helpdesk", "beat"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _sent(client, queue: str) -> Counter[str]:
    """The tasks waiting in the queue, by name."""
    return Counter(json.loads(raw)["headers"]["task"] for raw in client.lrange(queue, 0, -1))


def _wait_for(what, seconds: float, failure: str) -> float:
    """Wait until what() is true; the seconds it took."""
    started = time.monotonic()
    while not what():
        if time.monotonic() - started > seconds:
            raise AssertionError(failure)
        time.sleep(0.2)
    return time.monotonic() - started


def _holds_lock(log: Path) -> bool:
    return "Acquired lock" in log.read_text(errors="replace")


def test_two_beats_send_each_task_once_per_interval_and_one_takes_over_from_the_other(redis_db, tmp_path):
    client, token = redis_db
    queue = f"helpdesk-beat-test-{token}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "HELPDESK_VAR_DIR": str(tmp_path / "var"),
        "CELERY_BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/{DB}",
        "CELERY_QUEUE": queue,
        "CELERY_REDBEAT_KEY_PREFIX": f"helpdesk-beat-test-{token}",
        "CELERY_BEAT_MAX_LOOP_INTERVAL": "1",
        "CELERY_REDBEAT_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
        "TIMERS_EVERY_SECONDS": str(EVERY),
        "REPORTS_REFRESH_SECONDS": str(REPORTS_EVERY),
        "LOG_LEVEL": "INFO",
    }
    env.pop("CELERY_REDBEAT_REDIS_URL", None)
    logs = [tmp_path / "beat-1.log", tmp_path / "beat-2.log"]
    beats = [_start_beat(env, log) for log in logs]
    try:
        # Both up; the first task sent starts the count.
        _wait_for(lambda: client.llen(queue) > 0, 60, "no beat sent anything:\n" + logs[0].read_text())
        started = time.monotonic()
        time.sleep(RUN)
        sent = _sent(client, queue)
        elapsed = time.monotonic() - started
        assert all(beat.poll() is None for beat in beats), [log.read_text() for log in logs]

        # One beat sends, the other waits for the lock.
        holders = [i for i, log in enumerate(logs) if _holds_lock(log)]
        assert len(holders) == 1, [log.read_text() for log in logs]
        # Once per interval, counting the first: two beats would send twice as many.
        expected = 1 + elapsed / EVERY
        for name in ("tickets.tasks.run_timers", "tickets.tasks.poll_mailboxes"):
            assert expected - 1.5 <= sent[name] <= expected + 1, (sent, elapsed)
        reports = 1 + elapsed / REPORTS_EVERY
        assert reports - 1.5 <= sent["tickets.tasks.refresh_reports"] <= reports, (sent, elapsed)

        # The holder dies without a word (no lock released): the other takes the lock when it
        # times out, and the tasks keep coming.
        holder, waiter = beats[holders[0]], beats[1 - holders[0]]
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        before = _sent(client, queue)["tickets.tasks.run_timers"]
        took = _wait_for(
            lambda: _holds_lock(logs[1 - holders[0]]),
            LOCK_TIMEOUT + 5,
            "the other beat never took over:\n" + logs[1 - holders[0]].read_text(),
        )
        assert took <= LOCK_TIMEOUT + 2
        time.sleep(3 * EVERY)
        after = _sent(client, queue)["tickets.tasks.run_timers"]
        assert after - before >= 2, (before, after)
        assert waiter.poll() is None
    finally:
        for beat in beats:
            _stop(beat)
    print(f"beat: {dict(sent)} in {elapsed:.1f} s; took over {took:.1f} s after the kill")  # noqa: T201
