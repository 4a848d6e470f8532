"""The data of bench/timers.py: the counts it seeds (through bench/seed.py), the SLA plans that
escalate, the job's candidate queries and the description of a seeded database.

Imported by bench/timers.py once Django is set up."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Count, QuerySet
from django.utils import timezone
from seed import Mix, seed

from tickets.models import (
    LifecycleTimers,
    SLAPlan,
    State,
    Team,
    ThreadEntry,
    Ticket,
    TicketTransition,
)
from tickets.sla import jobs

ACTIVE = {
    "open": 36_000,
    "assigned": 21_000,
    "awaiting_user": 14_000,
    "in_progress": 22_000,
    "escalated": 7_000,
}
RESOLVED = 7_000
OVERDUE_SHARE = 0.01
# The plans for urgent tickets escalate what is overdue to this team (tier 2); the others alert.
ESCALATING_PLANS = ("Sev-A", "Sev-B")
ESCALATE_TO = "Online Banking"
CAN_ESCALATE = (State.ASSIGNED, State.IN_PROGRESS, State.AWAITING_USER)


# -- the data ------------------------------------------------------------------------------------


def ensure_bench_database() -> str:
    if connection.vendor != "postgresql":
        sys.exit("bench/timers.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to seed {name!r}: the database name must contain 'bench'.")
    return name


def seed_timers(closed: int, scale: float = 1.0) -> None:
    counts = {**ACTIVE, "resolved": RESOLVED, "closed": closed}
    # Whole hundreds, so that exactly one in a hundred of each state is overdue.
    counts = {state: round(count * scale / 100) * 100 for state, count in counts.items()}
    n, mix = Mix.of_counts(counts, overdue=OVERDUE_SHARE, waiting=True)
    seed(n, mix)
    configure_plans()


def configure_plans() -> None:
    team = Team.objects.get(name=ESCALATE_TO)
    SLAPlan.objects.exclude(name__in=ESCALATING_PLANS).update(
        on_overdue=SLAPlan.OnOverdue.ALERT, escalate_to_team=None, escalate_to_department=None
    )
    SLAPlan.objects.filter(name__in=ESCALATING_PLANS).update(
        on_overdue=SLAPlan.OnOverdue.ESCALATE, escalate_to_team=team, escalate_to_department=None
    )


# The job's parts (tickets.sla.jobs.sla_parts, tickets.sla.jobs.timer_parts), as the report names them.
PART_LABELS = {
    "first response": "SLA watch: first response",
    "resolution": "SLA watch: resolution",
    "reminded": "awaiting user: reminder",
    "expired": "awaiting user: giving up",
    "closed": "resolved: auto-close",
}


def candidate_queries(now: datetime) -> list[tuple[str, QuerySet]]:
    """The queries that find each part's tickets (``jobs.Part.candidates``), built from the job's
    own parts as ``jobs._candidates`` builds them; ``steady_state`` checks the SQL is the same."""
    parts = [(part.name, part) for part in jobs.sla_parts(now, jobs.Report())]
    parts += list(jobs.timer_parts(LifecycleTimers.load(), now).items())
    return [
        (
            PART_LABELS.get(name, name),
            Ticket.objects.filter(part.condition)
            .order_by(part.order, "pk")
            .values_list("pk", flat=True)[: jobs.BATCH],
        )
        for name, part in parts
    ]


@dataclass
class Dataset:
    closed: int
    tickets: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    entries: int = 0
    transitions: int = 0
    size: str = ""
    due: dict[str, int] = field(default_factory=dict)
    overdue_tickets: int = 0
    on_escalating_plans: int = 0
    can_escalate: int = 0
    overdue_by_state: dict[str, int] = field(default_factory=dict)
    seed_s: float = 0.0

    @property
    def active(self) -> int:
        return sum(self.by_state.get(state, 0) for state in ACTIVE)


def describe(closed: int) -> Dataset:
    now = timezone.now()
    data = Dataset(closed=closed)
    data.by_state = dict(Ticket.objects.order_by().values_list("state").annotate(n=Count("pk")))
    data.tickets = sum(data.by_state.values())
    data.entries = ThreadEntry.objects.count()
    data.transitions = TicketTransition.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        data.size = cursor.fetchone()[0]
    for label, query in candidate_queries(now):
        data.due[label] = query.count()
    overdue = Ticket.objects.filter(jobs._overdue("first_response", now) | jobs._overdue("resolution", now))
    data.overdue_tickets = overdue.count()
    data.overdue_by_state = dict(overdue.order_by().values_list("state").annotate(n=Count("pk")))
    escalating = overdue.filter(sla__on_overdue=SLAPlan.OnOverdue.ESCALATE)
    data.on_escalating_plans = escalating.count()
    data.can_escalate = escalating.filter(tier=1, state__in=CAN_ESCALATE).count()
    return data
