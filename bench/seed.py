"""Fill a PostgreSQL database with N tickets (default 1,000,000) for the console benchmark.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench DEBUG=1 \\
    HELPDESK_VAR_DIR=/tmp/benchvar .venv/bin/python bench/seed.py [N]

Migrates, loads the lab configuration (tickets.lab.load_configuration), adds 16 bench agents
and 10,000 requesters, then writes the tickets, their threads and their transitions with
``INSERT ... SELECT generate_series`` statements, and finishes with VACUUM ANALYZE.

Every run starts over: the tickets, thread entries, transitions and attachments of the
database are truncated first. The script refuses a database whose name has no "bench" in it.

From the command line it seeds the console's mix of states; ``seed(n, mix)`` takes another
``Mix`` (exact counts, the waiting tickets as the lifecycle timers leave them: bench/timers.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import django

# The code under test: this checkout, or the tree BENCH_SRC names (e.g. `git archive HEAD` unpacked).
ROOT = Path(os.environ.get("BENCH_SRC") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
# Celery puts the working directory first on sys.path when it loads: make that ROOT too.
INVOKED_FROM = Path.cwd()
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from tickets.lab import Lab, load_configuration  # noqa: E402
from tickets.models import (  # noqa: E402
    AgentProfile,
    HelpTopic,
    LifecycleTimers,
    Priority,
    Requester,
    SLAPlan,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_data import (  # noqa: E402
    BENCH_AGENTS,
    CLOSINGS,
    CONSOLE_MIX,
    DEFAULT_TICKETS,
    DETAILS,
    FINAL_TRANSITION,
    FIRST_NAMES,
    KAREN_EVERY,
    LAST_NAMES,
    MARGIN_DAYS,
    NOTES,
    OPENINGS,
    RARE_EVERY,
    RARE_WORD,
    REPLIES,
    REQUESTER_DOMAIN,
    REQUESTERS,
    SUBJECT_SUFFIXES,
    SUBJECTS,
    Mix,
)
from seed_sql import MESSAGES_SQL, REPLIES_SQL, TICKETS_SQL, TRANSITIONS_SQL  # noqa: E402


def log(message: str, since: float) -> None:
    print(f"  {message:<44} {time.perf_counter() - since:7.1f} s", flush=True)


def ensure_bench_database() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/seed.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to truncate tickets in {name!r}: the database name must contain 'bench'.")


def bench_agents(lab: Lab) -> dict[str, list[int]]:
    """The 16 extra agents (no password: they never sign in) and who may be assigned what."""
    users = get_user_model().objects
    role = Group.objects.get(name="Agent")
    departments = {"Support": lab.support, "SysAdmins": lab.sysadmins}
    pools: dict[str, list[int]] = {
        "Support": [lab.john.pk],
        "SysAdmins": [lab.jane.pk],
        "team": [lab.jane.pk],
    }
    for username, first, last, department, in_team in BENCH_AGENTS:
        user, created = users.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.com",
                "is_staff": True,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        profile.departments.add(departments[department])
        if in_team:
            profile.teams.add(lab.online_banking)
            pools["team"].append(user.pk)
        user.groups.add(role)
        pools[department].append(user.pk)
    return pools


BULK_TABLES = ("tickets_ticket", "tickets_threadentry", "tickets_tickettransition")


def drop_indexes_and_foreign_keys(cursor) -> list[str]:  # type: ignore[no-untyped-def]
    """Drop the secondary indexes and foreign keys of the bulk tables; return the SQL that
    recreates them (run in the same transaction, so a failure restores them all).

    Loading first and indexing after is several times faster than maintaining 20 indexes and
    queueing millions of deferred foreign-key checks row by row; re-adding a foreign key
    validates every row in one join. Primary keys and unique constraints stay.
    """
    tables = list(BULK_TABLES)
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index AS i
        WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
        """,
        [tables],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE contype = 'f' AND (conrelid = ANY(%s::regclass[]) OR confrelid = ANY(%s::regclass[]))
        """,
        [tables, tables],
    )
    foreign_keys = cursor.fetchall()
    for table, name, _ in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, definition in foreign_keys
    ]


def truncate(cursor) -> None:  # type: ignore[no-untyped-def]
    cursor.execute(
        "TRUNCATE tickets_attachment, tickets_threadentry, tickets_tickettransition, tickets_ticket "
        "RESTART IDENTITY"
    )
    cursor.execute("DELETE FROM tickets_requester WHERE email LIKE %s", [f"%@{REQUESTER_DOMAIN}"])


def insert_requesters(cursor) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """10,000 requesters without accounts; returns the first and last id."""
    cursor.execute(
        """
        INSERT INTO tickets_requester (email, name, phone, created_at, user_id, language, time_zone)
        SELECT lower(f || '.' || l || '.' || g || '@' || %(domain)s), f || ' ' || l, '', now(), NULL, '', ''
        FROM generate_series(1, %(n)s) AS g,
             LATERAL (SELECT (%(first)s::text[])[1 + g %% cardinality(%(first)s::text[])] AS f,
                             (%(last)s::text[])[1 + (g / cardinality(%(first)s::text[]))
                                                  %% cardinality(%(last)s::text[])] AS l) AS n
        RETURNING id
        """,
        {"domain": REQUESTER_DOMAIN, "n": REQUESTERS, "first": FIRST_NAMES, "last": LAST_NAMES},
    )
    ids = [row[0] for row in cursor.fetchall()]
    return min(ids), max(ids)


def waiting_params(mix: Mix) -> dict[str, Any]:
    timers = LifecycleTimers.load()
    days = {
        "remind_days": timers.remind_after_days,
        "expire_days": timers.expire_after_days,
        "close_days": timers.close_resolved_after_days,
    }
    if mix.waiting and (None in days.values() or min(days.values()) <= 2 * MARGIN_DAYS):
        sys.exit(f"The waiting profile needs every lifecycle timer set to over a day: {days}")
    return {**{key: value or 0 for key, value in days.items()}, "margin": MARGIN_DAYS}


def seed(n: int, mix: Mix = CONSOLE_MIX) -> None:
    started = time.perf_counter()
    ensure_bench_database()
    print(f"Seeding {n:,} tickets into {connection.settings_dict['NAME']}", flush=True)
    step = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    log("migrate", step)
    step = time.perf_counter()
    lab = load_configuration()
    pools = bench_agents(lab)
    log("lab configuration and 16 bench agents", step)

    priorities = {p.name: p.pk for p in Priority.objects.all()}
    slas = {p.name: p.pk for p in SLAPlan.objects.all()}
    karen = Requester.objects.get(user=lab.karen)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        step = time.perf_counter()
        recreate = drop_indexes_and_foreign_keys(cursor)
        truncate(cursor)
        first_requester, _ = insert_requesters(cursor)
        log(f"{REQUESTERS:,} requesters", step)

        step = time.perf_counter()
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            TICKETS_SQL,
            {
                "n": n,
                "support": lab.support.pk,
                "sysadmins": lab.sysadmins.pk,
                "team": lab.online_banking.pk,
                "support_agents": pools["Support"],
                "sysadmin_agents": pools["SysAdmins"],
                "team_agents": pools["team"],
                "subjects": SUBJECTS,
                "suffixes": SUBJECT_SUFFIXES,
                "topics": list(HelpTopic.objects.order_by("pk").values_list("pk", flat=True)),
                "low": priorities["Low"],
                "normal": priorities["Normal"],
                "high": priorities["High"],
                "emergency": priorities["Emergency"],
                "default_sla": slas["Default SLA"],
                "slas": [slas["Sev-A"], slas["Sev-B"], slas["Sev-C"]],
                "karen_every": KAREN_EVERY,
                "karen": karen.pk,
                "first_requester": first_requester,
                "requesters": REQUESTERS,
                **mix.params(n),
                **waiting_params(mix),
            },
        )
        log(f"{cursor.rowcount:,} tickets", step)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('tickets_ticket', 'id'), max(id)) FROM tickets_ticket"
        )

        step = time.perf_counter()
        cursor.execute(
            MESSAGES_SQL,
            {
                "openings": OPENINGS,
                "details": DETAILS,
                "more": [detail[0].upper() + detail[1:] for detail in DETAILS],
                "closings": CLOSINGS,
                "rare": RARE_WORD,
                "rare_every": RARE_EVERY,
            },
        )
        log(f"{cursor.rowcount:,} first messages", step)
        step = time.perf_counter()
        cursor.execute(REPLIES_SQL, {"replies": REPLIES, "notes": NOTES})
        log(f"{cursor.rowcount:,} replies and internal notes", step)

        step = time.perf_counter()
        cursor.execute(TRANSITIONS_SQL, {"final": json.dumps(FINAL_TRANSITION)})
        log(f"{cursor.rowcount:,} transitions", step)

        step = time.perf_counter()
        for statement in recreate:
            cursor.execute(statement)
        log(f"{len(recreate)} indexes and foreign keys recreated", step)
        step = time.perf_counter()
    log("commit", step)

    step = time.perf_counter()
    with connection.cursor() as cursor:
        for table in ("tickets_requester", *BULK_TABLES):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    log("VACUUM ANALYZE", step)
    print(f"Seeded {n:,} tickets in {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    seed(int(sys.argv[1].replace("_", "").replace(",", "")) if len(sys.argv) > 1 else DEFAULT_TICKETS)
