"""bench/load.py's check of the database and its Markdown report (bench/results-load.md)."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from load_client import Outcome

CREATIONS = {"API: create a ticket": "a", "Portal: open a ticket (GET + POST)": "p"}
MARKER_SQL = r"substring({column} from 'load-[a-z]-[0-9a-f]{{12}}')"


@dataclass
class Stored:
    """What the database holds for each marker: tickets (with their numbers) and first messages."""

    tickets: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, int] = field(default_factory=dict)


def read_stored(conn: Any) -> Stored:
    # The SQL is built from constants only (S608).
    stored = Stored()
    rows = conn.execute(
        f"SELECT {MARKER_SQL.format(column='subject')} AS m, array_agg(number) FROM tickets_ticket "  # noqa: S608
        "WHERE subject LIKE '%%load-%%' GROUP BY m"
    ).fetchall()
    stored.tickets = {m: [str(n) for n in numbers] for m, numbers in rows if m}
    rows = conn.execute(
        f"SELECT {MARKER_SQL.format(column='body')} AS m, count(*) FROM tickets_threadentry "  # noqa: S608
        "WHERE body LIKE '%%load-%%' GROUP BY m"
    ).fetchall()
    stored.messages = {m: count for m, count in rows if m}
    return stored


@dataclass
class Check:
    successes: int = 0
    once: int = 0  # one ticket with the number answered, one first message
    missing: int = 0
    doubled: int = 0
    wrong_number: int = 0
    stored_unanswered: int = 0  # a marker in the database that no success answered

    @property
    def failed(self) -> bool:
        return self.once != self.successes or self.stored_unanswered > 0


def check(outcome: Outcome, stored: Stored, answered: set[str]) -> Check:
    """``answered``: every marker any success of the run reported (all scenarios, warm-up too)."""
    result = Check(successes=len(outcome.created))
    for token, number in outcome.created.items():
        numbers = stored.tickets.get(token, [])
        if not numbers:
            result.missing += 1
        elif len(numbers) > 1 or stored.messages.get(token, 0) != 1:
            result.doubled += 1
        elif numbers[0] != number:
            result.wrong_number += 1
        else:
            result.once += 1
    letter = CREATIONS[outcome.name]
    result.stored_unanswered = sum(
        1 for token in stored.tickets if token.startswith(f"load-{letter}-") and token not in answered
    )
    return result


# -- the report -------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return "–" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def errors_text(outcome: Outcome) -> str:
    if not outcome.errors:
        return "0"
    listed = ", ".join(f"{count} × {label}" for label, count in outcome.errors.most_common())
    return f"**{sum(outcome.errors.values())}** ({listed})"


def check_text(result: Check | None) -> str:
    if result is None:
        return ""
    text = f"{result.once:,} of {result.successes:,}"
    problems = [
        f"{n} {what}"
        for n, what in (
            (result.missing, "missing"),
            (result.doubled, "doubled"),
            (result.wrong_number, "other number"),
            (result.stored_unanswered, "stored though not answered a success"),
        )
        if n
    ]
    return f"**{text}: {', '.join(problems)}**" if problems else text


def machine(load_before: tuple[float, ...]) -> list[str]:
    with open("/proc/cpuinfo") as info:
        names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
    cpu = names[0] if names else "?"
    load_after = os.getloadavg()
    try:
        server = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"],  # noqa: S607
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout.strip()  # fmt: skip
    except OSError:
        server = "?"
    import django

    return [
        f"- Machine: `nproc` {os.cpu_count()}, {cpu}; load average before "
        f"{' / '.join(f'{x:.2f}' for x in load_before)}, after {' / '.join(f'{x:.2f}' for x in load_after)} "
        "(1 / 5 / 15 min); the VM is shared with other sessions.",
        f"- Python {platform.python_version()}, Django {django.get_version()}, PostgreSQL {server or '?'} "
        "(the shared server on 127.0.0.1:5432), Redis on 127.0.0.1:6379.",
    ]


def report(
    args: Any,
    commit: str,
    outcomes: list[Outcome],
    checks: dict[int, Check],
    cpu: dict[int, dict[str, float]],
    queue: dict[str, Any],
    load_before: tuple[float, ...],
) -> str:
    lines = [
        "# Through gunicorn: bench/load.py",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M %Z')}, commit {commit}: "
        f"`{' '.join(['bench/load.py', *args.argv])}`.",
        "",
        *machine(load_before),
        f"- The stack: gunicorn `--workers {args.workers} --worker-class {args.worker_class}`"
        + (f" `--threads {args.threads}`" if args.worker_class == "gthread" else "")
        + f" on 127.0.0.1, `DEBUG=0`, `DATABASE_CONN_MAX_AGE={args.conn_max_age}`, no access log; a Celery "
        f"worker (`--concurrency {args.worker_concurrency}`) on `redis://127.0.0.1:6379/12`, the cache "
        "(throttle counters, API rate limits) on `redis://127.0.0.1:6379/13`; mail rendered by the worker "
        "into memory (`EMAIL_URL=locmem:`); guest, sign-in and API throttles raised to 1,000,000 (still "
        f"counted); the database `helpdesk_bench_load` seeded with {args.seed:,} tickets (`bench/seed.py`).",
        f"- The load: {args.seconds:g} s per scenario, each client one thread with one kept connection "
        "(stdlib `http.client`, in this script's process), requests back to back, no pauses. john's "
        "session (Agent, Support) for the floor and the queue, karen's (signed in to the portal) for her "
        "pages and the portal's form, an integration key (scope create) for the API, with an "
        "`Idempotency-Key` on each POST. A portal creation is the GET of the form and its POST; its "
        "time is the pair's.",
        "",
        "| Scenario | clients | operations | requests | per second | p50 ms | p95 ms | p99 ms | errors "
        "| in the database once | of the floor | gunicorn CPU ms per op | CPU s: gunicorn / worker / client "
        "| machine busy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|---:|",
    ]
    floors: dict[int, float] = {}
    for index, outcome in enumerate(outcomes):
        if outcome.name.startswith("Floor") and outcome.clients not in floors:
            floors[outcome.clients] = outcome.rate
        floor = floors.get(outcome.clients)
        share = f"{outcome.rate / floor:.2f}" if floor else "–"
        used = cpu.get(index, {})
        unit = "tickets" if outcome.name in CREATIONS else "req"
        lines.append(
            f"| {outcome.name} | {outcome.clients} | {outcome.operations:,} | {outcome.requests:,} "
            f"| {outcome.rate:.1f} {unit}/s | {ms(outcome.percentile(0.5))} | {ms(outcome.percentile(0.95))} "
            f"| {ms(outcome.percentile(0.99))} | {errors_text(outcome)} | {check_text(checks.get(index))} "
            f"| {share} | {1000 * used.get('gunicorn', 0) / max(1, outcome.operations):.1f} "
            f"| {used.get('gunicorn', 0):.1f} / {used.get('worker', 0):.1f} / {outcome.client_cpu:.1f} "
            f"| {used.get('machine', 0) / (os.cpu_count() or 1) / outcome.seconds:.0%} |"
        )
    lines += [
        "",
        "\"of the floor\" is the scenario's throughput over the floor view's (`/bench/floor/`: session, "
        "user, a ten-item template) at the same concurrency, measured first in the same run (the "
        "floor's second run, at the end, shows how much the machine drifted meanwhile). CPU seconds "
        f"are over the scenario's {args.seconds:g} s, of {os.cpu_count()} cores (gunicorn's master and "
        "workers, the Celery worker's processes, this script with its client threads); PostgreSQL's and "
        "Redis's are not counted. \"machine busy\" is every process's share of all cores meanwhile "
        "(`/proc/stat`), other sessions' included: the CPU time per operation is the steadier figure "
        "on a shared machine.",
        "",
        f"Celery: {queue['after_api']:,} tasks waiting (or taken, not yet acknowledged) after the API's "
        f"creations, {queue['after_portal']:,} after the portal's, {queue['at_end']:,} at the end of the "
        "scenarios. "
        + (
            f"The worker emptied the queue {queue['drain_seconds']:.1f} s after the last scenario."
            if queue["drained"]
            else f"**Not empty {queue['drain_seconds']:.0f} s after the last scenario: {queue['left']:,} "
            f"left** ({queue['drain_rate']:.1f} tasks/s meanwhile)."
        )
        + " Each ticket made queues one notification task, which renders the event's mails and"
        + " sends them over one connection (a refused one is retried alone, as a task of its own).",
        "",
    ]
    return "\n".join(lines)


def goals(outcomes: list[Outcome], checks: dict[int, Check]) -> list[str]:
    """The issue's goals at 8 clients, met or not."""
    targets = [
        ("API: create a ticket", 200.0),
        ("Portal: open a ticket (GET + POST)", 60.0),
        ("Console: queue unassigned (john)", 100.0),
    ]
    lines = ["| Goal at 8 clients | target | measured | met |", "|---|---:|---:|---|"]
    for name, target in targets:
        for index, outcome in enumerate(outcomes):
            if outcome.name == name and outcome.clients == 8:
                clean = not outcome.errors and not (checks.get(index) and checks[index].failed)
                met = outcome.rate >= target and clean
                lines.append(
                    f"| {name} | ≥ {target:g}/s, no error | {outcome.rate:.1f}/s, "
                    f"{sum(outcome.errors.values())} errors | {'yes' if met else '**no**'} |"
                )
    return [*lines, ""] if len(lines) > 2 else []
