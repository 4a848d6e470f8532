"""Writing to a ticket's thread: public replies, internal notes, system notes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from tickets.models import (
    State,
    ThreadEntry,
    Ticket,
)
from tickets.services._common import (
    TicketActionError,
    _add_entry,
    _attach,
    _check_can_see,
    _check_files,
    _lock_as_shown,
    _lock_current,
    _mark_first_response,
    _require_text,
    _save,
)
from tickets.services.moves import ticket_start_work


@transaction.atomic
def ticket_reply(*, ticket: Ticket, actor: Any, body: str, attachments: Sequence[Any] = ()) -> ThreadEntry:
    """A public reply to the requester (e-mailed to them)."""
    body = _require_text(body, _("A reply is required."))
    _lock_as_shown(ticket)
    _check_can_see(actor, ticket)
    if not actor.is_staff or not actor.has_perm("tickets.work_ticket"):
        raise PermissionDenied(_("You may not reply on this ticket."))
    if ticket.state in (State.NEW, State.CLOSED):
        raise TicketActionError(_("A closed ticket takes no replies; the requester can open a follow-up."))
    files = _check_files(attachments)
    _start_work_if_assignee(ticket, actor)
    entry = _add_entry(ticket, kind=ThreadEntry.Kind.REPLY, body=body, actor=actor, notify="reply")
    _attach(entry, files)
    _mark_first_response(ticket, at=entry.created_at)
    _save(ticket)
    return entry


@transaction.atomic
def ticket_note(*, ticket: Ticket, actor: Any, body: str, attachments: Sequence[Any] = ()) -> ThreadEntry:
    """An internal note: agents only, never shown or sent to the requester."""
    body = _require_text(body, _("A note is required."))
    _lock_as_shown(ticket)
    _check_can_see(actor, ticket)
    if not actor.is_staff or not actor.has_perm("tickets.work_ticket"):
        raise PermissionDenied(_("You may not add notes to this ticket."))
    files = _check_files(attachments)
    _start_work_if_assignee(ticket, actor)
    entry = _add_entry(ticket, kind=ThreadEntry.Kind.NOTE, body=body, actor=actor)
    _attach(entry, files)
    _save(ticket)
    return entry


@transaction.atomic
def ticket_system_note(
    *, ticket: Ticket, body: str, source: str, attachments: Sequence[Any] = ()
) -> ThreadEntry:
    """An internal note the system writes (what mail brought that is not the requester's),
    for the agents only; it moves nothing and mails nobody. ``source`` names its origin.
    Like a requester's message it always lands, whatever moved the ticket meanwhile."""
    files = _check_files(attachments)
    _lock_current(ticket)
    entry = _add_entry(
        ticket,
        kind=ThreadEntry.Kind.NOTE,
        body=_require_text(body, _("A note is required.")),
        actor=None,
        author_name=f"system: {source}",
    )
    _attach(entry, files)
    _save(ticket)
    return entry


def _start_work_if_assignee(ticket: Ticket, actor: Any) -> None:
    """The assignee's first reply or note on an assigned ticket starts the work."""
    if actor is not None and ticket.state == State.ASSIGNED and ticket.assignee_id == actor.pk:
        ticket_start_work(ticket=ticket, actor=actor)
