"""Time the supervisors' dashboard (tickets.reports.figures.dashboard) for the last 30 days.

    createdb -h 127.0.0.1 -U postgres helpdesk_bench_reports
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench_reports DEBUG=1 \\
    HELPDESK_VAR_DIR=/tmp/benchvar .venv/bin/python bench/reports.py --sizes 10000,100000,1000000

For each size: seeds the database with bench/seed.py (the console's mix: 85% closed over two
years, the rest active over 60 days; every ticket has its create and intake moves and the one
to its state), sets the stored SLA outcomes the seed leaves empty (first response met when within
4 hours of creation, resolution met when by its due time: the same rows, the same work for the
figures), then as jane (sees every ticket) and john (Support: three quarters of them) calls
``dashboard()`` for the last 30 days: one warm-up, one call with its queries captured (count
and each query's time, labelled by the figure it serves), ``--runs`` timed calls with nothing
recording queries (median and slowest). ``--explain`` prints the EXPLAIN (ANALYZE, BUFFERS) of
each of jane's queries at the largest size. Prints Markdown: a table of the sizes, then one of
the queries. ``--no-seed`` measures the database as it is (one size: what it holds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import django

# The code under test: this checkout, or the tree BENCH_SRC names (e.g. `git archive HEAD` unpacked).
ROOT = Path(os.environ.get("BENCH_SRC") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from tickets.models import ReportSnapshot, Ticket, TicketTransition  # noqa: E402
from tickets.reports import figures, snapshots  # noqa: E402
from tickets.reports.types import Period, ReportFilters  # noqa: E402

# bench/ first, as when this runs as a script: its modules are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import ensure_bench_database, seed  # noqa: E402

USERS = ("jane", "john")
DAYS = 30
# dashboard()'s queries in the order it makes them (the catalog and permissions come from the cache).
QUERIES = [
    "created: funnel, escalation and follow-up rates, trend",
    "moves: reopen rate, trend's closed",
    "stage times",
    "waiting on requester / with desk",
    "attainment: first response",
    "attainment: resolution",
    "open load (teams, agents, topics)",
    "resolved per team",
    "resolved per agent",
    "resolved per help topic",
]

OUTCOMES_SQL = """
UPDATE tickets_ticket SET
    first_response_met = CASE WHEN first_responded_at IS NOT NULL
        THEN first_responded_at <= created_at + interval '4 hours' END,
    resolution_met = CASE WHEN resolved_at IS NOT NULL THEN resolved_at <= resolution_due END
