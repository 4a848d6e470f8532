"""Time the periodic job (tickets.sla.jobs.run_timers) at 100,000 active tickets, 1% of them overdue.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench_timers DEBUG=1 \\
    HELPDESK_VAR_DIR=/tmp/benchvar .venv/bin/python bench/timers.py [--closed 0 893000]

For each ``--closed`` count, seeds the database (bench/seed.py, exact mix: 100,000 active
tickets, 7,000 resolved, that many closed; every 100th active ticket overdue, the waiting
tickets short of their timers) and makes the plans of ``ESCALATING_PLANS`` escalate overdue
tickets to Online Banking. Every first run gets a fresh copy of that database
(``CREATE DATABASE ... TEMPLATE``), dropped afterwards:

- queued: Celery tasks go to a broker (in-memory by default, ``--broker redis://...``), so the
  job only enqueues its mail; timed, then on a second copy under CaptureQueriesContext;
- inline: tasks run eagerly in the job's process, the mail rendered and handed to Django's
  locmem backend; timed, then captured;
- after the queued timed run, ``--steady-runs`` runs with nothing due (what every minute
  costs) and one captured; the EXPLAIN (ANALYZE, BUFFERS) of each part's candidate query
  (``jobs.sla_parts``, ``jobs.timer_parts``) before the first run (1,000 due) and in the
  steady state.

Times are taken with DEBUG off (override_settings) and nothing recording queries; the per-ticket
figures come from wrapping services.ticket_mark_overdue, which marks every target a ticket
missed (the time from one call to the next within the SLA watch's pass: the lock, the marking,
the escalation, the commit and what runs on commit).
Writes markdown to stdout and to bench/results-timers.md. The seeded database is left in place
(rerun with ``--no-seed`` within 12 hours of seeding: after that, waiting tickets fall due).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import statistics
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

import django

# The code under test: this checkout, or the tree BENCH_SRC names (e.g. `git archive HEAD` unpacked).
ROOT = Path(os.environ.get("BENCH_SRC") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
# Celery puts the working directory first on sys.path when it loads: make that ROOT too.
INVOKED_FROM = Path.cwd()
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

import celery  # noqa: E402
import psycopg  # noqa: E402
from celery.signals import before_task_publish, task_failure, task_prerun  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, QuerySet  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from psycopg import sql  # noqa: E402

from helpdesk.celery import app as celery_app  # noqa: E402
from tickets import services  # noqa: E402
from tickets.models import (  # noqa: E402
    LifecycleTimers,
    SLAPlan,
    State,
    Team,
    ThreadEntry,
    Ticket,
    TicketTransition,
)
from tickets.sla import jobs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import Mix, seed  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results-timers.md"
ACTIVE = {
    "open": 36_000,
    "assigned": 21_000,
    "awaiting_user": 14_000,
    "in_progress": 22_000,
    "escalated": 7_000,
}
RESOLVED = 7_000
OVERDUE_SHARE = 0.01
# The plans for urgent tickets escalate what is overdue to this team (tier 2); the others alert.
ESCALATING_PLANS = ("Sev-A", "Sev-B")
ESCALATE_TO = "Online Banking"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
CAN_ESCALATE = (State.ASSIGNED, State.IN_PROGRESS, State.AWAITING_USER)


# -- the data ------------------------------------------------------------------------------------


def ensure_bench_database() -> str:
    if connection.vendor != "postgresql":
        sys.exit("bench/timers.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to seed {name!r}: the database name must contain 'bench'.")
    return name


def seed_timers(closed: int, scale: float = 1.0) -> None:
    counts = {**ACTIVE, "resolved": RESOLVED, "closed": closed}
    # Whole hundreds, so that exactly one in a hundred of each state is overdue.
    counts = {state: round(count * scale / 100) * 100 for state, count in counts.items()}
    n, mix = Mix.of_counts(counts, overdue=OVERDUE_SHARE, waiting=True)
    seed(n, mix)
    configure_plans()


def configure_plans() -> None:
    team = Team.objects.get(name=ESCALATE_TO)
    SLAPlan.objects.exclude(name__in=ESCALATING_PLANS).update(
        on_overdue=SLAPlan.OnOverdue.ALERT, escalate_to_team=None, escalate_to_department=None
    )
    SLAPlan.objects.filter(name__in=ESCALATING_PLANS).update(
        on_overdue=SLAPlan.OnOverdue.ESCALATE, escalate_to_team=team, escalate_to_department=None
    )


# The job's parts (tickets.sla.jobs.sla_parts, tickets.sla.jobs.timer_parts), as the report names them.
PART_LABELS = {
    "first response": "SLA watch: first response",
    "resolution": "SLA watch: resolution",
    "reminded": "awaiting user: reminder",
    "expired": "awaiting user: giving up",
    "closed": "resolved: auto-close",
}


def candidate_queries(now: datetime) -> list[tuple[str, QuerySet]]:
    """The queries that find each part's tickets (``jobs.Part.candidates``), built from the job's
    own parts as ``jobs._candidates`` builds them; ``steady_state`` checks the SQL is the same."""
    parts = [(part.name, part) for part in jobs.sla_parts(now, jobs.Report())]
    parts += list(jobs.timer_parts(LifecycleTimers.load(), now).items())
    return [
        (
            PART_LABELS.get(name, name),
            Ticket.objects.filter(part.condition)
            .order_by(part.order, "pk")
            .values_list("pk", flat=True)[: jobs.BATCH],
        )
        for name, part in parts
    ]


@dataclass
class Dataset:
    closed: int
    tickets: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    entries: int = 0
    transitions: int = 0
    size: str = ""
    due: dict[str, int] = field(default_factory=dict)
    overdue_tickets: int = 0
    on_escalating_plans: int = 0
    can_escalate: int = 0
    overdue_by_state: dict[str, int] = field(default_factory=dict)
    seed_s: float = 0.0

    @property
    def active(self) -> int:
        return sum(self.by_state.get(state, 0) for state in ACTIVE)


def describe(closed: int) -> Dataset:
    now = timezone.now()
    data = Dataset(closed=closed)
    data.by_state = dict(Ticket.objects.order_by().values_list("state").annotate(n=Count("pk")))
    data.tickets = sum(data.by_state.values())
    data.entries = ThreadEntry.objects.count()
    data.transitions = TicketTransition.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        data.size = cursor.fetchone()[0]
    for label, query in candidate_queries(now):
        data.due[label] = query.count()
    overdue = Ticket.objects.filter(jobs._overdue("first_response", now) | jobs._overdue("resolution", now))
    data.overdue_tickets = overdue.count()
    data.overdue_by_state = dict(overdue.order_by().values_list("state").annotate(n=Count("pk")))
    escalating = overdue.filter(sla__on_overdue=SLAPlan.OnOverdue.ESCALATE)
    data.on_escalating_plans = escalating.count()
    data.can_escalate = escalating.filter(tier=1, state__in=CAN_ESCALATE).count()
    return data


# -- working copies ----------------------------------------------------------------------------


def admin_connection() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


@contextmanager
def working_copy(template: str, suffix: str) -> Iterator[str]:
    """A fresh copy of the seeded database for one destructive run, dropped afterwards."""
    name = f"{template}_{suffix}"
    connection.close()
    with admin_connection() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        for attempt in range(30):
            try:
                admin.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )
                break
            except psycopg.errors.ObjectInUse:  # autovacuum on the template: wait for it
                if attempt == 29:
                    raise
                time.sleep(1)
    connection.settings_dict["NAME"] = name
    try:
        yield name
    finally:
        connection.close()
        connection.settings_dict["NAME"] = template
        with admin_connection() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


# -- instruments ---------------------------------------------------------------------------------


@contextmanager
def celery_mode(queued: bool) -> Iterator[Counter]:
    """Queued: tasks are published to the broker and not run; inline: run eagerly, here.
    Yields a Counter of the tasks published (queued) or run (inline), and of failures."""
    tasks: Counter = Counter()
    eager = celery_app.conf.task_always_eager

    def published(sender: str | None = None, **_: Any) -> None:
        tasks[sender] += 1

    def ran(sender: Any = None, **_: Any) -> None:
        tasks[sender.name] += 1

    def failed(sender: Any = None, **_: Any) -> None:
        tasks[f"FAILED {sender.name}"] += 1

    before_task_publish.connect(published, weak=False)
    task_prerun.connect(ran, weak=False)
    task_failure.connect(failed, weak=False)
    celery_app.conf.task_always_eager = not queued
    try:
        yield tasks
    finally:
        celery_app.conf.task_always_eager = eager
        before_task_publish.disconnect(published)
        task_prerun.disconnect(ran)
        task_failure.disconnect(failed)


class Problems(logging.Handler):
    """Warnings and errors logged during a run (a ticket the job could not change, a failed
    on-commit callback): the run is not a valid measurement if there are any."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}"[:300])


