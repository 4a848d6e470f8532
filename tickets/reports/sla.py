"""SLA attainment: the outcomes the services stored as each target was reached, counted; the
replay of a ticket's transition log that recomputes them (the data migration that filled them,
``manage.py rebuild_reports``, the tests); and the what-if, the same replay under another plan.

When the first response is made (a public reply, a question to the requester, a resolve) and
at each resolve, the services compare the moment with the due time the SLA clock
(``tickets.sla.clock``) had set at the ticket's last move, and store ``first_response_met`` /
``resolution_met`` on the ticket in the same transaction (None when there is no target; a new
resolve after a reopen overwrites the resolution's). The replay computes the same due time from
the moves made before, so the two agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext, gettext_noop

from tickets import catalog
from tickets.models import Priority, SLAPlan, Ticket, TicketTransition
from tickets.reports.filters import ROWS, in_period, report_tickets
from tickets.reports.types import Attainment, Period, ReportFilters, WhatIf
from tickets.sla import clock

FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"
# In English: the dashboard keeps them so (``snapshots``), and each is translated when shown
# (``label``).
LABELS = {FIRST_RESPONSE: gettext_noop("First response"), RESOLUTION: gettext_noop("Resolution")}
BATCH = 1000


def label(target: str) -> str:
    """A target's label in the active language."""
    return gettext(LABELS[target])


def attainment(user: Any, period: Period, filters: ReportFilters) -> list[Attainment]:
    """First response: the tickets first answered in the period (``first_responded_at``);
    resolution: the tickets resolved in the period (resolved or closed now, their last resolve
    in it). Each counted met when it was reached by its due time as the ticket's SLA clock
    computed it (business hours, and the pauses while awaiting the requester, honoured);
    tickets with no target are not counted. Two queries, each read from the index of its time."""
    return attainment_of(report_tickets(user, filters), period)


def attainment_of(tickets: QuerySet[Ticket], period: Period) -> list[Attainment]:
    """``attainment`` of these tickets (``filters.report_tickets``)."""
    return [
        _attained(tickets, period, FIRST_RESPONSE, "first_responded_at", "first_response_met"),
        _attained(tickets, period, RESOLUTION, "resolved_at", "resolution_met"),
    ]


def _attained(tickets: QuerySet[Ticket], period: Period, target: str, reached: str, met: str) -> Attainment:
    found = tickets.filter(**in_period(reached, period)).aggregate(
        n_met=Count(ROWS, filter=Q(**{met: True})),
        n_missed=Count(ROWS, filter=Q(**{met: False})),
    )
    return Attainment(target, LABELS[target], found["n_met"], found["n_missed"])


# -- the replay ----------------------------------------------------------------------------------


def replayed_outcomes(
    plan: SLAPlan | None,
    *,
    priority: Priority | None,
    created_at: datetime,
    first_responded_at: datetime | None,
    log: Sequence[clock.Move],
    targets: tuple[str, ...] = (FIRST_RESPONSE, RESOLUTION),
) -> tuple[bool | None, bool | None]:
    """(first response met, resolution met) of a ticket under ``plan``, from its whole log in
    order, as the services stored them when each happened.

    First response: the due time the clock had from the moves made up to the response (the
    move that made it, a question or a resolve, left out: the clock runs until a first
    response, so no earlier move stopped it); None without a due time (no target). Resolution:
    the due time from the moves before the last resolve; met with none (the clock stopped
    short of it while the requester was awaited); None without a plan, or never resolved.
    A target left out of ``targets`` is not replayed (None).
    """
    first = None
    if first_responded_at is not None and FIRST_RESPONSE in targets:
        before = [m for m in log if m.at <= first_responded_at and m.target not in clock.PAUSED_STATES]
        due = clock.due_times_from_log(plan, priority=priority, created_at=created_at, log=before)[0]
        first = None if due is None else first_responded_at <= due
    resolution = None
    if RESOLUTION not in targets:
        return first, resolution
    last = max((n for n, move in enumerate(log) if move.name == "resolve"), default=None)
    if last is not None and plan is not None:
        due = clock.due_times_from_log(plan, priority=priority, created_at=created_at, log=log[:last])[1]
        resolution = due is None or log[last].at <= due
    return first, resolution


def _priority(pk: int | None, found: dict[int, Priority]) -> Priority | None:
    """The clock reads only a priority's id (to pick the plan's target for it)."""
    if pk is None:
        return None
    if pk not in found:
        found[pk] = Priority(pk=pk)
    return found[pk]


