"""The Django side of bench/replica.py: seeds the bench database on the primary, then measures
where the pages' queries go and how long they take with the replica and without it. Imported by
bench/replica.py once DATABASE_URL and DATABASE_REPLICA_URL are set (Django starts at import)."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone
from reports import fill_outcomes  # bench/reports.py: the stored SLA outcomes the seed leaves empty
from seed import ensure_bench_database, seed

from helpdesk.routers import REPLICA
from tickets.models import ReportSnapshot, SLAPlan, Ticket
from tickets.replica import reading_from_replica
from tickets.reports import figures
from tickets.reports.types import Period, ReportFilters

ALIASES = (DEFAULT_DB_ALIAS, REPLICA)
WRITES = ("INSERT", "UPDATE", "DELETE")


def prepare(args: Any) -> None:
    ensure_bench_database()
    if args.no_seed:
        call_command("migrate", interactive=False, verbosity=0)
        return
    seed(args.tickets)
    fill_outcomes()


@contextmanager
def counted() -> Iterator[Counter[str]]:
    """Each statement counted on the connection that runs it, as it runs: ``default``,
    ``replica``, and ``<alias> writes``."""
    counts: Counter[str] = Counter()

    def counter(alias: str) -> Callable[..., Any]:
        def wrapper(execute: Callable[..., Any], sql: str, *rest: Any) -> Any:
            counts[alias] += 1
            if sql.lstrip().upper().startswith(WRITES):
                counts[f"{alias} writes"] += 1
            return execute(sql, *rest)

        return wrapper

    with ExitStack() as stack:
        for alias in ALIASES:
            stack.enter_context(connections[alias].execute_wrapper(counter(alias)))
        yield counts


def on_primary_only() -> Any:
    """The router told there is no replica: the same code, every query on the primary."""
    return mock.patch("helpdesk.routers.replica_configured", return_value=False)


def median_ms(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    call()  # warm-up
    times = []
    with override_settings(DEBUG=False):
        for _ in range(runs):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, max(times) * 1000


def replica_stats(dbname: str) -> dict[str, int]:
    """The replica's own counters for the bench database (its connections flush them as they
    close: Django closes its connection after each request)."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT xact_commit, tup_returned, tup_fetched FROM pg_stat_database WHERE datname = %s", [dbname]
        )
        commits, returned, fetched = cursor.fetchone()
    connections[REPLICA].close()
    return {"xact_commit": commits, "tup_returned": returned, "tup_fetched": fetched}


def where(alias: str) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), inet_server_port(), current_database()")
        recovery, port, name = cursor.fetchone()
    return f"| `{alias}` | {port} | {name} | {recovery} |"


def replay_lag(runs: int = 20) -> tuple[float, float]:
    """A write on the primary (one row of the kept dashboards), then the replica polled until it
    has replayed it: ms from before the write to readable on the replica."""
    row = ReportSnapshot.objects.order_by("pk").first()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        ReportSnapshot.objects.filter(pk=row.pk).update(viewed_at=timezone.now())
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            (lsn,) = cursor.fetchone()
        with connections[REPLICA].cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
                if cursor.fetchone()[0]:
                    break
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, max(times) * 1000


def report(args: Any, replica: Any) -> str:
    dbname = connections[DEFAULT_DB_ALIAS].settings_dict["NAME"]
    caught = replica.caught_up(dbname)
    out = [
        f"Tickets: {Ticket.objects.count():,}. Replica: `pg_basebackup -R -X stream` of the local "
        f"cluster in {replica.copy_seconds:.0f} s, on port {replica.port}; caught up {caught:.2f} s "
        "after it started.\n",
        "Where each alias is (through Django's connections):\n",
        "| alias | port | database | `pg_is_in_recovery()` |",
        "|---|---:|---|---|",
        *(where(alias) for alias in ALIASES),
    ]
    jane = get_user_model().objects.get(username="jane")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(jane)
    ticket = Ticket.objects.order_by("-pk").first()
    pages = {
        "reports page, afresh": "/agents/reports/?period=30&fresh=1",
        "reports page, as kept": "/agents/reports/?period=30",
        "reports CSV (agents), afresh": "/agents/reports/export/agents.csv?period=30&fresh=1",
        "SLA what-if": f"/agents/reports/what-if/?plan={SLAPlan.objects.order_by('pk').first().pk}&period=30",
        "queue CSV export (10,000 rows)": "/agents/queues/all/export.csv",
        "API dashboard, afresh": "/api/v1/reports/dashboard/?days=30&fresh=true",
        "workspace (not a replica page)": f"/agents/tickets/{ticket.number}/",
    }

    def get(url: str) -> Callable[[], None]:
        def call() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if response.streaming:
                b"".join(response.streaming_content)

        return call

    before = replica_stats(dbname)
    out += [
        "\nEach page's statements as they ran, per connection (one request after a warm-up), "
        f"then its time with the replica and with the primary only (ms: median of {args.runs}, "
        "slowest):\n",
        "| page | on `default` | of them writes | on `replica` | of them writes | with replica "
        "| primary only |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, url in pages.items():
        get(url)()
        with counted() as counts:
            get(url)()
        replica_ms = median_ms(get(url), args.runs)
        with on_primary_only():
            primary_ms = median_ms(get(url), args.runs)
        out.append(
            f"| {label} | {counts[DEFAULT_DB_ALIAS]} | {counts['default writes']} | {counts[REPLICA]} "
            f"| {counts['replica writes']} | {replica_ms[0]:.1f} ({replica_ms[1]:.0f}) "
            f"| {primary_ms[0]:.1f} ({primary_ms[1]:.0f}) |"
        )
    after = replica_stats(dbname)
    period, filters = Period.last_days(30, timezone.now()), ReportFilters()

    def on_replica() -> None:
        with reading_from_replica():
            figures.dashboard(jane, period, filters)

    figures_replica = median_ms(on_replica, args.runs)
    figures_primary = median_ms(lambda: figures.dashboard(jane, period, filters), args.runs)
    lag = replay_lag()
    out += [
        "\nThe dashboard's figures alone (`figures.dashboard`, jane, last 30 days; ms, median of "
        f"{args.runs}): {figures_replica[0]:.1f} on the replica, {figures_primary[0]:.1f} on the primary.\n",
        f"The replica's `pg_stat_database` for `{dbname}` over the page requests above:\n",
        "| counter | before | after | moved |",
        "|---|---:|---:|---:|",
        *(f"| {key} | {before[key]:,} | {after[key]:,} | {after[key] - before[key]:,} |" for key in before),
        f"\nA write on the primary readable on the replica after {lag[0]:.1f} ms (median of 20; "
        f"slowest {lag[1]:.1f} ms).",
    ]
    return "\n".join(out)
