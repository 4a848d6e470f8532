# ruff: noqa: S603, S607
# S603, S607: we start our own programs (git, and the stack of bench/soak_stack.py).
"""A soak: the whole stack under load for a few minutes, PostgreSQL restarted once, nothing lost.

    .venv/bin/python bench/soak.py [--minutes 3] [--clients 8] [--agents 4]

Run as root (the throwaway cluster runs as the ``postgres`` OS user, through ``runuser``). It
starts everything it needs in a temporary folder and removes it at the end, even on Ctrl-C:

- its own PostgreSQL cluster (initdb with the Debian binaries, fsync on, a free loopback port
  from 55432), so restarting it disturbs nobody; ``migrate``, ``load_lab``, ``collectstatic``;
- gunicorn (``--workers 3``) with DEBUG off, and a Celery worker on a queue of its own on
  Redis (redis://127.0.0.1:6379/7), so mail is queued, not sent inline (it goes to files);
- the load generator, in a process of its own (bench/soak_load.py; stdlib only,
  one cookie jar per browser): guests open tickets in the portal and reply to them (and
  confirm or reopen them when resolved), agents (john and jane, signed in to the console)
  claim, start work, ask the requester, reply, escalate, resolve, reopen and close the same
  tickets. Every text sent carries a unique token (``soak-x-<12 hex>``).

A third of the way in, the cluster is restarted (``pg_ctl restart -m fast``) and the load
goes on. Afterwards the database is checked: every request that got a success has its ticket
or thread entry exactly once, on the ticket it belongs to (a reply may land on the follow-up
of a closed ticket); nothing refused was stored. The figures are printed as Markdown and
written to bench/results-soak.md. Exits with 1 if anything was lost, doubled, misplaced or
stored though refused, or if a worker task failed for another reason than a lost connection.

``--conn-max-age 60`` runs the web processes with persistent connections
(DATABASE_CONN_MAX_AGE), ``--keep`` keeps the folder (logs, the records of every request).
Environment: BENCH_SRC names another tree to run (e.g. ``git archive HEAD`` unpacked),
BENCH_COMMIT the commit it is (shown in the results), as for bench/console.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results-soak.md"
INVOKED_FROM = Path.cwd()

# bench/ first, as when this runs as a script: its modules are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak_check import Check, Restart, check, request_table, server_errors  # noqa: E402
from soak_load import HTTP_TIMEOUT, generate  # noqa: E402
from soak_stack import ROOT, Stack, say  # noqa: E402


def drive(stack: Stack, args: argparse.Namespace) -> tuple[list[dict[str, Any]], Restart, float, float]:
    seconds = args.minutes * 60
    output = stack.tmp / "records.jsonl"
    start = time.time() + 1
    config = {
        "base": f"http://127.0.0.1:{stack.web_port}",
        "start": start,
        "seconds": seconds,
        "clients": args.clients,
        "agents": args.agents,
        "think": args.think,
        "pool": args.pool,
        "seed": args.seed,
        "run": stack.tag,
        "max_cycles": 100_000,
        "output": str(output),
    }
    say(
        f"load for {seconds:.0f} s: {args.clients} requesters, {args.agents} agents; "
        f"restart at {args.restart_at:.0%}"
    )
    stack.spawn(
        "generator",
        [sys.executable, str(Path(__file__).resolve().with_name("soak_load.py")), json.dumps(config)],
    )
    generator = stack.processes["generator"]
    restart = Restart()
    restart_at = start + seconds * args.restart_at
    while generator.poll() is None and time.time() < start + seconds + 3 * HTTP_TIMEOUT:
        if not restart.down and time.time() >= restart_at:
            say("restarting PostgreSQL (pg_ctl restart -m fast)")
            restart.down, restart.up, restart.note = stack.restart_postgres()
            say(f"  down to up: {restart.up - restart.down:.2f} s ({restart.note})")
        time.sleep(0.1)
    if generator.poll() is None:
        raise RuntimeError("the load generator did not stop")
    if generator.returncode != 0:
        raise RuntimeError(f"the load generator failed: see {stack.tmp / 'generator.log'}")
    stack.processes.pop("generator")
    end = time.time()
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line]
    return records, restart, start, end


def report(
    args: argparse.Namespace,
    stack: Stack,
    records: list[dict[str, Any]],
    restart: Restart,
    span: tuple[float, float],
    result: Check,
    drained: str,
    load_before: str,
) -> str:
    start, end = span
    errors = [r for r in records if r["outcome"] in ("server_error", "conn_error")]
    in_window = [r for r in errors if restart.overlaps(r)]
    stale_replies = sum(r["kind"] == "reply" and r["outcome"] == "stale" for r in records)
    mails = len(list((stack.tmp / "mail").glob("*"))) if (stack.tmp / "mail").exists() else 0
    five_hundreds = server_errors(stack.tmp / "gunicorn.log")
    failures = result.task_failures
    stored_after_error = (
        f"{sum(result.stored_after_error.values())} ({dict(result.stored_after_error) or '-'})"
    )
    errors_not_stored = sum(result.errors_not_stored.values())
    last_error = max((r["t1"] for r in in_window), default=restart.up)
    lines = [
        "# Soak: gunicorn, Celery and PostgreSQL restarted under load",
        "",
        f"Measured by `bench/soak.py` on {time.strftime('%Y-%m-%d %H:%M %Z')}: "
        f"`--minutes {args.minutes:g} --clients {args.clients} --agents {args.agents} "
        f"--workers {args.workers} --think {args.think:g} --seed {args.seed}`.",
        "",
        f"- Code under test: {ROOT} ({code_version()}); {os.cpu_count()} CPU cores, load average "
        f"(1 / 5 / 15 min) before {load_before}, after {load_average()}",
        f"- Python {platform.python_version()}; PostgreSQL {stack.pgbin.parent.name} (a cluster of its own, "
        f"fsync on), gunicorn {args.workers} sync workers, a Celery worker ({args.worker_concurrency} "
        f"process) on Redis; DATABASE_CONN_MAX_AGE={args.conn_max_age}",
        f"- Load: {end - start:.0f} s, {len(records):,} requests ({len(records) / (end - start):.1f}/s), "
        f"{result.tickets_opened:,} tickets opened, {result.follow_ups:,} follow-ups; "
        f"{result.tickets_in_db:,} tickets in the database (with the lab's)",
        f"- PostgreSQL restarted at {restart.down - start:.0f} s: down to accepting connections again "
        f"{restart.up - restart.down:.2f} s ({restart.note}); the last request it failed ended "
        f"{max(0.0, last_error - restart.up):.2f} s after it was back",
        "",
        *request_table(records, restart),
        "",
        "| Check | Figure |",
        "|---|---:|",
        f"| Successes checked in the database (each with its token) | {result.checked:,} |",
        f"| **Lost** (success, not in the database) | **{len(result.lost)}** |",
        f"| Doubled (a token in more than one entry, a number twice) | {len(result.doubled)} |",
        f"| Misplaced (on another ticket, or another kind of entry) | {len(result.misplaced)} |",
        f"| Stored though refused (4xx or a refusal shown) | {len(result.stored_refused)} |",
        f"| Errors (5xx, no answer) in the restart window | {len(in_window)} |",
        f"| Errors outside it | {len(errors) - len(in_window)} |",
        f'| Requester replies refused as stale (400 "ticket changed") | {stale_replies} |',
        f"| Stored although the client saw an error or could not tell | {stored_after_error} |",
        f"| Not stored, and the client saw an error (it may retry) | {errors_not_stored} |",
        f"| Mail written by the worker | {mails:,} ({drained}) |",
        f"| Worker tasks failed for another reason than a lost connection | {result.broken_tasks} |",
        "",
        "500s by exception (Django's log): "
        + (
            "none."
            if not five_hundreds
            else "; ".join(f"{n} × `{e}`" for e, n in five_hundreds.most_common())
        ),
        "",
        "Worker tasks failed or retried: "
        + ("none." if not failures else "; ".join(f"{n} × {e}" for e, n in failures.most_common())),
    ]
    outside = [r for r in errors if not restart.overlaps(r)]
    details = [
        *(f"- LOST {item}" for item in result.lost[:20]),
        *(f"- doubled {item}" for item in result.doubled[:20]),
        *(f"- misplaced {item}" for item in result.misplaced[:20]),
        *(f"- stored though refused: {item}" for item in result.stored_refused[:20]),
        *(
            f"- error outside the restart window: {r['kind']} {r['status']} at {r['t0'] - start:.1f} s "
            f"{r.get('detail', '')}"
            for r in outside[:20]
        ),
    ]
    refusals = Counter(
        (r["kind"], r.get("detail", "")[:90]) for r in records if r["outcome"] in ("stale", "refused")
    )
    if details:
        lines += ["", *details]
    if refusals:
        lines += ["", "Refusals (kind: message shown):", ""]
        lines += [f"- {n} × {kind}: {detail}" for (kind, detail), n in refusals.most_common(12)]
    return "\n".join(lines) + "\n"


def code_version() -> str:
    commit = os.environ.get("BENCH_COMMIT")
    if commit:
        return f"commit {commit}"
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {head}" + (" with uncommitted changes" if dirty else "")


def load_average() -> str:
    return " / ".join(f"{load:.1f}" for load in os.getloadavg())


def drain(stack: Stack, seconds: float = 90) -> str:
    """Let the worker finish the mail the load queued (bounded)."""
    deadline = time.time() + seconds
    quiet = 0
    while time.time() < deadline and quiet < 3:
        quiet = quiet + 1 if stack.queue_length() == 0 else 0
        time.sleep(1)
    left = stack.queue_length()
    return "queue drained" if left == 0 else f"{left} tasks still queued after {seconds:.0f} s"


class Interrupted(Exception):
    pass


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the load runs (default 3)")
    parser.add_argument("--clients", type=int, default=8, help="requesters, one thread each (default 8)")
    parser.add_argument(
        "--agents", type=int, default=4, help="agent sessions, john and jane in turn (default 4)"
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument(
        "--worker-concurrency", type=int, default=1, help="Celery worker processes (default 1)"
    )
    parser.add_argument(
        "--think", type=float, default=1.0, help="scale the pauses between requests (default 1)"
    )
    parser.add_argument("--pool", type=int, default=24, help="recent tickets the agents work on (default 24)")
    parser.add_argument("--restart-at", type=float, default=1 / 3, help="when to restart, share of the run")
    parser.add_argument("--conn-max-age", type=int, default=0, help="DATABASE_CONN_MAX_AGE (default 0)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the load (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, records)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown file to write")
    parser.add_argument("--generate", help=argparse.SUPPRESS)  # the load generator's process
    args = parser.parse_args()
    if args.generate:
        generate(json.loads(args.generate))
        return 0
    if os.geteuid() != 0:
        parser.error("run as root: the throwaway cluster is run as the postgres user through runuser")

    # Bounded: setup, the load, the drain and the checks; past it everything is stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGALRM, _interrupt)
    signal.alarm(int(args.minutes * 60) + 900)
    load_before = load_average()
    stack = Stack(args)
    try:
        stack.start_postgres()
        stack.prepare_app()
        stack.start_worker()
        stack.start_web()
        records, restart, start, end = drive(stack, args)
        if not restart.down:
            raise RuntimeError("the run ended before PostgreSQL was restarted")
        say("load done; letting the worker drain its queue")
        drained = drain(stack)
        result = check(stack, records)
        text = report(args, stack, records, restart, (start, end), result, drained, load_before)
    finally:
        signal.alarm(0)
        # The clean-up is bounded on its own; a second Ctrl-C must not leave a cluster behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say("cleaning up")
        stack.close(keep=args.keep)
    print(text)
    (INVOKED_FROM / args.output).write_text(text, encoding="utf-8")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
