"""Time the agent console and the requester portal against the database bench/seed.py filled.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench DEBUG=1 \\
    HELPDESK_VAR_DIR=/tmp/benchvar .venv/bin/python bench/console.py [--runs 10]

Each page is requested in-process with django.test.Client (signed in with force_login):
one warm-up request, one request under CaptureQueriesContext (for the query count, the SQL
time and the slowest query), then ``--runs`` timed requests with nothing recording queries
(DEBUG is switched off for the whole run, so Django keeps no query log). Writes a markdown
table to stdout and to bench/results.md, followed by the EXPLAIN ANALYZE of the slowest
query of the three slowest pages.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import django

# The code under test: this checkout, or the tree BENCH_SRC names (e.g. `git archive HEAD` unpacked).
ROOT = Path(os.environ.get("BENCH_SRC") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
if os.environ.get("BENCH_SRC"):
    # The editable install's finder maps our packages to the checkout: a module the copy lacks
    # (new in the working tree) would be loaded from there. Only the copy may answer.
    sys.meta_path[:] = [
        finder for finder in sys.meta_path if not getattr(finder, "__module__", "").startswith("__editable__")
    ]
# Celery puts the working directory first on sys.path when it loads: make that ROOT too.
INVOKED_FROM = Path.cwd()
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

from tickets import selectors  # noqa: E402
from tickets.models import ACTIVE_STATES, Requester, ThreadEntry, Ticket  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_data import RARE_WORD, REQUESTER_DOMAIN, SUBJECT_WORD  # noqa: E402

# WhiteNoise warns once per process that STATIC_ROOT was never collected; pages need no files.
warnings.filterwarnings("ignore", message="No directory at")

RESULTS = Path(__file__).resolve().parent / "results.md"
SLOW_MS = 300
ROW_MARKERS = {
    "agent": re.compile(r'name="tickets" value="\d+"'),
    "portal": re.compile(r"list-group-item list-group-item-action"),
}


@dataclass
class Page:
    label: str
    who: str
    url: str
    kind: str = "agent"
    status: int = 0
    rows: int | None = None
    queries: int = 0
    sql_ms: float = 0.0
    slowest_sql: str = ""
    slowest_sql_ms: float = 0.0
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        if len(self.times) < 2:
            return self.times[0]
        return statistics.quantiles(self.times, n=20, method="inclusive")[18]


def queue_url(key: str, **params: object) -> str:
    url = f"/agents/queues/{key}/"
    return f"{url}?{urlencode(params)}" if params else url


def pick_samples() -> dict[str, str]:
    """Search terms and tickets that exist in the seeded data, visible to john (Support)."""
    support = Ticket.objects.filter(department__name="Support")
    middle = support.filter(pk__gte=Ticket.objects.order_by("-pk").values_list("pk", flat=True)[0] // 2)
    number = middle.order_by("pk").values_list("number", flat=True)[0]
    requester = (
        Requester.objects.filter(email__endswith=f"@{REQUESTER_DOMAIN}", tickets__in=support)
        .order_by("pk")
        .values_list("email", flat=True)[0]
    )
    # A working ticket with a reply and a note: the fullest workspace page.
    worked = (
        support.filter(state__in=ACTIVE_STATES, assignee__username="john")
        .filter(pk__in=ThreadEntry.objects.filter(kind="note").values("ticket_id"))
        .order_by("-last_activity_at")
        .values_list("number", flat=True)
    )
    workspace = (
        worked[0] if worked else support.order_by("-last_activity_at").values_list("number", flat=True)[0]
    )
    karens = Ticket.objects.filter(requester__user__username="karen@example.com").order_by(
        "-last_activity_at"
    )
    return {
        "number": number,
        "email": requester,
        "workspace": workspace,
        "karen_ticket": karens.values_list("number", flat=True)[0],
    }


def build_pages(samples: dict[str, str]) -> list[Page]:
    pages: list[Page] = []
    for who in ("john", "jane"):
        for key in selectors.QUEUES:
            pages.append(Page(f"queue {key}", who, queue_url(key)))
        pages.append(Page("queue all, page 40", who, queue_url("all", page=40)))
        searches = {
            "number": samples["number"],
            "subject word": SUBJECT_WORD,
            "rare body word": RARE_WORD,
            "requester e-mail": samples["email"],
        }
        for what, text in searches.items():
            pages.append(Page(f"search {what}", who, queue_url("all", q=text)))
        for key in selectors.SORTS:
            pages.append(Page(f"all, sort {key}", who, queue_url("all", sort=key)))
        pages.append(Page("ticket workspace", who, f"/agents/tickets/{samples['workspace']}/", kind="page"))
        pages.append(Page("console home", who, "/agents/"))
    pages.append(Page("portal my tickets", "karen", "/tickets/", kind="portal"))
    pages.append(Page("portal ticket", "karen", f"/tickets/{samples['karen_ticket']}/", kind="page"))
    return pages


def count_rows(kind: str, response: HttpResponse) -> int | None:
    """Tickets listed: the console's checkboxes, the portal's list items, an API page's results."""
    if response.status_code != 200:
        return None
    if kind == "api":
        return len(response.json().get("results", []))
    if kind in ROW_MARKERS:
        return len(ROW_MARKERS[kind].findall(response.content.decode()))
    return None


