"""The help desk's own Prometheus metrics: plain ``prometheus_client`` objects, moved by the
domain where it does the thing (the services, the state machine, the mail tasks, the periodic
job) and exported by the project at ``/metrics`` (``helpdesk/ops/metrics.py``).

Their labels are small fixed sets (a channel, a transition's name, an SLA target, an outcome),
never a person, an address or a ticket. What a rollback would undo is counted after the commit
(``count_on_commit``), so a refused or failed write counts nothing.

Under gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` set, ``prometheus_client`` keeps these in files
of that folder and ``/metrics`` adds up every process's (README, Health and metrics).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from prometheus_client import Counter, Histogram

TICKETS_CREATED = Counter(
    "helpdesk_tickets_created", "Tickets created, by the channel they came through.", ["source"]
)
TRANSITIONS = Counter(
    "helpdesk_ticket_transitions", "Lifecycle transitions run on tickets, by transition name.", ["name"]
)
SLA_BREACHES = Counter(
    "helpdesk_sla_breaches",
    "SLA targets tickets missed, as the SLA watch marked them (first_response or resolution).",
    ["target"],
)
MAIL_DELIVERIES = Counter(
    "helpdesk_mail_deliveries",
    "Outgoing mail messages: sent, retried after a failure, or failed for good.",
    ["outcome"],
)
TIMERS_RUN_SECONDS = Histogram(
    "helpdesk_timers_run_seconds",
    "How long a run of the periodic job (the SLA watch and the lifecycle timers) took.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)


def count_on_commit(counter: Any, amount: float = 1, **labels: str) -> None:
    """Add ``amount`` to ``counter`` once the current transaction commits; at once outside one,
    without touching the database (a transition run on a ticket in memory opens no connection)."""
    if not amount:
        return
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: counter.labels(**labels).inc(amount), robust=True)
    else:
        counter.labels(**labels).inc(amount)


def count_transition(sender: Any, instance: Any, name: str, **kwargs: Any) -> None:
    """django_fsm's ``post_transition``, for ``Ticket`` (connected in ``TicketsConfig.ready``):
    the move counts when the transaction that saves it commits."""
    count_on_commit(TRANSITIONS, name=name)
