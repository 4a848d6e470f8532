"""A major incident with many reports (issue 21): posting one public update to all of them, and
resolving the incident, which resolves every report through its own ``resolve``.

    DEBUG=1 .venv/bin/python bench/incident.py [--reports 500] [--runs 3] [--floor-runs 10]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/incident_bench DEBUG=1 .venv/bin/python bench/incident.py

On SQLite by default (a fresh file under ``HELPDESK_VAR_DIR``, /tmp/bench-incident unless set),
or on the PostgreSQL database ``DATABASE_URL`` names (its name must contain "bench"; migrated and
given the lab configuration; the tickets made are left there). Each run opens an incident as
Jane with ``--reports`` reports linked (each a guest's ticket from its own address, through the
services: the build is timed too), then times, as one call each, with DEBUG off:

- ``services.incident_post_update`` on the incident (a public reply in each report's thread);
- ``services.ticket_resolve`` on the incident (each report resolved with its message).

The call is timed whole: the service, its commit and what runs on commit. Celery's
``apply_async`` is replaced by a recorder for the whole run, so the mail is queued, not sent
and not published to a broker: the figures give the tasks queued by name (one per mail event),
and the queries counted by an execute wrapper. The floor, measured in the same process before
and after the runs: a public reply and a resolution on an ordinary ticket (``--floor-runs`` of
each, the median); "per report" is (incident - floor) / reports. ``--profile PATH`` writes
pyinstrument's text profile of the last run's resolution. Writes markdown to stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import django
from pyinstrument import Profiler

ROOT = Path(os.environ.get("BENCH_SRC") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
os.environ.setdefault("SECRET_KEY", "bench-incident-" + "x" * 40)
os.environ.setdefault("HELPDESK_VAR_DIR", str(Path(tempfile.gettempdir()) / "bench-incident"))
warnings.filterwarnings("ignore", message="No directory at")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=500, help="reports linked to each incident")
    parser.add_argument("--runs", type=int, default=3, help="incidents built, updated and resolved")
    parser.add_argument("--floor-runs", type=int, default=10, help="ordinary tickets replied to and resolved")
    parser.add_argument("--profile", default="", help="write a pyinstrument profile of the last resolution")
    return parser.parse_args()


ARGS = parse()
SQLITE = not os.environ.get("DATABASE_URL")
if SQLITE:
    FILE = Path(os.environ["HELPDESK_VAR_DIR"]) / "incident-bench.sqlite3"
    FILE.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{FILE}"
django.setup()

from celery.app.task import Task  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from tickets import lab, services  # noqa: E402
from tickets.models import State, Ticket  # noqa: E402

STATUS = "We know about this outage and are working on it."


@contextmanager
def recorded_tasks() -> Iterator[Counter]:
    """Every task queued (``delay``/``apply_async``) is counted by name, and neither run nor sent."""
    queued: Counter = Counter()
    original = Task.apply_async

    def record(self: Task, *args: Any, **kwargs: Any) -> None:
        queued[self.name] += 1

    Task.apply_async = record  # type: ignore[method-assign]
    try:
        yield queued
    finally:
        Task.apply_async = original  # type: ignore[method-assign]


class Measure:
    """One call, timed whole (its commit and on-commit work included), its queries counted."""

    def __init__(self, queued: Counter) -> None:
        self.queued = queued

    def __call__(self, call: Callable[[], Any]) -> dict[str, Any]:
        statements = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        self.queued.clear()
        with connection.execute_wrapper(count):
            start = time.perf_counter()
            call()
            seconds = time.perf_counter() - start
        return {"ms": seconds * 1000, "queries": statements, "tasks": dict(self.queued)}


def check_database() -> None:
    name = str(settings.DATABASES["default"]["NAME"])
    if not SQLITE and "bench" not in name:
        sys.exit(f"Refusing database {name!r}: its name must contain 'bench'.")


def ordinary(found: Any, i: int) -> Ticket:
    """A guest's ticket Jane is working on, as the floor's ticket."""
    _, ticket = services.ticket_create_for_contact(
        email=f"floor{i}-{time.time_ns()}@example.org",
        name=f"Floor {i}",
        subject="The printer on floor 3 jams",
        body="Every second page.",
        department=found.sysadmins,
    )
    services.ticket_claim(ticket=ticket, actor=found.jane)
    return Ticket.objects.get(pk=ticket.pk)


def floor(found: Any, measure: Measure, runs: int) -> dict[str, list[dict[str, Any]]]:
    replies, resolutions = [], []
    for i in range(runs):
        ticket = ordinary(found, i)
        replies.append(
            measure(lambda t=ticket: services.ticket_reply(ticket=t, actor=found.jane, body="Looking now."))
        )
        ticket = Ticket.objects.get(pk=ticket.pk)
        resolutions.append(
            measure(lambda t=ticket: services.ticket_resolve(ticket=t, actor=found.jane, message="Fixed."))
        )
    return {"reply": replies, "resolve": resolutions}


def build(found: Any, reports: int, run: int) -> tuple[Ticket, float]:
    """An incident opened by Jane with ``reports`` guests' tickets linked to it."""
    start = time.perf_counter()
    incident = services.incident_open(
        actor=found.jane,
        subject=f"Online banking outage {run}",
        body="Logins fail for every customer.",
        status=STATUS,
        department=found.sysadmins,
        team=found.online_banking,
    )
    stamp = time.time_ns()
    for i in range(reports):
        _, report = services.ticket_create_for_contact(
            email=f"reporter{i}-{stamp}@example.org",
            name=f"Reporter {i}",
            subject="Online banking is down",
            body="I cannot log in.",
            department=found.sysadmins,
        )
        services.ticket_link_incident(ticket=report, actor=found.jane, incident=incident)
    return Ticket.objects.get(pk=incident.pk), time.perf_counter() - start