def measure(page: Page, client: Client, runs: int) -> None:
    response = client.get(page.url)  # warm-up: caches, connection, first plan
    page.status = response.status_code
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page.url)
    page.queries = len(captured.captured_queries)
    timed = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    page.sql_ms = sum(ms for ms, _ in timed)
    if timed:
        page.slowest_sql_ms, page.slowest_sql = max(timed, key=lambda item: item[0])
    page.rows = count_rows(page.kind, response)
    for _ in range(runs):
        started = time.perf_counter()
        client.get(page.url)
        page.times.append((time.perf_counter() - started) * 1000)


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def environment() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM tickets_threadentry")
        entries = cursor.fetchone()[0]
    tickets = Ticket.objects.count()
    active = Ticket.objects.filter(state__in=ACTIVE_STATES).count()
    return [
        f"- Tickets: {tickets:,} ({active:,} active), thread entries: {entries:,}, "
        f"requesters: {Requester.objects.count():,}",
        f"- PostgreSQL {version} (shared_buffers {buffers}), database size {size}",
        f"- {os.cpu_count()} CPU cores, Python {platform.python_version()}, Django {django.get_version()}",
    ]


def load_after() -> str:
    return " / ".join(f"{load:.1f}" for load in os.getloadavg())


def ticket_indexes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tickets_ticket' ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


def table(pages: list[Page], runs: int) -> list[str]:
    lines = [
        f"| Page | User | URL | Status | Rows | Queries | SQL ms | Slowest query ms "
        f"| Median ms | p95 ms ({runs} runs) |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for page in pages:
        flag = " ⚠" if page.median > SLOW_MS else ""
        rows = "" if page.rows is None else str(page.rows)
        lines.append(
            f"| {page.label} | {page.who} | `{page.url}` | {page.status} | {rows} | {page.queries} "
            f"| {page.sql_ms:.0f} | {page.slowest_sql_ms:.0f} | {page.median:.0f}{flag} | {page.p95:.0f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="timed requests per page (default 10)")
    parser.add_argument("--only", default="", help="only pages whose label contains this text")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown file to write")
    args = parser.parse_args()
    args.output = INVOKED_FROM / args.output
    if connection.vendor != "postgresql":
        sys.exit("bench/console.py needs PostgreSQL: set DATABASE_URL=postgres://...")

    users = get_user_model().objects
    clients = {}
    for username in ("john", "jane", "karen@example.com"):
        client = Client()
        client.force_login(users.get(username=username))
        clients[username.split("@")[0]] = client

    load_before = load_after()
    started = time.perf_counter()
    pages = [page for page in build_pages(pick_samples()) if args.only in page.label]
    # DEBUG off: no query log on the timed requests, and templates rendered as in production.
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"]):
        for page in pages:
            measure(page, clients[page.who], args.runs)
            print(
                f"  {page.who:<5} {page.label:<22} {page.status} {page.queries:>3} queries "
                f"median {page.median:8.1f} ms  p95 {page.p95:8.1f} ms",
                file=sys.stderr,
                flush=True,
            )

    lines = [
        "# Console and portal at scale",
        "",
        f"Measured by `bench/console.py` on {time.strftime('%Y-%m-%d %H:%M %Z')}:",
        "",
        *environment(),
        f"- Code under test: {ROOT}; load average before the run {load_before}, after {load_after()}",
        f"- Indexes on tickets_ticket: {', '.join(ticket_indexes())}",
        "",
        "Rows: tickets listed on the page. Queries, SQL ms and slowest query ms: one request "
        "under CaptureQueriesContext. Median and p95: the whole request through "
        f"django.test.Client (middleware, view, queries, template), DEBUG off. ⚠ marks a median "
        f"above {SLOW_MS} ms.",
        "",
        *table(pages, args.runs),
        "",
        "## Slowest queries",
        "",
        "The slowest query of the three slowest pages, with its plan (EXPLAIN ANALYZE, BUFFERS).",
    ]
    for page in sorted(pages, key=lambda p: p.median, reverse=True)[:3]:
        lines += [
            "",
            f"### {page.label} ({page.who}): median {page.median:.0f} ms, "
            f"slowest query {page.slowest_sql_ms:.0f} ms of {page.queries}",
            "",
            "```sql",
            page.slowest_sql,
            "```",
            "",
            "```text",
            explain(page.slowest_sql) if page.slowest_sql else "(no query)",
            "```",
        ]
    lines += ["", f"Benchmark run time: {time.perf_counter() - started:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
