"""Related tickets: an agent says two tickets belong together (one cause, one customer's two
problems). The link changes neither ticket's lifecycle; it is an event in both threads and is
shown on both (``linked.related_tickets``). For many reports of one outage, link them to a
major incident instead (``tickets.services.incidents``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tickets.models import RelatedLink, ThreadEntry, Ticket
from tickets.services._common import TicketActionError, _add_entry, _check_can_see, display_name


def _check(actor: Any, ticket: Ticket, other: Ticket) -> None:
    if not (actor.is_staff and actor.has_perm("tickets.work_ticket")):
        raise PermissionDenied(_("Your role may not link tickets."))
    _check_can_see(actor, ticket)
    _check_can_see(actor, other)
    if ticket.pk == other.pk:
        raise TicketActionError(_("A ticket cannot be related to itself."))


def _pair(ticket: Ticket, other: Ticket) -> tuple[Ticket, Ticket]:
    return (ticket, other) if ticket.pk < other.pk else (other, ticket)


@transaction.atomic
def ticket_relate(*, ticket: Ticket, other: Ticket, actor: Any) -> RelatedLink:
    """Say ``ticket`` and ``other`` are related; the actor must see both."""
    _check(actor, ticket, other)
    low, high = _pair(ticket, other)
    try:
        with transaction.atomic():
            link = RelatedLink.objects.create(ticket=low, other=high, created_by=actor)
    except IntegrityError:
        raise TicketActionError(
            _("#%(number)s and #%(other)s are already related.")
            % {"number": ticket.number, "other": other.number}
        ) from None
    who = display_name(actor)
    _add_entry(ticket, kind=ThreadEntry.Kind.EVENT, body=f"Related to #{other.number} by {who}", actor=actor)
    _add_entry(other, kind=ThreadEntry.Kind.EVENT, body=f"Related to #{ticket.number} by {who}", actor=actor)
    return link


@transaction.atomic
def ticket_unrelate(*, ticket: Ticket, other: Ticket, actor: Any) -> None:
    """Take back a related link; the actor must see both tickets."""
    _check(actor, ticket, other)
    low, high = _pair(ticket, other)
    deleted, _rows = RelatedLink.objects.filter(ticket=low, other=high).delete()
    if not deleted:
        raise TicketActionError(
            _("#%(number)s and #%(other)s are not related.")
            % {"number": ticket.number, "other": other.number}
        )
    who = display_name(actor)
    for one, two in ((ticket, other), (other, ticket)):
        body = f"No longer related to #{two.number} ({who})"
        _add_entry(one, kind=ThreadEntry.Kind.EVENT, body=body, actor=actor)
