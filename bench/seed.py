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
from dataclasses import dataclass
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

DEFAULT_TICKETS = 1_000_000
REQUESTERS = 10_000
REQUESTER_DOMAIN = "bench.example.org"
# One ticket in KAREN_EVERY is karen@example.com's: about 50 at a million tickets.
KAREN_EVERY = 20_000
# A word found in the first message of one ticket in RARE_EVERY (20 at a million tickets).
RARE_WORD = "zanzibarite"
RARE_EVERY = 50_000
# A subject word the console benchmark searches for (one of the subjects below).
SUBJECT_WORD = "printer"

# (username, first name, last name, department, in the Online Banking team)
BENCH_AGENTS = [
    *[(f"agent{i:02d}", "Support", f"Agent {i:02d}", "Support", False) for i in range(1, 13)],
    *[(f"agent{i:02d}", "SysAdmin", f"Agent {i:02d}", "SysAdmins", i >= 15) for i in range(13, 17)],
]

FIRST_NAMES = [
    "Alice",
    "Bob",
    "Carla",
    "David",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wim",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Anna",
    "Ben",
    "Chloe",
    "Dario",
    "Elif",
    "Finn",
    "Greta",
    "Hannah",
    "Ivan",
    "Julia",
    "Karl",
    "Lena",
    "Marco",
    "Nina",
]
LAST_NAMES = [
    "Smith",
    "Jones",
    "Müller",
    "Rossi",
    "Dubois",
    "García",
    "Novak",
    "Kowalski",
    "Jensen",
    "Silva",
    "Costa",
    "Ivanova",
    "Nagy",
    "Horvat",
    "Berg",
    "Fischer",
    "Weber",
    "Moreau",
    "Lopez",
    "Martin",
    "Bianchi",
    "Romano",
    "Larsen",
    "Nielsen",
    "Hansen",
    "Olsen",
    "Popescu",
    "Petrov",
    "Kaya",
    "Demir",
    "Yilmaz",
    "Santos",
    "Pereira",
    "Ferreira",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
]

SUBJECTS = [
    "Printer on the third floor jams on every job",
    "Cannot reset my password",
    "Outlook keeps asking for my password",
    "VPN disconnects every few minutes",
    "New laptop for a new hire",
    "Second monitor flickers",
    "Mobile banking app logs me out after a transfer",
    "Online banking login page does not load",
    "Request access to the finance share",
    "Wi-Fi is very slow in the meeting rooms",
    "Laptop battery drains within an hour",
    "Teams calls drop after a minute",
    "Keyboard missing keys",
    "Excel crashes when opening large files",
    "Phone extension does not ring",
    "Need a licence for the design software",
    "Account locked after holiday",
    "Cannot print to the colour printer",
    "Shared calendar not syncing",
    "Scanner sends empty PDFs",
    "Card payment declined in the app",
    "Two-factor codes never arrive by SMS",
    "Disk almost full on my workstation",
    "Browser shows a certificate warning on the intranet",
    "Webcam not detected",
    "Invoice portal returns an error",
    "Request a new mobile phone",
    "Mailbox is full",
    "Software update stuck at 99 percent",
    "Docking station does not charge the laptop",
    "Access badge stopped working",
    "Transfer to a foreign account is pending for days",
    "File server is very slow",
    "Statement download is empty",
    "Cannot join the guest Wi-Fi",
    "Projector in room 4 shows no signal",
    "Spam e-mails from an unknown sender",
    "Password expiry e-mail looks suspicious",
    "Remote desktop connection refused",
    "Headset microphone too quiet",
]
SUBJECT_SUFFIXES = [
    "",
    "",
    "",
    " again",
    " since Monday",
    " (urgent)",
    " for the sales team",
    " after the update",
    " in the Berlin office",
    " - please help",
    " on my home office setup",
    " since this morning",
]
OPENINGS = [
    "Hello,",
    "Hi team,",
    "Good morning,",
    "Dear support,",
    "Hi,",
    "Hello IT,",
    "Good afternoon,",
    "To whom it may concern,",
]
DETAILS = [
    "since yesterday the problem happens every time I try.",
    "it started after the last update and nothing I tried helps.",
    "my colleagues in accounting see the same thing.",
    "I restarted the computer twice but the error stays.",
    "the screen shows an error message and then closes.",
    "it works at home but not in the office.",
    "this blocks me from finishing the monthly report.",
    "the customer is waiting and it is getting urgent.",
    "I attached nothing because the upload fails too.",
    "it happens only in the afternoon, the morning is fine.",
    "the app freezes for a minute and then signs me out.",
    "I cleared the browser cache and cookies already.",
    "the same request worked last week without problems.",
    "our branch manager asked me to report it here.",
    "I need this before the audit on Friday.",
    "the error code changes each time I retry.",
]
CLOSINGS = [
    "Thank you.",
    "Thanks in advance.",
    "Best regards.",
    "Kind regards.",
    "Many thanks for your help.",
    "Please call me back.",
    "Cheers.",
    "Regards.",
]
REPLIES = [
    "Thanks for the details, we are looking into it.",
    "Could you send a screenshot of the error?",
    "We applied a fix on our side; please try again.",
    "A technician will come by this afternoon.",
    "We reset the account; please sign in again.",
    "The update is rolled back; it should work now.",
]
NOTES = [
    "Same issue as last week; check the gateway logs.",
    "Known bug, vendor ticket open.",
    "Asked the network team for the switch logs.",
    "Probably a stale credential after the password change.",
]
STATES = ("closed", "open", "assigned", "awaiting_user", "in_progress", "escalated", "resolved")


