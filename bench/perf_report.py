"""The report of bench/perf.py: docs/performance.md and the raw figures as JSON."""

from __future__ import annotations

import json
import os
import platform
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import django
from console import Page
from django.db import connection
from perf_measure import BROKER_URL, MAX_QUERIES, MAX_RATIO, Size

from tickets.models import ACTIVE_STATES, Ticket


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def show_load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text() if cpuinfo.exists() else ""
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match[1].strip() if match else platform.machine()


def machine() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"MemTotal:\s+(\d+) kB", meminfo.read_text())
        memory = f"{int(match[1]) / 1024**2:.1f} GB" if match else ""
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "memory": memory,
        "postgresql": version,
        "shared_buffers": buffers,
        "jit": jit,
        "python": platform.python_version(),
        "django": django.get_version(),
    }


def size_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM tickets_ticket), (SELECT count(*) FROM tickets_threadentry), "
            "pg_database_size(current_database())"
        )
        tickets, entries, size = cursor.fetchone()
    active = Ticket.objects.filter(state__in=ACTIVE_STATES).count()
    return {"tickets": tickets, "active": active, "entries": entries, "database_bytes": size}


def page_json(size: Size, page: Page) -> dict[str, Any]:
    return {
        "label": page.label,
        "who": page.who,
        "url": page.url,
        "status": page.status,
        "rows": page.rows,
        "queries": page.queries,
        "sql_ms": round(page.sql_ms, 2),
        "median_ms": round(page.median, 2),
        "p95_ms": round(page.p95, 2),
        "ratio": round(size.ratio(page), 2),
        "times_ms": [round(t, 2) for t in page.times],
    }