def _plans(plan_model: Any, using: str) -> dict[int, Any]:
    """Every plan with its targets and calendar, read once (the clock then reads nothing)."""
    return {
        plan.pk: plan
        for plan in plan_model.objects.using(using)
        .select_related("business_hours")
        .prefetch_related("targets", "business_hours__windows", "business_hours__holidays")
    }


def _logs(transition_model: Any, using: str | None, **tickets: Any) -> dict[int, list[clock.Move]]:
    """The logs of the tickets ``tickets`` names (lookups on ``ticket_id``), each in order, read
    from ``using`` (``None``: where the database router sends the read)."""
    logs: dict[int, list[clock.Move]] = defaultdict(list)
    rows = (
        transition_model.objects.using(using)
        .filter(**{f"ticket_id__{lookup}": value for lookup, value in tickets.items()})
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "name", "target", "created_at")
    )
    for ticket_id, name, target, at in rows:
        logs[ticket_id].append(clock.Move(name, target, at))
    return logs


@dataclass
class Rebuilt:
    tickets: int = 0
    changed: int = 0


def rebuild_outcomes(
    *,
    ticket_model: Any = Ticket,
    transition_model: Any = TicketTransition,
    plan_model: Any = SLAPlan,
    using: str = DEFAULT_DB_ALIAS,
    batch: int = BATCH,
    progress: Any = None,
) -> Rebuilt:
    """Replay every ticket's log and store the outcomes that differ, ``batch`` tickets at a
    time, each batch in its own transaction (the models are parameters for the data migration,
    which passes its historical ones). ``progress(rebuilt)`` is called after each batch."""
    plans, priorities, done, last = _plans(plan_model, using), {}, Rebuilt(), 0
    tickets = ticket_model.objects.using(using).order_by("pk")
    # The data migration's historical model may predate major incidents.
    incident = "incident_id" if any(f.name == "incident" for f in ticket_model._meta.fields) else "id"
    while True:
        chunk = list(
            tickets.filter(pk__gt=last).values_list(
                "pk", "sla_id", "priority_id", "created_at", "first_responded_at", incident,
                "first_response_met", "resolution_met",
            )[:batch]
        )
        if not chunk:
            return done
        logs = _logs(transition_model, using, gt=last, lte=chunk[-1][0])
        changes: dict[tuple[bool | None, bool | None], list[int]] = defaultdict(list)
        for pk, sla_id, priority_id, created_at, first_at, report_of, *stored in chunk:
            outcome = replayed_outcomes(
                plans.get(sla_id),
                priority=_priority(priority_id, priorities),
                created_at=created_at,
                first_responded_at=first_at,
                log=logs[pk],
            )
            if incident != "id" and report_of is not None:
                # A report's resolution is met or missed on its incident's clock, not on its own
                # log: the replay keeps what was stored (tickets.services.incidents).
                outcome = (outcome[0], stored[1])
            if outcome != tuple(stored):
                changes[outcome].append(pk)
        with transaction.atomic(using=using):
            # Derived columns, not a change of the ticket: no version, no activity.
            for (first, resolution), ids in changes.items():
                ticket_model.objects.using(using).filter(pk__in=ids).update(
                    first_response_met=first, resolution_met=resolution
                )
        done.tickets += len(chunk)
        done.changed += sum(len(ids) for ids in changes.values())
        last = chunk[-1][0]
        if progress is not None:
            progress(done)


# -- what if -------------------------------------------------------------------------------------