@dataclass(frozen=True)
class Mix:
    """How ``seed`` spreads the tickets over the states, and which of them are overdue.

    ``shares``: the share of the tickets in each of ``STATES``, in that order (summing to 1).
    Each ticket draws its state at random, and an active one is overdue with the probability
    ``overdue``; with ``exact``, ticket g of n takes the state its position g/n falls in and
    every (1 / ``overdue``)th active ticket is overdue, so the counts are exact (for shares
    that are whole hundreds of tickets).

    ``waiting``: the awaiting-user and resolved tickets as the lifecycle timers
    (``tickets.sla.jobs.state_timers``, with the delays of ``LifecycleTimers``) would have left
    them, each at least ``MARGIN_DAYS`` short of its next timer: the job has nothing to do on
    them for that long. Otherwise their last move is spread over 60 days like the other
    active tickets', and none was reminded.
    """

    shares: tuple[float, ...] = (0.85, 0.05, 0.03, 0.02, 0.03, 0.01, 0.01)
    overdue: float = 0.01
    exact: bool = False
    waiting: bool = False

    @classmethod
    def of_counts(cls, counts: dict[str, int], **options: Any) -> tuple[int, Mix]:
        """The number of tickets and the exact mix that give each state its count."""
        n = sum(counts.values())
        return n, cls(shares=tuple(counts.get(state, 0) / n for state in STATES), exact=True, **options)

    def params(self, n: int) -> dict[str, Any]:
        if len(self.shares) != len(STATES) or abs(sum(self.shares) - 1) > 1e-9:
            raise ValueError(f"Mix.shares must give a share for each of {STATES}, summing to 1")
        upto = 0.0
        params: dict[str, Any] = {}
        for state, share in zip(STATES[:-1], self.shares, strict=False):
            upto += share
            params[f"upto_{state}"] = round(upto, 12)
        return {
            **params,
            "exact": self.exact,
            "overdue": self.overdue,
            "overdue_every": round(1 / self.overdue),
            "waiting": self.waiting,
        }


CONSOLE_MIX = Mix()
# The waiting profile keeps each waiting ticket this many days short of its next timer.
MARGIN_DAYS = 0.5