WHERE first_responded_at IS NOT NULL OR resolved_at IS NOT NULL
"""


def fill_outcomes() -> None:
    with connection.cursor() as cursor:
        cursor.execute(OUTCOMES_SQL)
        cursor.execute("VACUUM (ANALYZE) tickets_ticket")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def measure(user, period: Period, runs: int) -> dict:  # type: ignore[no-untyped-def]
    filters = ReportFilters()
    figures.dashboard(user, period, filters)  # warm-up: the catalog, the permissions, the cache
    with CaptureQueriesContext(connection) as captured:
        figures.dashboard(user, period, filters)
    times = []
    with override_settings(DEBUG=False):
        for _ in range(runs):
            started = time.perf_counter()
            figures.dashboard(user, period, filters)
            times.append(time.perf_counter() - started)
    return {
        "queries": captured.captured_queries,
        "median": statistics.median(times),
        "slowest": max(times),
    }


def timed(call, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def measure_page(user, runs: int) -> dict:  # type: ignore[no-untyped-def]
    """The console's page for the last 30 days through Django's whole stack (sessions, the
    middleware, the template and its charts): computed afresh (``?fresh=1``), as kept (what a
    supervisor gets within a few minutes of the last computation, or of the periodic job's), and
    the floor: the same page refusing a malformed period (the frame, the form, no figures)."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = "/agents/reports/"

    def get(params: dict) -> None:
        response = client.get(url, params)
        assert response.status_code in (200, 400), response.status_code

    get({"period": "30", "fresh": "1"})  # warm-up, and the figures kept
    with override_settings(DEBUG=False):
        fresh = timed(lambda: get({"period": "30", "fresh": "1"}), runs)
        # Counted as they run: the test client's request signal empties Django's query log.
        made: list[str] = []
        with connection.execute_wrapper(lambda execute, sql, *rest: made.append(sql) or execute(sql, *rest)):
            get({"period": "30"})
        kept = timed(lambda: get({"period": "30"}), runs * 4)
        floor = timed(lambda: get({"period": "bogus"}), runs * 4)
    return {
        "fresh": statistics.median(fresh),
        "kept": statistics.median(kept),
        "kept_slowest": max(kept),
        "kept_queries": len(made),
        "floor": statistics.median(floor),
    }


def measure_job() -> dict:
    """The periodic job with every kept dashboard due (each reader's default view and the pages
    just measured): how many it recomputes and how long it takes."""
    ReportSnapshot.objects.update(computed_at=timezone.now() - timedelta(days=1), viewed_at=timezone.now())
    started = time.perf_counter()
    done = snapshots.refresh(budget_seconds=3600)
    return {"computed": done.computed, "took": time.perf_counter() - started}


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="Ticket counts, comma-separated.")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-seed", action="store_true", help="Measure the database as it is.")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE jane's queries.")
    args = parser.parse_args()
    ensure_bench_database()
    if args.no_seed:  # the data as it is, the tables of the code under test
        call_command("migrate", interactive=False, verbosity=0)
    sizes = [None] if args.no_seed else [int(s.replace("_", "")) for s in args.sizes.split(",")]
    rows, per_query, explained, pages, jobs = [], {}, [], [], []
    for size in sizes:
        if size is not None:
            seed(size)
            started = time.perf_counter()
            fill_outcomes()
            took = time.perf_counter() - started
            print(f"  stored outcomes set in {took:.1f} s", file=sys.stderr, flush=True)
        users = {name: get_user_model().objects.get(username=name) for name in USERS}
        tickets = Ticket.objects.count()
        period = Period.last_days(DAYS, timezone.now())
        in_period = Ticket.objects.filter(created_at__gte=period.start).count()
        moves = TicketTransition.objects.filter(created_at__gte=period.start).count()
        for name, user in users.items():
            found = measure(user, period, args.runs)
            slowest = max(found["queries"], key=lambda q: float(q["time"]))
            rows.append(
                f"| {tickets:,} | {in_period:,} | {moves:,} | {name} | {len(found['queries'])} "
                f"| {ms(found['median'])} | {ms(found['slowest'])} | {float(slowest['time']) * 1000:.1f} |"
            )
            labels = QUERIES if len(found["queries"]) == len(QUERIES) else [
                f"query {n + 1}" for n in range(len(found["queries"]))
            ]
            for label, query in zip(labels, found["queries"], strict=True):
                per_query.setdefault(label, {})[(tickets, name)] = float(query["time"]) * 1000
            if args.explain and name == "jane" and size == sizes[-1]:
                explained = [
                    (label, explain(q["sql"])) for label, q in zip(labels, found["queries"], strict=True)
                ]
            if not snapshots.may_read_reports(user):
                continue  # john is an agent: the figures of his view, but no reports page
            shown = measure_page(user, args.runs)
            pages.append(
                f"| {tickets:,} | {name} | {ms(shown['floor'])} | {ms(shown['kept'])} "
                f"| {ms(shown['kept_slowest'])} | {shown['kept_queries']} "
                f"| {shown['kept'] / shown['floor']:.2f} | {ms(shown['fresh'])} |"
            )
        job = measure_job()
        jobs.append(f"| {tickets:,} | {job['computed']} | {job['took']:.1f} s |")
        print(f"  measured {tickets:,} tickets", file=sys.stderr, flush=True)
    print(f"Dashboard for the last {DAYS} days, median of {args.runs} calls after a warm-up (ms).\n")
    print("| Tickets | created in the period | moves in the period | user | queries | median | slowest "
          "| slowest query |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    columns = sorted({key for times in per_query.values() for key in times})
    print("\nEach query, one captured call (ms):\n")
    print("| query | " + " | ".join(f"{n:,} {user}" for n, user in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for label, times in per_query.items():
        print(f"| {label} | " + " | ".join(f"{times.get(key, 0):.1f}" for key in columns) + " |")
    print(
        f"\nThe console's page `/agents/reports/` for the last {DAYS} days through the whole stack "
        f"(ms; median of {args.runs * 4} requests, afresh: of {args.runs}). Floor: the same page "
        "refusing a malformed period (no figures).\n"
    )
    print("| Tickets | user | floor | as kept | as kept, slowest | queries as kept | kept / floor | afresh |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(pages))
    print("\nThe periodic job recomputing every kept dashboard (each reader's default view and the pages "
          "above):\n")
    print("| Tickets | dashboards computed | took |")
    print("|---:|---:|---:|")
    print("\n".join(jobs))
    for label, plan in explained:
        print(f"\n{label}:\n\n```\n{plan}\n```")


if __name__ == "__main__":
    main()