def write_json(path: Path, run: dict[str, Any], sizes: list[Size]) -> None:
    data = {
        **run,
        "sizes": [
            {
                "tickets": size.tickets,
                "seed_s": round(size.seed_s, 1),
                "measure_s": round(size.measure_s, 1),
                "load_before": size.load_before,
                "load_after": size.load_after,
                "counts": size.counts,
                "floor_median_ms": round(size.floor_median, 2),
                "tasks_queued": size.tasks_queued,
                "created": {label: size.found_once[label] for label in set(size.created.values())},
                "refused": [[label, status, n] for (label, status), n in size.refused.items()],
                "pages": [page_json(size, page) for page in all_pages(size)],
            }
            for size in sizes
        ],
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def all_pages(size: Size) -> list[Page]:
    return size.floors + size.pages


def size_table(size: Size) -> list[str]:
    counts = size.counts
    lines = [
        f"### {size.tickets:,} tickets",
        "",
        f"{counts['tickets']:,} tickets ({counts['active']:,} active), {counts['entries']:,} thread "
        f"entries, database {counts['database_bytes'] / 1024**2:,.0f} MB. Seeded in {size.seed_s:.0f} s, "
        f"measured in {size.measure_s:.0f} s; load average {show_load(size.load_before)} before, "
        f"{show_load(size.load_after)} after. Floor median {size.floor_median:.1f} ms "
        f"({', '.join(f'{floor.label[7:-1]} {floor.median:.1f}' for floor in size.floors)}). "
        f"Creation queued {size.tasks_queued} tasks to Redis.",
        "",
        "| Page | Who | Status | Rows | Queries | Median ms | p95 ms | × floor |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for page in all_pages(size):
        rows = "" if page.rows is None else str(page.rows)
        ratio = f"{size.ratio(page):.1f}"
        queries = str(page.queries)
        if size.ratio(page) > MAX_RATIO:
            ratio = f"**{ratio}** ⚠"
        if page.queries > MAX_QUERIES:
            queries = f"**{queries}** ⚠"
        lines.append(
            f"| {page.label} | {page.who} | {page.status} | {rows} | {queries} "
            f"| {page.median:.1f} | {page.p95:.1f} | {ratio} |"
        )
    return [*lines, "", *creation_check(size)]


def creation_check(size: Size) -> list[str]:
    """Each creation page: its answers, and its tickets found in the database once."""
    lines = []
    for page in size.pages:
        if page.kind != "create":
            continue
        made = sum(1 for label in size.created.values() if label == page.label)
        refused = {status: n for (label, status), n in size.refused.items() if label == page.label}
        others = ", ".join(f"{n} answered {status}" for status, n in refused.items())
        lines.append(
            f"- {page.label}: {made} of {made + sum(refused.values())} answered {page.status}"
            f"{' (' + others + ')' if others else ''}; in the database once: "
            f"{size.found_once[page.label]} of {made}."
        )
    return lines


def goals(sizes: list[Size]) -> list[str]:
    lines = [
        "## Goals",
        "",
        f"Every page at most {MAX_RATIO}× the floor at the median and at most {MAX_QUERIES} queries, "
        "with the same number of queries at every size.",
        "",
    ]
    for size in sizes:
        slow = grouped((p, f"{size.ratio(p):.1f}×") for p in size.pages if size.ratio(p) > MAX_RATIO)
        many = grouped((p, str(p.queries)) for p in size.pages if p.queries > MAX_QUERIES)
        failed = grouped((p, str(p.status)) for p in size.pages if p.status not in (200, 201, 302))
        lines.append(
            f"- {size.tickets:,} tickets, {len(size.pages)} pages. Above {MAX_RATIO}× the floor: "
            f"{slow or 'none'}. Above {MAX_QUERIES} queries: {many or 'none'}."
            + (f" Failed: {failed}." if failed else "")
        )
        if size.refused or len(size.created) != sum(size.found_once.values()):
            lines.append(f"  Creation: {' '.join(creation_check(size))}")
    if len(sizes) > 1:
        by_page: dict[tuple[str, str], list[int]] = {}
        for size in sizes:
            for page in size.pages:
                by_page.setdefault((page.label, page.who), []).append(page.queries)
        differ = [
            f"{label} ({who}: {' / '.join(map(str, counts))})"
            for (label, who), counts in by_page.items()
            if len(set(counts)) > 1
        ]
        sizes_text = " / ".join(f"{size.tickets:,}" for size in sizes)
        lines.append(
            f"- Query counts that differ between sizes ({sizes_text}): "
            + ("; ".join(differ) if differ else "none")
            + "."
            + (
                " The pages differ in their data too (another sample ticket, fewer results): a "
                "prefetch that finds no ids makes no query, so one or two fewer can be the data."
                if differ
                else ""
            )
        )
    return lines


def grouped(found: Iterable[tuple[Page, str]]) -> str:
    """One entry per page, its people together: "queue all (john 15.0×, jane 16.5×); …"."""
    by_label: dict[str, list[str]] = {}
    for page, figure in found:
        by_label.setdefault(page.label, []).append(f"{page.who} {figure}")
    return "; ".join(f"{label} ({', '.join(figures)})" for label, figures in by_label.items())


def gunicorn_section(load_results: Path) -> list[str]:
    lines = ["## Through gunicorn", ""]
    if not load_results.exists():
        return [*lines, "Not measured in this run: see `bench/load.py`."]
    text = load_results.read_text(encoding="utf-8").strip()
    return [*lines, "From `bench/results-load.md` (`bench/load.py`):", "", *demoted(text.splitlines())]


def included_section(results: Path, script: str) -> list[str]:
    """A results file of another bench script, as a section of this report (its title a
    section's, its headings under it)."""
    if not results.exists():
        return []
    lines = results.read_text(encoding="utf-8").strip().splitlines()
    title = lines[0].lstrip("# ") if lines and lines[0].startswith("# ") else results.name
    body = demoted(lines[1:] if lines and lines[0].startswith("# ") else lines)
    return [f"## {title}", "", f"From `bench/{results.name}` (`{script}`):", *body]


def timers_section(timer_results: Path) -> list[str]:
    """The periodic job's first run after 1,000 tickets went overdue, per dataset, from
    ``bench/results-timers.md`` (``bench/timers.py``, a run of its own)."""
    lines = ["## The periodic job (SLA watch)", ""]
    if not timer_results.exists():
        return [*lines, "Not measured: see `bench/timers.py`."]
    text = timer_results.read_text(encoding="utf-8").splitlines()
    measured = next(
        (line.split(" on ", 1)[-1].rstrip(":") for line in text if line.startswith("Measured by")), "?"
    )
    lines += [
        f"From `bench/results-timers.md` (`bench/timers.py`, run on {measured}): the first run of "
        "`jobs.run_timers()` with 1,000 overdue tickets to mark, on a fresh copy of each dataset "
        "(queued: tasks published to a broker, as in production; inline: mail rendered and sent in "
        "the job's process). Goal: at most 2 s queued.",
        "",
    ]
    for dataset, table in _first_run_tables(text):
        lines += [f"### {dataset}", "", *table, ""]
    return lines


def _first_run_tables(text: list[str]) -> list[tuple[str, list[str]]]:
    """(dataset heading, the first table under its "First run" heading) for each dataset."""
    found: list[tuple[str, list[str]]] = []
    dataset, table, state = "", [], "looking"
    for line in text:
        if line.startswith("## "):
            dataset, state = line[3:], "looking"
        elif line.startswith("### First run"):
            table, state = [], "before table"
        elif state in ("before table", "in table") and line.startswith("|"):
            table.append(line)
            state = "in table"
        elif state == "in table":
            found.append((dataset, table))
            state = "looking"
    return found


def demoted(lines: list[str]) -> list[str]:
    """Headings two levels down, to sit under this report's section; code blocks left alone."""
    out, fenced = [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#+ ", line):
            hashes = len(line) - len(line.lstrip("#"))
            line = "#" * min(hashes + 2, 6) + line[hashes:]
        out.append(line)
    return out


def markdown(run: dict[str, Any], sizes: list[Size], load_results: Path) -> str:
    env = run["machine"]
    sizes_text = ", ".join(f"{size.tickets:,}" for size in sizes)
    lines = [
        "# Performance",
        "",
        f"Measured by `bench/perf.py --sizes {','.join(str(s.tickets) for s in sizes)} "
        f"--runs {run['runs']}` on {run['date']}, in one run of {duration(run['total_s'])}, "
        f"for {sizes_text} tickets; code at {run['commit']}.",
        "",
        "## Method",
        "",
        "For each size, `bench/seed.py` fills the PostgreSQL database anew (see `bench/README.md` for "
        "the mix of states, departments, threads and requesters), then every page is requested in the "
        "same process with `django.test.Client`, signed in with `force_login`, `DEBUG` off "
        "(`override_settings`, so no query log is kept while timing) and the bench's URLconf "
        "(`bench/benchurls.py`). Times are the whole request (middleware, view, queries, template "
        "rendering) without a network or WSGI server: see the gunicorn section for those.",
        "",
        f"Each page gets one warm-up request, one request under `CaptureQueriesContext` (its queries) "
        f"and {run['runs']} timed requests (median and p95). Rows are the tickets the page lists.",
        "",
        "The floor is `/bench/floor/`, a view of the bench's own URLconf (never the product's): a "
        "signed-in page that loads the session and the user (2 queries) and renders ten items. It is "
        "measured at the start and at the end of each size, and requested once more after each page "
        '(timed, "between pages"); "× floor" divides a page\'s median by the median of all floor '
        "requests of that size, so that a machine busier at one moment than another slows both alike.",
        "",
        "The pages: for john (an agent of Support) and jane (Supreme Admin: sees every ticket) every "
        'queue, page 40 of "all", four searches (a ticket number, a common subject word, a rare word '
        "of the thread, a requester's e-mail), every sort, a ticket workspace and the console home; "
        'karen\'s portal list, one of her tickets and her "open a ticket" form (below 20,000 tickets '
        "the seed gives her no ticket, "
        "so one is opened for her first); the API's list, a search and a ticket (john's session).",
        "",
        "Creation is measured with a broker, as in production: Celery's `task_always_eager` off and "
        f"the tasks (mail, webhooks) published to Redis (`{BROKER_URL}`, emptied afterwards, no "
        "worker), so a request pays for queueing its mail, not for sending it. Karen posts the "
        "portal's \"open a ticket\" form (302), an integration's key (scope create) posts "
        "`/api/v1/tickets/` (201); each request has a subject of its own, and every one is checked "
        "to be in the database once. The API's rate limits are raised for the run.",
        "",
        "## The machine",
        "",
        f"- `nproc`: {env['nproc']} ({env['cpu']}), memory {env['memory']}",
        f"- PostgreSQL {env['postgresql']}, shared_buffers {env['shared_buffers']}, jit {env['jit']}",
        f"- Python {env['python']}, Django {env['django']}",
        f"- Load average (1 / 5 / 15 min) before the run {show_load(run['load_before'])}, after "
        f"{show_load(run['load_after'])}; before and after each size in its section. The machine is "
        "shared with other sessions' work, so times vary between runs with the load; the ratios "
        "to the floor, measured alongside, vary less.",
        "",
        "## Figures",
        "",
        f"Median and p95 in milliseconds ({run['runs']} timed requests); ⚠ marks a page above "
        f"{MAX_RATIO}× the floor or {MAX_QUERIES} queries.",
    ]
    for size in sizes:
        lines += ["", *size_table(size)]
    timers = timers_section(load_results.with_name("results-timers.md"))
    reports = included_section(load_results.with_name("results-reports.md"), "bench/reports.py")
    incident = included_section(load_results.with_name("results-incident.md"), "bench/incident.py")
    lines += ["", *gunicorn_section(load_results), "", *timers, "", *reports, "", *incident]
    lines += ["", *goals(sizes)]
    return "\n".join(lines) + "\n"


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} minutes"


def run_info(runs: int, load_before: tuple[float, float, float], started: float) -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "runs": runs,
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_average(),
        "total_s": round(time.perf_counter() - started, 1),
    }