FINAL_TRANSITION = {
    "assigned": "assign",
    "awaiting_user": "request_info",
    "in_progress": "start_work",
    "escalated": "escalate",
    "resolved": "resolve",
    "closed": "close",
}


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
        INSERT INTO tickets_requester (email, name, phone, created_at, user_id)
        SELECT lower(f || '.' || l || '.' || g || '@' || %(domain)s), f || ' ' || l, '', now(), NULL
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


TICKETS_SQL = """
INSERT INTO tickets_ticket (
    id, number, subject, source, tier, state, version, first_response_due, resolution_due,
    first_responded_at, resolved_at, closed_at, reopen_count, state_changed_at, reminded_at,
    created_at, last_activity_at,
    assignee_id, department_id, follow_up_of_id, help_topic_id, priority_id, requester_id, sla_id,
    team_id)
SELECT
    -- Ids (and so numbers) in order of creation, as the help desk hands them out.
    row_number() OVER w, (100000 + row_number() OVER w)::text, subject, source, tier, state, 0,
    CASE WHEN state = 'open' THEN
        CASE WHEN overdue THEN now() - r_late * interval '6 hours'
            ELSE now() + (0.5 + r_due) * interval '1 day' END
    END,
    CASE
        WHEN state IN ('resolved', 'closed') THEN created_at + interval '18 hours'
        WHEN overdue THEN now() - r_late * interval '5 days'
        ELSE now() + (0.2 + r_due) * interval '10 days'
    END,
    CASE WHEN state <> 'open' AND assignee_id IS NOT NULL
        THEN created_at + (last_activity_at - created_at) * 0.1 END,
    CASE
        WHEN state = 'resolved' THEN last_activity_at
        WHEN state = 'closed' AND assignee_id IS NOT NULL
            THEN created_at + (last_activity_at - created_at) * 0.8
    END,
    CASE WHEN state = 'closed' THEN last_activity_at END,
    CASE WHEN r_reopen < 0.02 THEN 1 ELSE 0 END,
    -- The time of the last transition: intake for open tickets, the move to the state otherwise.
    CASE WHEN state = 'open' THEN created_at ELSE last_activity_at END,
    -- With the waiting profile, a requester waiting longer than the reminder delay was reminded.
    CASE WHEN %(waiting)s AND state = 'awaiting_user'
            AND last_activity_at < now() - %(remind_days)s * interval '1 day'
        THEN last_activity_at + %(remind_days)s * interval '1 day' END,
    created_at, last_activity_at,
    assignee_id, department_id, NULL, help_topic_id, priority_id, requester_id, sla_id, team_id
FROM (
    SELECT l2.*,
        CASE
            WHEN state = 'open' THEN NULL
            WHEN state = 'assigned' AND r_assign >= 0.7 THEN NULL  -- assigned to the team only
            WHEN state = 'escalated' AND r_assign < 0.5 THEN NULL  -- not yet claimed
            WHEN state = 'closed' AND r_assign < 0.1 THEN NULL  -- cancelled before anyone took it
            WHEN team_id IS NOT NULL AND r_pick < 0.5
                THEN (%(team_agents)s::int[])[1 + floor(r_pick * 2 * cardinality(%(team_agents)s::int[]))]
            WHEN department_id = %(support)s
                THEN (%(support_agents)s::int[])[1 + floor(r_pick * cardinality(%(support_agents)s::int[]))]
            ELSE (%(sysadmin_agents)s::int[])[1 + floor(r_pick * cardinality(%(sysadmin_agents)s::int[]))]
        END AS assignee_id
    FROM (
        SELECT l1.*,
            state IN ('open', 'assigned', 'awaiting_user', 'in_progress', 'escalated')
                AND CASE WHEN %(exact)s THEN g %% %(overdue_every)s = %(overdue_every)s / 2
                    ELSE r_due < %(overdue)s END AS overdue,
            -- How late an overdue ticket is, as a share of 5 days: uniform below 1%%.
            CASE WHEN %(exact)s THEN r_due * 0.01 ELSE r_due END AS r_late,
            CASE
                WHEN state = 'escalated' THEN CASE WHEN r_dept < 0.5 THEN %(sysadmins)s ELSE %(support)s END
                WHEN r_dept < 0.75 THEN %(support)s
                ELSE %(sysadmins)s
            END AS department_id,
            CASE
                WHEN state = 'escalated' THEN CASE WHEN r_dept >= 0.5 OR r_team < 0.3 THEN %(team)s END
                WHEN state = 'assigned' AND r_assign >= 0.7 THEN %(team)s
                WHEN r_team < 0.1 THEN %(team)s
            END AS team_id,
            CASE
                WHEN state = 'escalated' THEN 2
                WHEN state IN ('closed', 'resolved', 'awaiting_user') AND r_team < 0.05 THEN 2
                ELSE 1
            END AS tier,
            now() - CASE
                WHEN state = 'closed' THEN r_time * interval '730 days'
                -- The waiting profile: each waiting ticket is at least the margin short of its
                -- next timer: awaiting the reminder, or reminded and awaiting the giving up; a
                -- resolved ticket awaiting the auto-close.
                WHEN %(waiting)s AND state = 'awaiting_user' THEN interval '1 day' * CASE
                    WHEN r_time * (%(remind_days)s + %(expire_days)s - 3 * %(margin)s)
                        < %(remind_days)s - %(margin)s
                        THEN r_time * (%(remind_days)s + %(expire_days)s - 3 * %(margin)s)
                    ELSE r_time * (%(remind_days)s + %(expire_days)s - 3 * %(margin)s) + 2 * %(margin)s
                END
                WHEN %(waiting)s AND state = 'resolved'
                    THEN r_time * (%(close_days)s - %(margin)s) * interval '1 day'
                ELSE r_time * interval '60 days'
            END AS last_activity_at,
            (%(subjects)s::text[])[1 + floor(r_subject * cardinality(%(subjects)s::text[]))]
                || (%(suffixes)s::text[])[1 + floor(r_suffix * cardinality(%(suffixes)s::text[]))]
                AS subject,
            CASE
                WHEN r_source < 0.6 THEN 'web' WHEN r_source < 0.9 THEN 'email'
                WHEN r_source < 0.98 THEN 'phone' ELSE 'api'
            END AS source,
            (%(topics)s::bigint[])[1 + floor(r_topic * cardinality(%(topics)s::bigint[]))] AS help_topic_id,
            CASE
                WHEN r_priority < 0.2 THEN %(low)s WHEN r_priority < 0.8 THEN %(normal)s
                WHEN r_priority < 0.95 THEN %(high)s ELSE %(emergency)s
            END AS priority_id,
            CASE
                WHEN r_sla < 0.8 THEN %(default_sla)s
                -- The other 20%% spread evenly over the other plans.
                ELSE (%(slas)s::bigint[])[1 + floor((r_sla - 0.8) / 0.2 * cardinality(%(slas)s::bigint[]))]
            END AS sla_id,
            CASE
                WHEN g %% %(karen_every)s = 0 THEN %(karen)s
                ELSE %(first_requester)s + floor(r_requester * %(requesters)s)::bigint
            END AS requester_id
        FROM (
            SELECT g,
                CASE
                    WHEN s < %(upto_closed)s THEN 'closed'
                    WHEN s < %(upto_open)s THEN 'open'
                    WHEN s < %(upto_assigned)s THEN 'assigned'
                    WHEN s < %(upto_awaiting_user)s THEN 'awaiting_user'
                    WHEN s < %(upto_in_progress)s THEN 'in_progress'
                    WHEN s < %(upto_escalated)s THEN 'escalated'
                    ELSE 'resolved'
                END AS state,
                r_due, r_dept, r_team, r_assign, r_pick, r_time, r_subject, r_suffix, r_source,
                r_topic, r_priority, r_sla, r_requester, r_reopen
            FROM (
                SELECT r.*,
                    -- Exact: ticket g of n takes the state its position falls in.
                    CASE WHEN %(exact)s THEN (g - 0.5)::float8 / %(n)s ELSE r_state END AS s
                FROM (
                    SELECT g, random() AS r_state, random() AS r_due, random() AS r_dept,
                        random() AS r_team, random() AS r_assign, random() AS r_pick, random() AS r_time,
                        random() AS r_subject, random() AS r_suffix, random() AS r_source,
                        random() AS r_topic, random() AS r_priority, random() AS r_sla,
                        random() AS r_requester, random() AS r_reopen
                    FROM generate_series(1, %(n)s) AS g
                ) AS r
            ) AS r2
        ) AS l1
    ) AS l2
) AS l3,
LATERAL (SELECT last_activity_at - (interval '1 hour' + random() * interval '20 days') AS created_at) AS c
WINDOW w AS (ORDER BY created_at, g)
ORDER BY created_at, g
"""