@contextmanager
def problems_logged() -> Iterator[Problems]:
    handler = Problems()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


TARGETS = ("first_response", "resolution")


def missed_targets(ticket: Ticket, now: datetime) -> tuple[str, ...]:
    """The targets ``services.ticket_mark_overdue`` will mark on this ticket (all it missed)."""
    return tuple(
        target
        for target in TARGETS
        if getattr(ticket, f"{target}_due") is not None
        and getattr(ticket, f"{target}_due") <= now
        and getattr(ticket, f"{target}_breached_at") is None
    )


@dataclass
class Mark:
    """One call of services.ticket_mark_overdue: one ticket, every target it missed (one or two)."""

    ticket: int
    targets: tuple[str, ...]
    outcome: str  # alert, escalated, refused (the plan escalates, the ticket cannot)
    started: float
    queries_before: int
    part: int = 0  # the pass of jobs._each it belongs to (0: the SLA watch)
    seconds: float = 0.0
    queries: int = 0


@contextmanager
def per_ticket(count_queries: Callable[[], int]) -> Iterator[list[Mark]]:
    """Record each mark_overdue call and the end of each pass of jobs._each; afterwards each
    mark gets the time (and queries) up to the next mark of its pass, or to the pass's end."""
    escalates = dict(SLAPlan.objects.values_list("pk", "on_overdue"))
    marks: list[Mark] = []
    ends: list[tuple[float, int]] = []
    mark_overdue, each = services.ticket_mark_overdue, jobs._each

    def timed_mark(*, ticket: Ticket, now: datetime) -> Any:
        mark = Mark(ticket.pk, missed_targets(ticket, now), "alert", time.perf_counter(), count_queries())
        mark.part = len(ends)
        marks.append(mark)
        result = mark_overdue(ticket=ticket, now=now)
        if escalates.get(ticket.sla_id) == SLAPlan.OnOverdue.ESCALATE:
            mark.outcome = "refused" if result is None else "escalated"
        return result

    def timed_each(*args: Any, **kwargs: Any) -> int:
        done = each(*args, **kwargs)
        ends.append((time.perf_counter(), count_queries()))
        return done

    with (
        mock.patch.object(services, "ticket_mark_overdue", timed_mark),
        mock.patch.object(jobs, "_each", timed_each),
    ):
        yield marks
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        if after is not None and after.part == mark.part:
            mark.seconds, mark.queries = (
                after.started - mark.started,
                after.queries_before - mark.queries_before,
            )
        elif mark.part < len(ends):
            end, queries = ends[mark.part]
            mark.seconds, mark.queries = end - mark.started, queries - mark.queries_before