def what_if(
    user: Any,
    period: Period,
    filters: ReportFilters,
    *,
    plan: SLAPlan,
    first_response_hours: int | None = None,
    resolution_hours: int | None = None,
) -> WhatIf:
    """The attainment the tickets of ``attainment`` (first answered / resolved in the period)
    would have had under ``plan``: each ticket's log replayed with the plan's calendar and its
    hours for the ticket's priority, or the hours given instead (for every priority), met or
    missed as the clock would have computed it. ``actual`` is what they had (their stored
    outcomes). Four queries (the plan with its targets and calendar, the tickets), and one per
    thousand tickets for their logs (PostgreSQL would rather read the whole log than look up
    each ticket's in a join)."""
    rows = list(
        report_tickets(user, filters)
        .filter(Q(**in_period("first_responded_at", period)) | Q(**in_period("resolved_at", period)))
        .values_list(
            "pk", "priority_id", "created_at", "first_responded_at", "first_response_met", "resolved_at",
            "resolution_met",
        )
        .order_by("pk")
    )
    plan = SLAPlan.objects.select_related("business_hours").prefetch_related(
        "targets", "business_hours__windows", "business_hours__holidays"
    ).get(pk=plan.pk)
    hours: dict[int | None, SLAPlan] = {}
    actual: dict[str, list[bool | None]] = {FIRST_RESPONSE: [], RESOLUTION: []}
    replayed: dict[str, list[bool | None]] = {FIRST_RESPONSE: [], RESOLUTION: []}
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        # Where the tickets were read: the read replica inside its scope (tickets.replica).
        logs = _logs(TicketTransition, None, **{"in": [row[0] for row in chunk]})
        for pk, priority_id, created_at, first_at, first_met, resolved_at, resolution_met in chunk:
            if priority_id not in hours:
                hours[priority_id] = _with_hours(plan, priority_id, first_response_hours, resolution_hours)
            answered = first_at is not None and period.start <= first_at < period.end
            resolved = resolved_at is not None and period.start <= resolved_at < period.end
            first, resolution = replayed_outcomes(
                hours[priority_id],
                priority=None,
                created_at=created_at,
                first_responded_at=first_at,
                log=logs[pk],
                targets=(FIRST_RESPONSE,) * answered + (RESOLUTION,) * resolved,
            )
            if answered:
                actual[FIRST_RESPONSE].append(first_met)
                replayed[FIRST_RESPONSE].append(first)
            if resolved:
                actual[RESOLUTION].append(resolution_met)
                replayed[RESOLUTION].append(resolution)
    return WhatIf(
        plan_name=plan.name,
        first_response_hours=(
            plan.first_response_hours if first_response_hours is None else first_response_hours
        ),
        resolution_hours=plan.grace_hours if resolution_hours is None else resolution_hours,
        actual=[_counted(target, actual[target]) for target in (FIRST_RESPONSE, RESOLUTION)],
        replayed=[_counted(target, replayed[target]) for target in (FIRST_RESPONSE, RESOLUTION)],
        tickets=len(rows),
        notes=_notes(plan, first_response_hours, resolution_hours),
    )


def _with_hours(plan: SLAPlan, priority_id: int | None, first: int | None, resolution: int | None) -> SLAPlan:
    """An unsaved plan with ``plan``'s calendar and the hours that apply to a ticket of this
    priority: those given, else the plan's target for the priority, else its own."""
    own_first, own_resolution = clock.target_hours(plan, Priority(pk=priority_id) if priority_id else None)
    return SLAPlan(
        name=plan.name,
        schedule=plan.schedule,
        business_hours=plan.business_hours,
        first_response_hours=first if first is not None else own_first,
        grace_hours=resolution if resolution is not None else own_resolution,
    )


def _counted(target: str, outcomes: list[bool | None]) -> Attainment:
    return Attainment(target, label(target), outcomes.count(True), outcomes.count(False))


def _notes(plan: SLAPlan, first: int | None, resolution: int | None) -> list[str]:
    calendar = plan.business_hours if plan.schedule == SLAPlan.Schedule.BUSINESS_HOURS else None
    if calendar is not None:
        # Translators: calendar is a business hours calendar's name, zone its time zone ("Europe/Paris").
        counted = gettext(
            "Counted on the calendar “%(calendar)s” (%(zone)s), the clock stopped while the requester "
            "was awaited."
        ) % {"calendar": calendar, "zone": calendar.time_zone}
    else:
        counted = gettext("Counted 24/7, the clock stopped while the requester was awaited.")
    notes = [counted]
    targets, priorities = list(plan.targets.all()), catalog.catalog().priorities
    if targets and (first is None or resolution is None):
        named = ", ".join(str(catalog.row(priorities, Priority, t.priority_id)) for t in targets)
        # Translators: plan is an SLA plan's name, priorities a list of priorities' names ("High, Urgent").
        own = gettext(
            "%(plan)s has its own hours for some priorities (%(priorities)s): those apply to the "
            "tickets of those priorities where no hours were given."
        )
        notes.append(own % {"plan": plan.name, "priorities": named})
    notes.append(gettext("Tickets with no target under the plan are not counted."))
    return notes