MESSAGES_SQL = """
INSERT INTO tickets_threadentry (kind, author_name, body, is_public, created_at, author_id, ticket_id)
SELECT 'message', r.name,
    (%(openings)s::text[])[1 + floor(random() * cardinality(%(openings)s::text[]))] || E'\\n\\n'
    || 'About "' || t.subject || '": '
    || (%(details)s::text[])[1 + floor(random() * cardinality(%(details)s::text[]))] || ' '
    || (%(more)s::text[])[1 + floor(random() * cardinality(%(more)s::text[]))]
    || CASE WHEN t.id %% %(rare_every)s = 7
        THEN ' The log mentions ' || %(rare)s || ' before it stops.' ELSE '' END
    || ' Reference ' || (1000000 + floor(random() * 9000000))::bigint || '.'
    || E'\\n\\n' || (%(closings)s::text[])[1 + floor(random() * cardinality(%(closings)s::text[]))]
    || E'\\n' || r.name,
    true, t.created_at, r.user_id, t.id
FROM tickets_ticket AS t JOIN tickets_requester AS r ON r.id = t.requester_id
"""

REPLIES_SQL = """
INSERT INTO tickets_threadentry (kind, author_name, body, is_public, created_at, author_id, ticket_id)
SELECT 'reply', u.first_name || ' ' || u.last_name,
    (%(replies)s::text[])[1 + floor(random() * cardinality(%(replies)s::text[]))],
    true, t.created_at + (t.last_activity_at - t.created_at) * 0.1, u.id, t.id
FROM tickets_ticket AS t JOIN auth_user AS u ON u.id = t.assignee_id
WHERE t.id %% 10 < 3
UNION ALL
SELECT 'note', u.first_name || ' ' || u.last_name,
    (%(notes)s::text[])[1 + floor(random() * cardinality(%(notes)s::text[]))],
    false, t.created_at + (t.last_activity_at - t.created_at) * 0.5, u.id, t.id
FROM tickets_ticket AS t JOIN auth_user AS u ON u.id = t.assignee_id
WHERE t.id %% 7 = 0
"""

TRANSITIONS_SQL = """
INSERT INTO tickets_tickettransition (
    name, source, target, actor_label, reason, created_at, actor_id, ticket_id)
SELECT 'create', '', 'new', r.name, '', t.created_at, r.user_id, t.id
FROM tickets_ticket AS t JOIN tickets_requester AS r ON r.id = t.requester_id
UNION ALL
SELECT 'intake', 'new', 'open', 'system: intake', '', t.created_at, NULL, t.id
FROM tickets_ticket AS t
UNION ALL
SELECT
    CASE WHEN t.state = 'closed' AND t.assignee_id IS NULL THEN 'cancel'
        ELSE (%(final)s::jsonb) ->> t.state END,
    CASE WHEN t.state = 'closed' AND t.assignee_id IS NOT NULL THEN 'resolved' ELSE 'open' END,
    t.state, coalesce(u.first_name || ' ' || u.last_name, 'System'), '', t.last_activity_at, u.id, t.id
FROM tickets_ticket AS t LEFT JOIN auth_user AS u ON u.id = t.assignee_id
WHERE t.state <> 'open'
"""


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
