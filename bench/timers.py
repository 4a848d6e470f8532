"""Time the periodic job (tickets.sla.jobs.run_timers) at 100,000 active tickets, 1% of them overdue.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench_timers DEBUG=1 \\
    HELPDESK_VAR_DIR=/tmp/benchvar .venv/bin/python bench/timers.py [--closed 0 893000]

For each ``--closed`` count, seeds the database (bench/timers_data.py, through bench/seed.py;
exact mix: 100,000 active tickets, 7,000 resolved, that many closed; every 100th active ticket
overdue, the waiting tickets short of their timers) and makes the plans of ``ESCALATING_PLANS``
escalate overdue tickets to Online Banking. Every first run gets a fresh copy of that database
(``CREATE DATABASE ... TEMPLATE``), dropped afterwards:

- queued: Celery tasks go to a broker (in-memory by default, ``--broker redis://...``), so the
  job only enqueues its mail; timed, then on a second copy under CaptureQueriesContext;
- inline: tasks run eagerly in the job's process, the mail rendered and handed to Django's
  locmem backend; timed, then captured;
- after the queued timed run, ``--steady-runs`` runs with nothing due (what every minute
  costs) and one captured; the EXPLAIN (ANALYZE, BUFFERS) of each part's candidate query
  (``jobs.sla_parts``, ``jobs.timer_parts``) before the first run (1,000 due) and in the
  steady state.

Times are taken with DEBUG off (override_settings) and nothing recording queries; the per-batch
figures come from wrapping services.tickets_mark_overdue, which marks a batch of locked tickets
(the time from one call to the next within the SLA watch's pass: the marking, the escalations,
the commit, what runs on commit and the next batch's lock).
Writes markdown to stdout and to bench/results-timers.md. The seeded database is left in place
(rerun with ``--no-seed`` within 12 hours of seeding: after that, waiting tickets fall due).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import django

# The code under test: this checkout, or the tree BENCH_SRC names (e.g. `git archive HEAD` unpacked).
ROOT = Path(os.environ.get("BENCH_SRC") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
# Celery puts the working directory first on sys.path when it loads: make that ROOT too.
INVOKED_FROM = Path.cwd()
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

from django.utils import timezone  # noqa: E402

from helpdesk.celery import app as celery_app  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results-timers.md"

# bench/ first, as when this runs as a script: its modules are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timers_data import (  # noqa: E402
    ESCALATE_TO,
    ESCALATING_PLANS,
    Dataset,
    configure_plans,
    describe,
    ensure_bench_database,
    seed_timers,
)
from timers_report import Measured, code_version, environment, load_average, section  # noqa: E402
from timers_run import FirstRun, explain_all, first_run, steady_state, working_copy  # noqa: E402

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
