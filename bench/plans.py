"""The query plans of the console's lists on a seeded database: which tables each reads whole.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench DEBUG=1 \\
    HELPDESK_VAR_DIR=/tmp/benchvar .venv/bin/python bench/plans.py

For john (an agent of Support) and jane (who sees every ticket) it builds the query of every
queue, every sort, page 40, and a search by number, e-mail address, a common word and a rare
one (recent first, and over every ticket), exactly as ``tickets.selectors`` builds them for a
page, and prints as JSON, for each, the tables its plan reads with a sequential scan
(``EXPLAIN (FORMAT JSON)``; nothing is run), after a control that must read the ticket table
whole. tests/test_plans.py seeds a database with bench/seed.py and requires that none of the
lists reads the ticket or thread table whole.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import django

ROOT = Path(os.environ.get("BENCH_SRC") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.exceptions import EmptyResultSet  # noqa: E402
from django.db import connection  # noqa: E402

from tickets import selectors  # noqa: E402
from tickets.models import Requester, Ticket  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_data import RARE_WORD, REQUESTER_DOMAIN, SUBJECT_WORD  # noqa: E402

PAGE = 25


def sequential_scans(plan: dict[str, Any]) -> list[str]:
    """The relations a plan (one node of EXPLAIN's JSON, with its children) scans whole."""
    found = [plan["Relation Name"]] if plan.get("Node Type") == "Seq Scan" else []
    for child in plan.get("Plans", []):
        found += sequential_scans(child)
    return found


def scans_of(tickets: Any, start: int = 0) -> list[str]:
    try:
        sql, params = tickets[start : start + PAGE + 1].query.sql_with_params()
    except EmptyResultSet:  # a queue that can hold nothing (john is in no team): no query at all
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return sequential_scans(plan[0]["Plan"])


def lists(user: Any) -> dict[str, tuple[Any, int]]:
    """Every list a console page shows this user: label → (queryset, first row)."""
    support = Ticket.objects.filter(department__name="Support")
    number = support.order_by("pk").values_list("number", flat=True)[0]
    email = (
        Requester.objects.filter(email__endswith=f"@{REQUESTER_DOMAIN}")
        .order_by("pk")
        .values_list("email", flat=True)[0]
    )
    window = selectors.search_window()
    found: dict[str, tuple[Any, int]] = {}
    for key in selectors.QUEUES:
        found[f"queue {key}"] = (selectors.ticket_queue(user, queue=key, related=False), 0)
    found["queue all, page 40"] = (selectors.ticket_queue(user, related=False), 39 * PAGE)
    for sort in selectors.SORTS:
        found[f"all, sort {sort}"] = (selectors.ticket_queue(user, sort=sort, related=False), 0)
    for what, text in {
        "number": number,
        "e-mail": email,
        "common word": SUBJECT_WORD,
        "rare word": RARE_WORD,
    }.items():
        for scope, start in (("recent", window), ("all tickets", None)):
            filters = selectors.QueueFilters(search=text, search_from=start)
            found[f"search {what} ({scope})"] = (
                selectors.ticket_queue(user, filters=filters, related=False),
                0,
            )
    return found


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/plans.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    users = get_user_model().objects
    # A control: a filter no index answers. It must show as a sequential scan of the ticket
    # table, or the data is too small for the plans above to mean anything.
    report = {"control: subject ends with": scans_of(Ticket.objects.filter(subject__endswith="x"))}
    for username in ("john", "jane"):
        for label, (tickets, start) in lists(users.get(username=username)).items():
            report[f"{username}: {label}"] = scans_of(tickets, start)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
