"""A ticket's lifecycle timeline: its stays in each stage, read from its transition log."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from django.utils.translation import gettext

from tickets.models import State, Ticket, TicketTransition
from tickets.reports.types import StageVisit
from tickets.sla.clock import PAUSED_STATES


def _visit(state: str, entered_at: datetime, moved_by: str, move: str) -> StageVisit:
    label = State(state).label if state in State.values else state
    return StageVisit(
        state=state,
        label=label,
        entered_at=entered_at,
        left_at=None,
        moved_by=moved_by,
        move=move,
        clock_paused=state in PAUSED_STATES,
    )


def timeline(ticket: Ticket) -> list[StageVisit]:
    """Each stay of the ticket in a stage, oldest first, in one query whatever the log's length.

    The ticket is ``new`` from its creation (the log's ``create`` row names who created it);
    each later move into a *different* state ends one stay and starts the next. A move whose
    target is its source (a claim or an assignment while escalated, a further escalation)
    keeps the stay: the visit names the move that brought the ticket into the stage, not the
    ones made inside it. The last stay has ``left_at=None``.
    """
    log = (
        TicketTransition.objects.filter(ticket=ticket)
        .order_by("created_at", "id")
        .values_list("name", "source", "target", "actor_label", "created_at")
    )
    visits: list[StageVisit] = [_visit(State.NEW.value, ticket.created_at, "", "create")]
    for name, source, target, actor_label, at in log:
        current = visits[-1]
        if not source:
            # The creation row (from no state): who opened the ticket, not a move between stages.
            visits[0] = replace(visits[0], moved_by=actor_label, move=name)
            continue
        if target == current.state:
            continue
        # A log row written a moment before the ticket's own creation time (both are "now" in
        # the same transaction) must not make a stay of negative length.
        left_at = max(at, current.entered_at)
        visits[-1] = replace(current, left_at=left_at)
        visits.append(_visit(target, left_at, actor_label, name))
    return visits


def duration_words(delta: timedelta) -> str:
    """A stay's length for people, to the two largest units: "45 s", "12 min", "2 h 5 min",
    "3 d 4 h" (a unit that is zero is left out of the second place: "2 h", "3 d")."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        # Translators: a short duration in seconds ("45 s").
        return gettext("%(seconds)s s") % {"seconds": seconds}
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        if hours:
            # Translators: a short duration in days and hours ("3 d 4 h").
            return gettext("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
        # Translators: a short duration in days ("3 d").
        return gettext("%(days)s d") % {"days": days}
    if hours:
        if minutes:
            # Translators: a short duration in hours and minutes ("2 h 5 min").
            return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
        # Translators: a short duration in hours ("2 h").
        return gettext("%(hours)s h") % {"hours": hours}
    # Translators: a short duration in minutes ("12 min").
    return gettext("%(minutes)s min") % {"minutes": minutes}
