"""One run, one report: seed N tickets for each size, measure every page against the floor,
write docs/performance.md and bench/results-perf.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench DEBUG=1 \\
    HELPDESK_VAR_DIR=/tmp/benchvar .venv/bin/python bench/perf.py \\
        --sizes 10000,100000,1000000 [--runs 10] [--output docs/performance.md]

For each size in order: bench/seed.py fills the database (its name must contain "bench"),
then, in this process, with DEBUG off and the bench's URLconf (the floor view): the floor,
every page of bench/console.py, the API's reads, creation through the portal's form and the
API with tasks published to Redis, and the floor again. The markdown report has a table per
size, the machine, the gunicorn figures of bench/results-load.md when present and the goals.
BENCH_SRC names the code under test (a `git archive` unpacked), BENCH_COMMIT its commit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import console  # noqa: F401  (first: puts this checkout on sys.path and sets Django up)
import seed
from console import INVOKED_FROM, ROOT, measure
from django.test.utils import override_settings
from perf_measure import (
    Size,
    check_created,
    creation_pages,
    ensure_karens_ticket,
    floor_sample,
    measure_floor,
    read_pages,
    signed_in_clients,
)
from perf_report import load_average, markdown, run_info, show_load, size_counts, write_json

# DEBUG off (no query log while timing, templates as in production), the floor's URLconf,
# and limits high enough that the bench is never refused.
BENCH_SETTINGS = {
    "DEBUG": False,
    "ROOT_URLCONF": "benchurls",
    "ALLOWED_HOSTS": ["testserver"],
    "API_SESSION_RATE_LIMIT": 10**6,
    "THROTTLE_GUEST_TICKETS_PER_IP": (10**6, 3600),
    "THROTTLE_GUEST_TICKETS_PER_EMAIL": (10**6, 3600),
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
}


def parse_sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def commit() -> str:
    """BENCH_COMMIT when the code under test was unpacked with git archive, else git's answer."""
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    try:
        return subprocess.run(  # noqa: S603
            ["git", "describe", "--always", "--dirty"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(ROOT)


def progress(page: console.Page) -> None:
    print(
        f"  {page.who:<11} {page.label:<28} {page.status} {page.queries:>3} queries "
        f"median {page.median:8.1f} ms  p95 {page.p95:8.1f} ms",
        file=sys.stderr,
        flush=True,
    )


def measure_size(tickets: int, runs: int) -> Size:
    size = Size(tickets)
    step = time.perf_counter()
    seed.seed(tickets)
    size.seed_s = time.perf_counter() - step
    size.load_before = load_average()
    step = time.perf_counter()
    clients = signed_in_clients()
    with override_settings(**BENCH_SETTINGS):
        ensure_karens_ticket()
        size.counts = size_counts()
        size.floor_start = measure_floor(clients["john"], runs, "start")
        progress(size.floor_start)
        for page in read_pages():
            measure(page, clients[page.who], runs)
            size.pages.append(page)
            progress(page)
            floor_sample(size.floor_between, clients["john"])
        for page in creation_pages(clients["karen"], runs, size):
            size.pages.append(page)
            progress(page)
        progress(size.floor_between)
        size.floor_end = measure_floor(clients["john"], runs, "end")
        progress(size.floor_end)
    check_created(size)
    size.measure_s = time.perf_counter() - step
    size.load_after = load_average()
    print(
        f"{tickets:,} tickets: seeded in {size.seed_s:.0f} s, measured in {size.measure_s:.0f} s, "
        f"floor {size.floor_median:.1f} ms, load {show_load(size.load_before)} -> "
        f"{show_load(size.load_after)}",
        file=sys.stderr,
        flush=True,
    )
    return size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="tickets per size, in order")
    parser.add_argument("--runs", type=int, default=10, help="timed requests per page (default 10)")
    parser.add_argument("--output", type=Path, default=Path("docs/performance.md"), help="the report")
    # Relative to where the command runs, also when the code under test is a copy (BENCH_SRC).
    parser.add_argument("--json", type=Path, default=Path("bench/results-perf.json"), help="the raw figures")
    parser.add_argument(
        "--load-results",
        type=Path,
        default=Path("bench/results-load.md"),
        help="bench/load.py's figures, included when the file exists",
    )
    args = parser.parse_args()
    output, raw, load_results = (INVOKED_FROM / path for path in (args.output, args.json, args.load_results))
    sizes = parse_sizes(args.sizes)
    seed.ensure_bench_database()
    if not sizes or args.runs < 1:
        sys.exit("Give at least one size and --runs of at least 1.")

    load_before = load_average()
    started = time.perf_counter()
    measured = [measure_size(tickets, args.runs) for tickets in sizes]
    run = {**run_info(args.runs, load_before, started), "commit": commit()}
    write_json(raw, run, measured)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown(run, measured, load_results), encoding="utf-8")
    print(f"Wrote {output} and {raw} in {run['total_s']:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
