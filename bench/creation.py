"""Ticket creation, in-process: the queries each creation request makes, where they come
from, and its time beside the floor (issue 16).

    HELPDESK_VAR_DIR=/tmp/creation DEBUG=1 .venv/bin/python bench/creation.py \\
        [--database-url sqlite:////tmp/creation/db.sqlite3] [--agents 13] [--runs 20] [--sql]

On a database of its own (migrated, the lab configuration, ``--agents`` agents in the
default department, each alerted of new tickets) it measures karen's portal POST, a guest's
and an integration's API POST, twice: with a broker (tasks published to Redis db 14 and
counted, no worker reads them; the database is emptied afterwards) and with tasks run
inline (eager, the default without CELERY_BROKER_URL; mail to the locmem backend). Each:
one warm-up, one request whose queries are captured and grouped by the line of the help
desk's code that made them, then ``--runs`` timed requests (DEBUG off); the floor
(``/bench/floor/``) before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import traceback
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
os.environ.setdefault("SECRET_KEY", "bench-creation-" + "x" * 40)
warnings.filterwarnings("ignore", message="No directory at")

BROKER_URL = "redis://127.0.0.1:6379/14"
API_LIST = "/api/v1/tickets/"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--agents", type=int, default=13, help="agents of the default department")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sql", action="store_true", help="print each captured query")
    parser.add_argument("--profile", default="", help="cProfile the timed runs of this mode/request")
    return parser.parse_args()


ARGS = parse()
if ARGS.database_url:
    os.environ["DATABASE_URL"] = ARGS.database_url
django.setup()

import redis  # noqa: E402
from celery.signals import before_task_publish  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

from helpdesk.celery import app as celery_app  # noqa: E402
from tickets import apikeys, lab, selectors  # noqa: E402
from tickets.models import AgentProfile, ApiKey  # noqa: E402


def setup(agents: int) -> dict[str, Any]:
    call_command("migrate", verbosity=0)
    found = lab.load_configuration()
    users = get_user_model()
    support_agents = AgentProfile.objects.filter(departments=found.support).count()
    for i in range(support_agents, agents):
        user, _ = users.objects.get_or_create(
            username=f"creation{i:02d}",
            defaults={"email": f"creation{i:02d}@example.com", "first_name": "Agent", "is_staff": True},
        )
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        profile.departments.add(found.support)
    _, raw = apikeys.apikey_create(
        name=f"creation {uuid.uuid4().hex[:6]}",
        owner=found.admin,
        scope=ApiKey.Scope.CREATE,
        rate_limit=10**6,
    )
    karen = Client()
    karen.force_login(found.karen)
    john = Client()
    john.force_login(found.john)
    return {
        "topic": selectors.help_topics_public()[0].pk,
        "karen": karen,
        "john": john,
        "guest": Client(),
        "api": Client(HTTP_AUTHORIZATION=f"Bearer {raw}"),
        "agents": AgentProfile.objects.filter(departments=found.support).count(),
    }


def senders(world: dict[str, Any]) -> dict[str, Callable[[str], HttpResponse]]:
    topic = world["topic"]
    body = "The printer on floor 3 jams on every second page."

    def karen(subject: str) -> HttpResponse:
        return world["karen"].post("/tickets/new/", {"subject": subject, "body": body, "help_topic": topic})

    def guest(subject: str) -> HttpResponse:
        data = {"subject": subject, "body": body, "help_topic": topic}
        data.update(name="Gus Guest", email="gus@example.org", phone="")
        return world["guest"].post("/tickets/new/", data)

    def api(subject: str) -> HttpResponse:
        data = {
            "requester_email": "monitoring@example.org",
            "requester_name": "Monitoring",
            "subject": subject,
            "body": "Health check failed on 3 of 3 nodes.",
        }
        return world["api"].post(API_LIST, data, content_type="application/json")

    return {"portal karen": karen, "portal guest": guest, "API create key": api}


EXPECTED = {"portal karen": 302, "portal guest": 302, "API create key": 201}


def origin(stack: list[traceback.FrameSummary]) -> str:
    """The innermost line of the help desk's own code (not the venv, not this script)."""
    for frame in reversed(stack):
        path = Path(frame.filename)
        if ".venv" in path.parts or path.name == "creation.py":
            continue
        if ROOT in path.parents:
            return f"{path.relative_to(ROOT)}:{frame.lineno} {frame.name}"
    return "(django)"


