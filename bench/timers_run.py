"""The runs of bench/timers.py: fresh copies of the seeded database, the instruments (Celery
queued or eager, the problems logged, the time per ticket marked, every query captured) and the
first and steady-state runs of ``jobs.run_timers()``.

Imported by bench/timers.py once Django is set up."""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest import mock

import psycopg
from celery.signals import before_task_publish, task_failure, task_prerun
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from psycopg import sql
from timers_data import candidate_queries
from timers_report import load_average, query_shapes, shape

from helpdesk.celery import app as celery_app
from tickets import services
from tickets.models import (
    SLAPlan,
    Ticket,
)
from tickets.sla import jobs

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


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


@dataclass
class Mark:
    """One ticket of a batch of services.tickets_mark_overdue, with every target it missed (one
    or two); ``seconds`` and ``queries`` are its batch's, shared out over the batch's tickets."""

    ticket: int
    targets: tuple[str, ...]
    outcome: str  # alert, escalated, refused (the plan escalates, the ticket cannot)
    part: int  # the batch it belongs to, in the order of the SLA watch's pass
    batch_size: int
    seconds: float = 0.0
    queries: float = 0.0


@contextmanager
def per_ticket(count_queries: Callable[[], int]) -> Iterator[list[Mark]]:
    """Record each batch of tickets_mark_overdue and the end of the SLA watch; afterwards each
    batch gets the time (and queries) up to the next batch, or to the watch's end: the lock of
    its tickets, the marking, the escalations, the commit and what runs on commit."""
    escalates = dict(SLAPlan.objects.values_list("pk", "on_overdue"))
    marks: list[Mark] = []
    starts: list[tuple[float, int]] = []
    ends: list[tuple[float, int]] = []
    mark_batch, watch = services.tickets_mark_overdue, jobs.sla_watch

    def timed_batch(*, tickets: Any, now: datetime) -> Any:
        starts.append((time.perf_counter(), count_queries()))
        result = mark_batch(tickets=tickets, now=now)
        for one in result:
            outcome = "alert"
            if escalates.get(one.ticket.sla_id) == SLAPlan.OnOverdue.ESCALATE:
                outcome = "refused" if one.escalation is None else "escalated"
            marks.append(Mark(one.ticket.pk, tuple(one.missed), outcome, len(starts) - 1, len(result)))
        return result

    def timed_watch(*args: Any, **kwargs: Any) -> Any:
        done = watch(*args, **kwargs)
        ends.append((time.perf_counter(), count_queries()))
        return done

    with (
        mock.patch.object(services, "tickets_mark_overdue", timed_batch),
        mock.patch.object(jobs, "sla_watch", timed_watch),
    ):
        yield marks
    bounds = [*starts[1:], *ends[:1]]
    for mark in marks:
        if mark.part < len(bounds):
            (started, before), (finished, after) = starts[mark.part], bounds[mark.part]
            mark.seconds = (finished - started) / mark.batch_size
            mark.queries = (after - before) / mark.batch_size


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
