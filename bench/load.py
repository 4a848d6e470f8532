# ruff: noqa: S603, S607
# S603, S607: we start our own programs (git, and the stack of bench/load_stack.py).
"""The help desk through gunicorn, with Redis as broker and a Celery worker, under load.

    .venv/bin/python bench/load.py [--seconds 20] [--clients 8[,32]] [--workers 4]

Starts everything in a temporary folder and stops and removes it at the end, even on Ctrl-C
or an error (bench/load_stack.py): the database ``helpdesk_bench_load`` on the shared
PostgreSQL (127.0.0.1:5432), created if need be and seeded with ``--seed`` tickets
(bench/seed.py: it starts over each time), an API key (scope create); gunicorn with the bench's
settings (``benchsettings``: the product plus the floor view ``/bench/floor/``) on a free
loopback port, DEBUG off; a Celery worker on Redis db 12 (mail into memory); the throttle
counters in Redis db 13 (both emptied at the start and the end).

Then, at each concurrency of ``--clients``, each scenario runs for ``--seconds``, the clients
back to back (bench/load_client.py): the floor (john), karen's ticket list and one of her
tickets, john's unassigned queue, ticket creation through the API and through the portal's
form (karen), and the floor again. Afterwards it waits (``--drain-seconds`` at most) for the
worker to empty its queue and checks the database: every creation answered a success has its
ticket, with the number answered, and its first message exactly once; nothing else was stored.
It prints the report and writes it to bench/results-load.md (bench/load_report.py). Exits
with 1 on any error or failed check.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results-load.md"
INVOKED_FROM = Path.cwd()

# bench/ first, as when this runs as a script: its modules are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_client import Client, Outcome, api_create, page, portal_create, run  # noqa: E402
from load_report import CREATIONS, Check, check, goals, read_stored, report  # noqa: E402
from load_stack import LoadStack  # noqa: E402
from soak_stack import ROOT, say  # noqa: E402


class Interrupted(Exception):
    pass


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


def scenarios(stack: LoadStack, karen_ticket: str) -> list[tuple[str, str, Any]]:
    """(name, whose session, operation), in the order run."""
    return [
        ("Floor: /bench/floor/ (john)", "john", page("/bench/floor/")),
        ("Portal: karen's tickets /tickets/", "karen", page("/tickets/")),
        (f"Portal: karen's ticket /tickets/{karen_ticket}/", "karen", page(f"/tickets/{karen_ticket}/")),
        ("Console: queue unassigned (john)", "john", page("/agents/queues/unassigned/")),
        ("API: create a ticket", "api", lambda client: api_create(client, stack.api_key)),
        ("Portal: open a ticket (GET + POST)", "karen", portal_create),
        ("Floor, again: /bench/floor/ (john)", "john", page("/bench/floor/")),
    ]


def drive(
    stack: LoadStack, args: argparse.Namespace
) -> tuple[list[Outcome], dict[int, Any], dict[str, Any], set[str]]:
    port = stack.web_port
    sessions = {"john": Client(port), "karen": Client(port), "api": Client(port)}
    sessions["john"].sign_in("/agents/login/", "john")
    sessions["karen"].sign_in("/accounts/login/", "karen@example.com")
    # Warm-up: every worker process loads its code, karen gets a ticket for her pages.
    answered: set[str] = set()
    warm = Client(port, sessions["karen"].cookies)
    for _ in range(2 * args.workers):
        token, karen_ticket = portal_create(warm)
        answered.add(token)
        warm.get("/tickets/")
        Client(port, sessions["john"].cookies).get("/agents/queues/unassigned/")
    answered.add(api_create(Client(port), stack.api_key)[0])

    outcomes: list[Outcome] = []
    cpu: dict[int, Any] = {}
    queue: dict[str, Any] = {}
    for clients in args.clients:
        for name, who, operation in scenarios(stack, karen_ticket):
            say(f"{clients} clients: {name}")
            group = [Client(port, sessions[who].cookies) for _ in range(clients)]
            before = stack.cpu_seconds()
            outcome = run(name, group, operation, args.seconds)
            after = stack.cpu_seconds()
            cpu[len(outcomes)] = {k: after[k] - before.get(k, 0.0) for k in after}
            outcomes.append(outcome)
            answered |= set(outcome.created)
            if name in CREATIONS:
                queue["after_api" if name.startswith("API") else "after_portal"] = stack.queue_length()
            say(f"  {outcome.rate:.1f}/s, errors {dict(outcome.errors) or 0}")
    return outcomes, cpu, queue, answered


def drain(stack: LoadStack, queue: dict[str, Any], seconds: float) -> None:
    started = time.perf_counter()
    queue["at_end"] = first = stack.queue_length()
    say(f"{first:,} tasks in the queue; waiting for the worker (at most {seconds:.0f} s)")
    # A task is briefly in neither the list nor the unacknowledged hash as a worker takes it
    # (kombu's BRPOP, then HSET): empty means empty three times in a row.
    left, empty, emptied = first, 0, 0.0
    while empty < 3 and time.perf_counter() - started < seconds:
        time.sleep(0.3)
        left = stack.queue_length()
        empty = empty + 1 if left == 0 else 0
        emptied = emptied if empty > 1 else time.perf_counter()
    queue["drain_seconds"] = (emptied if left == 0 else time.perf_counter()) - started
    queue["drained"] = left == 0
    queue["left"] = left
    queue["drain_rate"] = (first - left) / queue["drain_seconds"] if queue["drain_seconds"] else 0.0


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        return f"{head}{' (with uncommitted changes of the shared tree)' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("BENCH_COMMIT", "?")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="each scenario's length (default 20)")
    parser.add_argument(
        "--clients", default="8", help="concurrency, or a list run in turn: 8,32 (default 8)",
        type=lambda text: [int(n) for n in text.split(",")],
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync", help="(default sync)")
    parser.add_argument("--threads", type=int, default=4, help="threads of a gthread worker (default 4)")
    parser.add_argument(
        "--worker-concurrency", type=int, default=2, help="Celery worker processes (default 2)"
    )
    parser.add_argument("--conn-max-age", type=int, default=0, help="DATABASE_CONN_MAX_AGE (default 0)")
    parser.add_argument("--seed", type=int, default=10_000, help="tickets seeded first (default 10,000)")
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=60.0,
        help="wait at most this for the worker's queue (default 60)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (the logs)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown file to write")
    args = parser.parse_args()
    args.argv = sys.argv[1:]
    return args


def main() -> int:
    args = parse()
    # Bounded: past the scenarios, the drain and 10 minutes for the rest, everything is stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGALRM, _interrupt)
    signal.alarm(int(len(args.clients) * 7 * args.seconds + args.drain_seconds) + 600)
    load_before = os.getloadavg()
    stack = LoadStack(args)
    try:
        stack.forget_queue()
        stack.prepare_app()
        stack.start_worker()
        stack.start_web()
        outcomes, cpu, queue, answered = drive(stack, args)
        drain(stack, queue, args.drain_seconds)
        with stack.connect_db() as conn:
            stored = read_stored(conn)
        checks: dict[int, Check] = {
            index: check(outcome, stored, answered)
            for index, outcome in enumerate(outcomes)
            if outcome.name in CREATIONS
        }
        text = report(args, commit(), outcomes, checks, cpu, queue, load_before)
        text += "\n" + "\n".join(goals(outcomes, checks))
    finally:
        signal.alarm(0)
        # The clean-up is bounded on its own; a second Ctrl-C must not leave gunicorn behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say("stopping gunicorn and the worker")
        stack.close(keep=args.keep)
    print(text)
    (INVOKED_FROM / args.output).write_text(text, encoding="utf-8")
    failed = any(outcome.errors for outcome in outcomes) or any(c.failed for c in checks.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