@contextmanager
def queries() -> Iterator[list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((origin(traceback.extract_stack()[:-1]), sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


@contextmanager
def broker(url: str | None) -> Iterator[Counter]:
    """Tasks published to ``url`` (None: run inline); counts what was published."""
    published: Counter = Counter()

    def count(sender: str | None = None, **_: Any) -> None:
        published[sender] += 1

    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager = url is None
    if url:
        conf.broker_url = url
    before_task_publish.connect(count, weak=False)
    try:
        yield published
    finally:
        before_task_publish.disconnect(count)
        conf.task_always_eager, conf.broker_url = saved
        if url:
            redis.Redis.from_url(url).flushdb()


def timed(send: Callable[[], HttpResponse], runs: int, expected: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = send()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expected, (response.status_code, response.content[:300])
    return times


def main() -> None:
    world = setup(ARGS.agents)
    print(f"database: {connection.vendor}; agents alerted of a new ticket: {world['agents']}")
    floor_times: list[float] = []
    floor = world["john"]
    results = []
    for mode, url in (("broker", BROKER_URL), ("eager", None)):
        with broker(url) as published:
            for label, send in senders(world).items():

                def one(send: Callable[[str], HttpResponse] = send) -> HttpResponse:
                    return send(f"Creation {uuid.uuid4().hex[:12]}")

                assert one().status_code == EXPECTED[label]
                published.clear()
                mail_before = len(getattr(mail, "outbox", []))
                with CaptureQueriesContext(connection) as captured, queries() as seen:
                    response = one()
                statements = [q["sql"] for q in captured.captured_queries]
                seen += [("(transaction)", sql) for sql in statements if sql in ("BEGIN", "COMMIT")]
                assert response.status_code == EXPECTED[label], response.content[:300]
                tasks = sum(published.values())
                sent = len(getattr(mail, "outbox", [])) - mail_before
                floor_times += timed(lambda: floor.get("/bench/floor/"), 5, 200)
                if ARGS.profile == f"{mode}/{label}":
                    import cProfile
                    import pstats

                    profiler = cProfile.Profile()
                    profiler.enable()
                    times = timed(one, ARGS.runs, EXPECTED[label])
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
                else:
                    times = timed(one, ARGS.runs, EXPECTED[label])
                floor_times += timed(lambda: floor.get("/bench/floor/"), 5, 200)
                results.append((mode, label, len(seen), tasks, sent, statistics.median(times)))
                print(
                    f"\n== {mode} / {label}: {len(seen)} queries, {tasks} tasks published "
                    f"{dict(published)}, {sent} mails sent inline, median {statistics.median(times):.1f} ms"
                )
                for where, n in Counter(where for where, _ in seen).most_common():
                    print(f"  {n:3d}  {where}")
                if ARGS.sql:
                    for where, sql in seen:
                        print(f"      {where}: {sql[:160]}")
    floor_ms = statistics.median(floor_times)
    print(f"\nfloor median {floor_ms:.2f} ms ({len(floor_times)} requests)")
    print("| mode | request | queries | tasks | mails inline | median ms | × floor |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for mode, label, n, tasks, sent, ms in results:
        print(f"| {mode} | {label} | {n} | {tasks} | {sent} | {ms:.1f} | {ms / floor_ms:.1f} |")


if __name__ == "__main__":
    with override_settings(
        ROOT_URLCONF="benchurls",
        DEBUG=False,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        THROTTLE_GUEST_TICKETS_PER_IP=(10**6, 3600),
        THROTTLE_GUEST_TICKETS_PER_EMAIL=(10**6, 3600),
        ALLOWED_HOSTS=["testserver"],
    ):
        mail.outbox = []
        settings.DEBUG = False
        main()