@dataclass
class Captured:
    """The queries of a block: as Django logs them (``logged``: what CaptureQueriesContext
    counts, BEGIN and COMMIT included, with the values in the SQL) and timed one by one
    (``timed``: (shape, seconds) per statement and per COMMIT or ROLLBACK; the log rounds
    times to the millisecond; BEGIN goes with the statement after it)."""

    logged: list[dict[str, str]] = field(default_factory=list)
    timed: list[tuple[str, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(seconds for _, seconds in self.timed)


@contextmanager
def capture_all() -> Iterator[Captured]:
    """Capture every query inside (Django's log keeps the last 9,000); filled on the way out."""
    result = Captured()
    timed: list[tuple[str, float]] = []

    def timer(execute: Callable[..., Any], text: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(text, params, many, context)
        finally:
            timed.append((shape(text), time.perf_counter() - started))

    def timing(name: str, method: Callable[[], None]) -> Callable[[], None]:
        def timed_method() -> None:
            started = time.perf_counter()
            try:
                method()
            finally:
                timed.append((name, time.perf_counter() - started))

        return timed_method

    log = connection.queries_log
    connection.queries_log = deque(maxlen=2_000_000)
    connection.ensure_connection()
    try:
        with (
            mock.patch.object(connection, "_commit", timing("COMMIT", connection._commit)),
            mock.patch.object(connection, "_rollback", timing("ROLLBACK", connection._rollback)),
            CaptureQueriesContext(connection) as captured,
            connection.execute_wrapper(timer),
        ):
            yield result
        result.logged = list(captured.captured_queries)
        result.timed = timed
    finally:
        connection.queries_log = log


# -- the runs ------------------------------------------------------------------------------------


@dataclass
class FirstRun:
    mode: str
    captured: bool
    wall: float = 0.0
    report: dict[str, int] = field(default_factory=dict)
    marks: list[Mark] = field(default_factory=list)
    tasks: Counter = field(default_factory=Counter)
    mails: int = 0
    queries: int = 0
    sql_s: float = 0.0
    shapes: list[tuple[str, int, float]] = field(default_factory=list)
    left_due: int = 0
    problems: list[str] = field(default_factory=list)
    load: str = ""

    @property
    def tickets(self) -> int:
        return len({mark.ticket for mark in self.marks})


def first_run(mode: str, *, queued: bool, captured: bool) -> FirstRun:
    result = FirstRun(mode=mode, captured=captured)
    with (
        override_settings(DEBUG=False, EMAIL_BACKEND=LOCMEM),
        celery_mode(queued) as tasks,
        problems_logged() as problems,
    ):
        mail.outbox = []
        if captured:
            with per_ticket(lambda: len(connection.queries_log)) as marks, capture_all() as capture:
                started = time.perf_counter()
                report = jobs.run_timers()
                result.wall = time.perf_counter() - started
            result.queries = len(capture.logged)
            result.sql_s = capture.seconds
            result.shapes = query_shapes(capture.timed)
        else:
            with per_ticket(lambda: 0) as marks:
                started = time.perf_counter()
                report = jobs.run_timers()
                result.wall = time.perf_counter() - started
        result.report = report.as_dict()
        result.marks = marks
        result.tasks = Counter(tasks)
        result.mails = len(mail.outbox)
        result.problems = list(problems.messages)
        mail.outbox = []
    now = timezone.now()
    result.left_due = Ticket.objects.filter(
        jobs._overdue("first_response", now) | jobs._overdue("resolution", now)
    ).count()
    result.load = load_average()
    return result


@dataclass
class SteadyState:
    times: list[float] = field(default_factory=list)
    reports: Counter = field(default_factory=Counter)
    queries: int = 0
    sql_ms: float = 0.0
    query_ms: list[tuple[str, float]] = field(default_factory=list)
    same_sql: bool = False
    plans: list[tuple[str, str, str]] = field(default_factory=list)
    load: str = ""


def steady_state(runs: int) -> SteadyState:
    steady = SteadyState()
    with override_settings(DEBUG=False, EMAIL_BACKEND=LOCMEM), celery_mode(queued=True):
        for _ in range(runs):
            started = time.perf_counter()
            report = jobs.run_timers()
            steady.times.append(time.perf_counter() - started)
            steady.reports.update({key: value for key, value in report.as_dict().items() if value})
        now = timezone.now()
        with capture_all() as job:
            jobs.run_timers(now=now)
    steady.queries = len(job.logged)
    steady.sql_ms = job.seconds * 1000
    steady.query_ms = [(key, seconds * 1000) for key, seconds in job.timed]
    # The queries explained below are the job's own: the same SQL, byte for byte.
    with capture_all() as built:
        for _, query in candidate_queries(now):
            list(query)
    candidates = 'SELECT "tickets_ticket"."id" AS "pk" FROM'
    job_sql = [query["sql"] for query in job.logged if query["sql"].startswith(candidates)]
    built_sql = [query["sql"] for query in built.logged if query["sql"].startswith(candidates)]
    steady.same_sql = job_sql == built_sql
    steady.plans = explain_all(now)
    steady.load = load_average()
    return steady


def explain_all(now: datetime) -> list[tuple[str, str, str]]:
    plans = []
    with connection.cursor() as cursor:
        for label, query in candidate_queries(now):
            text, params = query.query.sql_with_params()
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {text}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            plans.append((label, connection.ops.compose_sql(text, params), plan))
    return plans


# -- reading the figures -----------------------------------------------------------------------


def query_shapes(timed: list[tuple[str, float]]) -> list[tuple[str, int, float]]:
    """The queries of a run grouped by what they do: (shape, count, seconds), most first."""
    counts: Counter = Counter()
    seconds: Counter = Counter()
    for key, took in timed:
        counts[key] += 1
        seconds[key] += took
    return [(key, counts[key], seconds[key]) for key, _ in counts.most_common()]


def shape(text: str) -> str:
    text = text.replace("%s", "?")
    text = re.sub(r'"s\d+_x\d+"', "", text).strip()  # savepoint names
    text = re.sub(r"'(?:[^']|'')*'(::\w+)?", "?", text)
    text = re.sub(r"\b\d+(\.\d+)?\b", "?", text)
    text = re.sub(r"\((\?(, )?)+\)", "(…)", text)
    verb = text.split(None, 1)[0].upper() if text.strip() else ""
    table = re.search(r'(?:FROM|INTO|UPDATE) ("[^"]+")', text)
    name = table.group(1).strip('"') if table else ""
    joins = ", ".join(j.strip('"') for j in re.findall(r'JOIN ("[^"]+")', text))
    where = re.search(r" WHERE (.*?)(?: ORDER BY| LIMIT| FOR UPDATE| RETURNING|$)", text)
    condition = re.sub(r'"\w+"\.', "", where.group(1)) if where else ""
    if verb in ("SELECT", "UPDATE", "DELETE", "INSERT"):
        parts = [verb, name]
        if joins:
            parts.append(f"(joins {joins})")
        if condition:
            parts.append(f"WHERE {condition[:110]}")
        if "FOR UPDATE" in text:
            parts.append("FOR UPDATE SKIP LOCKED" if "SKIP LOCKED" in text else "FOR UPDATE")
        return " ".join(parts)
    return " ".join(text.split()[:3])


def code_version() -> str:
    """The commit under test, as BENCH_COMMIT names it (see bench/README.md)."""
    commit = os.environ.get("BENCH_COMMIT")
    return f"commit {commit}" if commit else "the working tree"


def load_average() -> str:
    return " / ".join(f"{load:.1f}" for load in os.getloadavg())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


@dataclass
class PlanSummary:
    scans: str  # each scan of an index: "Index Only Scan on ticket_x"
    seq: str  # a sequential scan of tickets: yes / no
    sort: str  # a Sort or Incremental Sort node: the index does not give the order
    removed: int  # rows read and discarded by a Filter
    heap_fetches: str  # of the index-only scans
    buffers: str  # of the top node
    execution: str


def plan_summary(plan: str) -> PlanSummary:
    scans = sorted(
        {
            f"{kind} on {name}"
            for kind, name in re.findall(
                r"(Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)", plan
            )
        }
    )
    fetches = re.findall(r"Heap Fetches: (\d+)", plan)
    buffers = re.search(r"Buffers: (shared [^\n]*)", plan)
    execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return PlanSummary(
        scans=", ".join(scans) or "(none)",
        seq="yes" if re.search(r"Seq Scan on tickets_ticket", plan) else "no",
        sort="yes" if re.search(r"(?:^|->  )(?:Incremental )?Sort ", plan, re.MULTILINE) else "no",
        removed=sum(int(n) for n in re.findall(r"Rows Removed by (?:Filter|Index Recheck): (\d+)", plan)),
        heap_fetches=", ".join(fetches) or "-",
        buffers=buffers.group(1).removeprefix("shared ") if buffers else "-",
        execution=execution.group(1) if execution else "?",
    )


def plan_rows(plan: str) -> str:
    top = re.search(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+)", plan)
    return top.group(1) if top else "?"


# -- the report ----------------------------------------------------------------------------------


def environment() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
    return [
        f"- {os.cpu_count()} CPU cores (`nproc`), PostgreSQL {version} (shared_buffers {buffers}, jit {jit})",
        f"- Python {platform.python_version()}, Django {django.get_version()}, Celery {celery.__version__}",
    ]


def dataset_lines(data: Dataset) -> list[str]:
    states = ", ".join(
        f"{state} {data.by_state.get(state, 0):,}" for state in (*ACTIVE, "resolved", "closed")
    )
    due = ", ".join(f"{label} {count:,}" for label, count in data.due.items())
    overdue_states = ", ".join(f"{state} {count:,}" for state, count in sorted(data.overdue_by_state.items()))
    return [
        f"- {data.tickets:,} tickets ({data.active:,} active): {states}; "
        f"{data.entries:,} thread entries, {data.transitions:,} transitions; database {data.size}"
        + (f"; seeded in {data.seed_s:.0f} s" if data.seed_s else ""),
        f"- Due before the first run: {due}",
        f"- Overdue tickets: {data.overdue_tickets:,} ({overdue_states}); {data.on_escalating_plans:,} "
        f"on a plan that escalates ({', '.join(ESCALATING_PLANS)} → {ESCALATE_TO}), {data.can_escalate:,} of "
        "them tier 1 and assigned, in progress or awaiting user (they can escalate)",
    ]


def first_run_table(runs: list[FirstRun]) -> list[str]:
    lines = [
        "| Mode | Wall s | Tickets | Marks (one target + both) | Targets (first response + resolution) "
        "| Escalated | ms per ticket | Queries | Queries per ticket | SQL s | Tasks | Mails sent "
        "| Still due after | Load after |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for run in runs:
        sizes = Counter(len(mark.targets) for mark in run.marks)
        targets = Counter(target for mark in run.marks for target in mark.targets)
        tasks = ", ".join(f"{name.rsplit('.', 1)[-1]} {count:,}" for name, count in sorted(run.tasks.items()))
        queries = f"{run.queries:,}" if run.captured else ""
        per_ticket = f"{run.queries / run.tickets:.1f}" if run.captured and run.tickets else ""
        sql_s = f"{run.sql_s:.2f}" if run.captured else ""
        lines.append(
            f"| {run.mode}{' (captured)' if run.captured else ''} | {run.wall:.2f} | {run.tickets:,} "
            f"| {len(run.marks):,} ({sizes[1]:,} + {sizes[2]:,}) "
            f"| {sum(targets.values()):,} ({targets['first_response']:,} + {targets['resolution']:,}) "
            f"| {run.report.get('escalated', 0):,} | {ms(run.wall / max(run.tickets, 1))} | {queries} "
            f"| {per_ticket} | {sql_s} | {tasks or '-'} | {run.mails:,} | {run.left_due:,} | {run.load} |"
        )
    return lines


OUTCOMES = {
    "alert": "alert only (plan alerts)",
    "escalated": "alert and escalation",
    "refused": "alert, escalation refused (note)",
}


def outcome_table(runs: list[FirstRun]) -> list[str]:
    lines = [
        "| Mode | Outcome of the mark | Targets missed | Tickets | Median ms | p95 ms | Mean ms "
        "| Queries (median) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    timed = {run.mode: run for run in runs if not run.captured}
    captured = {run.mode: run for run in runs if run.captured}
    for mode, run in timed.items():
        for outcome, label in OUTCOMES.items():
            for size in (1, 2):

                def chosen(mark: Mark, outcome: str = outcome, size: int = size) -> bool:
                    return mark.outcome == outcome and len(mark.targets) == size

                own = [mark.seconds for mark in run.marks if chosen(mark)]
                if not own:
                    continue
                counted = (
                    [mark.queries for mark in captured[mode].marks if chosen(mark)]
                    if mode in captured
                    else []
                )
                queries = f"{statistics.median(counted):.0f}" if counted else ""
                lines.append(
                    f"| {mode} | {label} | {size} | {len(own):,} | {ms(statistics.median(own))} "
                    f"| {ms(p95(own))} | {ms(statistics.mean(own))} | {queries} |"
                )
    return lines


def shapes_table(run: FirstRun, top: int = 14) -> list[str]:
    lines = [
        f"| Query ({run.mode}, captured run) | Count | Per ticket | SQL ms |",
        "|---|---:|---:|---:|",
    ]
    tickets = max(run.tickets, 1)
    for key, count, seconds in run.shapes[:top]:
        key = key.replace("|", "/")
        lines.append(f"| `{key}` | {count:,} | {count / tickets:.2f} | {seconds * 1000:.0f} |")
    rest = run.shapes[top:]
    if rest:
        count, seconds = sum(c for _, c, _ in rest), sum(s for _, _, s in rest)
        lines.append(
            f"| ({len(rest)} other shapes) | {count:,} | {count / tickets:.2f} | {seconds * 1000:.0f} |"
        )
    return lines


def plans_section(title: str, plans: list[tuple[str, str, str]]) -> list[str]:
    lines = [
        f"#### {title}",
        "",
        "| Query | Rows | Scan | Seq scan of tickets | Sort | Rows removed by filter | Heap fetches "
        "| Buffers | Execution ms |",
        "|---|---:|---|---|---|---:|---:|---|---:|",
    ]
    for label, _, plan in plans:
        summary = plan_summary(plan)
        lines.append(
            f"| {label} | {plan_rows(plan)} | {summary.scans} | {summary.seq} | {summary.sort} "
            f"| {summary.removed:,} | {summary.heap_fetches} | {summary.buffers} | {summary.execution} |"
        )
    for label, query, plan in plans:
        lines += ["", f"{label}:", "", "```sql", query, "```", "", "```text", plan, "```"]
    return lines


@dataclass
class Measured:
    data: Dataset
    runs: list[FirstRun]
    steady: SteadyState
    before: list[tuple[str, str, str]]


def section(measured: Measured, steady_runs: int) -> list[str]:
    data, runs, steady = measured.data, measured.runs, measured.steady
    times = steady.times
    queued = next((run for run in runs if run.captured and run.mode.startswith("queued")), None)
    lines = [
        f"## {data.active:,} active tickets, {data.tickets:,} in all",
        "",
        *dataset_lines(data),
        "",
        "### First run: the overdue tickets",
        "",
        "Each row is one run on a fresh copy of the seeded database. Wall: `jobs.run_timers()` as a "
        "whole. Tickets: tickets marked; ms per ticket: wall / tickets. Queries and SQL s: captured "
        "runs only (CaptureQueriesContext, which slows the run; its wall time is not the figure). "
        "Tasks: published to the broker (queued) or run in-process (inline).",
        "",
        *first_run_table(runs),
        "",
        "Per mark (one ticket, every target it missed: one, or both for an open ticket late on its "
        "first response too): the time from one `ticket_mark_overdue` call to the next in the SLA "
        "watch's pass: the next ticket's lock, the marking, the escalation, the commit and what runs "
        "on commit (enqueueing, or rendering and sending the mail).",
        "",
        *outcome_table(runs),
        "",
    ]
    if queued is not None:
        lines += [*shapes_table(queued), ""]
    problems = [f"{run.mode}: {message}" for run in runs for message in run.problems]
    lines += [
        "Warnings or errors logged during the runs: "
        + ("none." if not problems else f"{len(problems)}, e.g. " + "; ".join(problems[:5])),
        "",
        "### Steady state: nothing due",
        "",
        f"{steady_runs} runs of `jobs.run_timers()` right after the queued first run, on its copy: "
        f"first {ms(times[0])} ms, median {ms(statistics.median(times))} ms, p95 {ms(p95(times))} ms, "
        f"max {ms(max(times))} ms; {steady.queries} queries, {steady.sql_ms:.1f} ms of SQL (one "
        f"captured run). Acted on: {dict(steady.reports) or 'nothing'}. Load after: {steady.load}.",
        "",
        "| Query of a steady-state run | SQL ms |",
        "|---|---:|",
        *[f"| `{key.replace('|', '/')}` | {query_ms:.2f} |" for key, query_ms in steady.query_ms],
        "",
        "### The candidate queries: EXPLAIN (ANALYZE, BUFFERS)",
        "",
        "Built from the job's own parts (`jobs.sla_parts`, `jobs.timer_parts`) as `jobs._candidates` "
        "builds them; "
        + (
            "their SQL is the same as the job's, byte for byte (checked against a captured run)."
            if steady.same_sql
            else "**their SQL differs from the job's captured run: check `candidate_queries`.**"
        ),
        "",
        *plans_section("Before the first run (the overdue tickets due)", measured.before),
        "",
        *plans_section("Steady state (nothing due)", steady.plans),
    ]
    return lines


# -- main ----------------------------------------------------------------------------------------


def measure(template: str, data: Dataset, args: argparse.Namespace, broker: str) -> Measured:
    runs: list[FirstRun] = []
    queued_mode = f"queued ({broker})"
    inline_mode = "inline (eager, locmem mail)"
    print(
        f"  queued first run (timed), then {args.steady_runs} steady-state runs", file=sys.stderr, flush=True
    )
    with working_copy(template, "q1"):
        runs.append(first_run(queued_mode, queued=True, captured=False))
        steady = steady_state(args.steady_runs)
    print("  plans before the first run, queued first run (captured)", file=sys.stderr, flush=True)
    with working_copy(template, "q2"):
        before = explain_all(timezone.now())
        runs.append(first_run(queued_mode, queued=True, captured=True))
    for index in range(args.repeat - 1):
        with working_copy(template, f"q{index + 3}"):
            runs.append(first_run(queued_mode, queued=True, captured=False))
    print("  inline first runs (timed, captured)", file=sys.stderr, flush=True)
    with working_copy(template, "i1"):
        runs.append(first_run(inline_mode, queued=False, captured=False))
    with working_copy(template, "i2"):
        runs.append(first_run(inline_mode, queued=False, captured=True))
    for index in range(args.repeat - 1):
        with working_copy(template, f"i{index + 3}"):
            runs.append(first_run(inline_mode, queued=False, captured=False))
    return Measured(data, runs, steady, before)


def drop_queue(queue: str) -> None:
    """Empty and remove the benchmark's own queue (and, on Redis, kombu's keys for it)."""
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        left = channel.queue_purge(queue) or 0
        client = getattr(channel, "client", None)
        if client is not None:  # Redis: the list and the exchange's binding sets
            client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    print(f"  dropped the queue {queue} ({left:,} messages)", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--closed",
        type=int,
        nargs="+",
        default=[0],
        help="closed tickets besides the 107,000 active and resolved; one dataset each (default 0)",
    )
    parser.add_argument("--steady-runs", type=int, default=20, help="steady-state runs (default 20)")
    parser.add_argument("--repeat", type=int, default=1, help="timed first runs per mode (default 1)")
    parser.add_argument(
        "--broker", default="", help="a broker for the queued mode, e.g. redis://127.0.0.1:6379/15"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="seed this share of the counts (a quick try: 0.05)"
    )
    parser.add_argument("--no-seed", action="store_true", help="measure the database as it is (one --closed)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown file to write")
    args = parser.parse_args()
    args.output = INVOKED_FROM / args.output
    template = ensure_bench_database()
    queue = ""
    if args.broker:
        # A queue of its own, so that no worker runs what the benchmark enqueues; deleted after.
        queue = f"bench-timers-{uuid.uuid4().hex[:8]}"
        celery_app.conf.broker_url = args.broker
        celery_app.conf.task_default_queue = queue
    broker = celery_app.conf.broker_url.split("://", 1)[0] + " broker"

    load_before = load_average()
    started = time.perf_counter()
    measured: list[Measured] = []
    try:
        for closed in args.closed:
            step = time.perf_counter()
            if not args.no_seed:
                seed_timers(closed, args.scale)
            else:
                configure_plans()
            data = describe(closed)
            data.seed_s = 0.0 if args.no_seed else time.perf_counter() - step
            print(f"Measuring {data.tickets:,} tickets ({data.active:,} active)", file=sys.stderr, flush=True)
            measured.append(measure(template, data, args, broker))
    finally:
        if queue:
            drop_queue(queue)

    lines = [
        "# The periodic job at 100k active tickets",
        "",
        f"Measured by `bench/timers.py` on {time.strftime('%Y-%m-%d %H:%M %Z')}:",
        "",
        *environment(),
        f"- Code under test: {ROOT} ({code_version()}); load average (1 / 5 / 15 min) "
        f"before {load_before}, after {load_average()}",
        f"- Plans that escalate when overdue: {', '.join(ESCALATING_PLANS)} → team {ESCALATE_TO} (tier 2); "
        "the others alert. Lifecycle timers: the lab's (remind after 3 days, give up 4 later, "
        "close resolved after 7).",
        "",
    ]
    for each in measured:
        lines += [*section(each, args.steady_runs), ""]
    lines += [f"Benchmark run time: {time.perf_counter() - started:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