def incident_run(found: Any, measure: Measure, run: int, *, profile: bool) -> dict[str, Any]:
    incident, built = build(found, ARGS.reports, run)
    update = measure(
        lambda: services.incident_post_update(
            incident=incident, actor=found.jane, body="We found the cause and are restoring the gateway."
        )
    )
    incident = Ticket.objects.get(pk=incident.pk)

    def resolve() -> None:
        services.ticket_resolve(ticket=incident, actor=found.jane, message="Fixed: the gateway is back.")

    profiler = None
    if profile:
        profiler = Profiler(interval=0.0005)
        profiler.start()
    resolution = measure(resolve)
    if profiler is not None:
        profiler.stop()
        Path(ARGS.profile).write_text(profiler.output_text(unicode=True, show_all=False))
    states = Counter(incident.reports.values_list("state", flat=True))
    assert states == {State.RESOLVED: ARGS.reports}, states
    return {"built": built, "update": update, "resolve": resolution}


def median(rows: list[dict[str, Any]], key: str = "ms") -> float:
    return statistics.median(row[key] for row in rows)


def tasks_text(rows: list[dict[str, Any]]) -> str:
    tasks = rows[-1]["tasks"]
    names = ", ".join(f"{name.rsplit('.', 1)[-1]} {n}" for name, n in sorted(tasks.items()))
    return f"{sum(tasks.values())} ({names})" if tasks else "0"


def report(floors: list[dict[str, list]], runs: list[dict[str, Any]], engine: str) -> str:
    n = ARGS.reports
    floor_rows = {kind: floors[0][kind] + floors[1][kind] for kind in ("reply", "resolve")}
    lines = [
        f"## {engine}, {n} reports per incident",
        "",
        f"Python {platform.python_version()}, Django {django.get_version()}, {os.cpu_count()} cores; "
        f"load average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}. "
        f"{len(runs)} incident(s); floor: {len(floor_rows['reply'])} ordinary tickets "
        "(before and after the incidents).",
        "",
        "| call | median ms | runs (ms) | queries | tasks queued | per report |",
        "|---|---:|---|---:|---|---:|",
    ]
    for label, kind, floor_kind in (
        ("public update, incident", "update", "reply"),
        ("resolve, incident", "resolve", "resolve"),
    ):
        rows = [run[kind] for run in runs]
        per = (median(rows) - median(floor_rows[floor_kind])) / n
        each = ", ".join(f"{row['ms']:.0f}" for row in rows)
        lines.append(
            f"| {label} | {median(rows):.0f} | {each} "
            f"| {rows[-1]['queries']} | {tasks_text(rows)} | {per:.2f} ms |"
        )
    for label, kind in (
        ("reply, one ordinary ticket (floor)", "reply"),
        ("resolve, one ordinary ticket (floor)", "resolve"),
    ):
        rows = floor_rows[kind]
        lines.append(
            f"| {label} | {median(rows):.1f} | min {min(r['ms'] for r in rows):.1f}, "
            f"max {max(r['ms'] for r in rows):.1f} | {rows[-1]['queries']} | {tasks_text(rows)} | |"
        )
    built = statistics.median(run["built"] for run in runs)
    lines += [
        "",
        f"Building one incident (opened, {n} guests' tickets created and linked, one by one through "
        f"the services): {built:.1f} s, {built / n * 1000:.0f} ms per report.",
        "",
    ]
    return "\n".join(lines)


def sqlite_version() -> str:
    return sqlite3.sqlite_version


def postgres_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0].split()[0]


def main() -> None:
    check_database()
    call_command("migrate", verbosity=0)
    found = lab.load_configuration()
    engine = "SQLite " + sqlite_version() if SQLITE else "PostgreSQL " + postgres_version()
    with (
        override_settings(DEBUG=False, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
        recorded_tasks() as queued,
    ):
        measure = Measure(queued)
        floors = [floor(found, measure, (ARGS.floor_runs + 1) // 2)]
        runs = [
            incident_run(found, measure, i, profile=bool(ARGS.profile) and i == ARGS.runs - 1)
            for i in range(ARGS.runs)
        ]
        floors.append(floor(found, measure, ARGS.floor_runs // 2))
    print(report(floors, runs, engine))


if __name__ == "__main__":
    main()
