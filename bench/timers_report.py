"""The report of bench/timers.py: the queries grouped by shape, the plans summed up, the
Markdown tables and sections.

Imported by bench/timers.py once Django is set up."""

from __future__ import annotations

import os
import platform
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import celery
import django
from django.db import connection
from timers_data import ACTIVE, ESCALATE_TO, ESCALATING_PLANS, Dataset

if TYPE_CHECKING:
    from timers_run import FirstRun, Mark, SteadyState


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


def batch_table(runs: list[FirstRun]) -> list[str]:
    lines = [
        "| Mode | Batches | Tickets per batch (median) | Escalated / refused | Median ms per batch "
        "| p95 ms per batch | Mean ms per ticket | Queries per batch (median) |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    captured = {run.mode: run for run in runs if run.captured}

    def batches(run: FirstRun) -> dict[int, list[Mark]]:
        grouped: dict[int, list[Mark]] = {}
        for mark in run.marks:
            grouped.setdefault(mark.part, []).append(mark)
        return grouped

    for run in runs:
        if run.captured or not run.marks:
            continue
        grouped = batches(run)
        spans = [sum(mark.seconds for mark in marks) for marks in grouped.values()]
        outcomes = Counter(mark.outcome for mark in run.marks)
        counted = (
            [sum(mark.queries for mark in marks) for marks in batches(captured[run.mode]).values()]
            if run.mode in captured
            else []
        )
        queries = f"{statistics.median(counted):.0f}" if counted else ""
        lines.append(
            f"| {run.mode} | {len(grouped):,} | {statistics.median([len(m) for m in grouped.values()]):.0f} "
            f"| {outcomes['escalated']:,} / {outcomes['refused']:,} | {ms(statistics.median(spans))} "
            f"| {ms(p95(spans))} | {ms(sum(spans) / len(run.marks))} | {queries} |"
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
        "Per batch (`jobs.CHUNK` tickets locked and marked in one transaction by "
        "`services.tickets_mark_overdue`): the time from one batch's call to the next in the SLA "
        "watch's pass (or to its end): the marks, the entries, the escalations (one by one, through "
        "the state machine), the commit and what runs on commit (enqueueing, or rendering and "
        "sending the mail), and the next batch's lock.",
        "",
        *batch_table(runs),
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
