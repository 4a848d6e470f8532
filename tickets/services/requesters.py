"""What a requester writes: a reply (by the portal or by mail), reopening, confirming a fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from tickets import selectors
from tickets.models import (
    State,
    ThreadEntry,
    Ticket,
)
from tickets.services._common import (
    TicketActionError,
    _actor_label,
    _add_entry,
    _attach,
    _check_files,
    _lock_current,
    _require_text,
    _run,
    _save,
    assignment_label,
)
from tickets.services.intake import ticket_create
from tickets.services.moves import _reopen, ticket_close


@dataclass(frozen=True)
class RequesterWrite:
    """Where something the requester wrote or decided landed.

    ``ticket`` is the ticket it landed on (a new follow-up when the ticket had closed) as it
    is now; ``entry`` their message, if there was one; ``outcome`` one of the names below.
    """

    ticket: Ticket
    entry: ThreadEntry | None
    outcome: str

    APPENDED = "appended"  # added to an active (or resolved) ticket
    ANSWERED = "answered"  # the ticket was waiting for them and went back to work
    FOLLOW_UP = "follow_up"  # the ticket was closed: a linked follow-up was opened
    REOPENED = "reopened"
    CLOSED = "closed"  # they confirmed the fix
    ALREADY_CLOSED = "already_closed"  # they confirmed a ticket that had closed meanwhile
    NOTED = "noted"  # they confirmed a fix on a ticket that had been reopened meanwhile


def _check_requester(ticket: Ticket, actor: Any) -> None:
    """The requester's account, or that of a ticket merged into this one (their thread is here)."""
    if (
        actor is not None
        and ticket.requester.user_id != actor.pk
        and not selectors.requester_merged_into(actor, ticket)
    ):
        raise PermissionDenied(_("Only the requester can write here."))
    if ticket.number is None:
        raise TicketActionError(_("This ticket is still being created."))


def _writer_name(ticket: Ticket, actor: Any, author_name: str | None) -> str | None:
    """Who signs a requester's message: given, the requester, or (an account whose ticket was
    merged into this one) that ticket's requester."""
    if author_name or actor is None or ticket.requester.user_id == actor.pk:
        return author_name
    merged = Ticket.objects.filter(merged_into=ticket, requester__user_id=actor.pk)
    first = merged.select_related("requester").first()
    return first.requester.name if first is not None else None


def _surviving(ticket: Ticket, author_name: str | None) -> tuple[Ticket, str | None]:
    """A message to a merged ticket goes to the ticket it was merged into, signed by the merged
    ticket's requester (never a follow-up of the closed duplicate); locked as it is now."""
    if ticket.merged_into_id is None:
        return ticket, author_name
    survivor = selectors.surviving_ticket(ticket)
    _lock_current(survivor)
    return survivor, author_name or ticket.requester.name


def _requester_message(
    ticket: Ticket,
    *,
    body: str,
    actor: Any,
    system_rule: str | None,
    attachments: Sequence[Any],
    author_name: str | None,
    follow_up_mail: bool = True,
) -> RequesterWrite:
    """The requester's message on the ticket as it is now (the caller holds its lock)."""
    name = author_name or ticket.requester.name
    if ticket.state == State.CLOSED:
        follow_up = ticket_create(
            requester=ticket.requester,
            subject=f"Follow-up to #{ticket.number}: {ticket.subject}"[:255],
            body=body,
            help_topic=ticket.help_topic if ticket.help_topic and ticket.help_topic.is_active else None,
            source=ticket.source,
            actor=actor,
            follow_up_of=ticket,
            attachments=attachments,
            department=ticket.department,
            acknowledge=follow_up_mail,
            alert_agents=follow_up_mail,
        )
        message = follow_up.thread.get(kind=ThreadEntry.Kind.MESSAGE)
        return RequesterWrite(follow_up, message, RequesterWrite.FOLLOW_UP)
    files = _check_files(attachments)
    entry = _add_entry(
        ticket, kind=ThreadEntry.Kind.MESSAGE, body=body, actor=actor, author_name=name, notify="message"
    )
    _attach(entry, files)
    if ticket.state != State.AWAITING_USER:
        _save(ticket)
        return RequesterWrite(ticket, entry, RequesterWrite.APPENDED)
    _run(
        ticket,
        "receive_reply",
        actor=actor,
        system_rule=system_rule or "requester reply",
        event=lambda t: f"{name} replied; the ticket is back with {assignment_label(t)}",
    )
    return RequesterWrite(ticket, entry, RequesterWrite.ANSWERED)


@transaction.atomic
def ticket_receive_reply(
    *,
    ticket: Ticket,
    body: str,
    actor: Any = None,
    system_rule: str | None = None,
    attachments: Sequence[Any] = (),
    author_name: str | None = None,
    follow_up_mail: bool = True,
) -> tuple[Ticket, ThreadEntry]:
    """The requester writes: on a waiting ticket it goes back to work; on an active one it is
    appended; on a closed one it opens a follow-up ticket. Returns the ticket it landed on.

    It is decided under the ticket's row lock on its current state, so a message never fails
    because an agent moved the ticket meanwhile (closed it a moment ago: a follow-up).
    ``actor`` is the requester's account; None when the requester wrote by e-mail or through
    a signed ticket link, which the caller has checked. ``author_name`` names someone the
    requester copied, writing by e-mail. ``follow_up_mail=False`` mails nobody about a
    follow-up it opens (a sender past the mail caps of ``tickets.mailin.caps``).
    """
    body = _require_text(body, _("A message is required."))
    _lock_current(ticket)
    _check_requester(ticket, actor)
    ticket, author_name = _surviving(ticket, _writer_name(ticket, actor, author_name))
    landed = _requester_message(
        ticket,
        body=body,
        actor=actor,
        system_rule=system_rule,
        attachments=attachments,
        author_name=author_name,
        follow_up_mail=follow_up_mail,
    )
    assert landed.entry is not None  # a message always leaves an entry
    return landed.ticket, landed.entry



REQUESTER_CONFIRMED = "The requester confirmed the fix."


@transaction.atomic
def ticket_requester_reopen(
    *, ticket: Ticket, reason: str, actor: Any = None, system_rule: str | None = None
) -> RequesterWrite:
    """The requester says the fix did not hold. On a resolved ticket that reopens it; if the
    ticket moved on meanwhile (reopened by an agent, closed by the timer) their reason is
    their message to it, as it is now: appended, or a follow-up to a closed ticket."""
    reason = _require_text(reason, _("A reason to reopen is required."))
    _lock_current(ticket)
    _check_requester(ticket, actor)
    if ticket.state == State.RESOLVED:
        _reopened, entry = _reopen(ticket, actor=actor, reason=reason, system_rule=system_rule)
        return RequesterWrite(ticket, entry, RequesterWrite.REOPENED)
    return _requester_message(
        ticket, body=reason, actor=actor, system_rule=system_rule, attachments=(), author_name=None
    )


@transaction.atomic
def ticket_confirm_fix(
    *, ticket: Ticket, actor: Any = None, system_rule: str | None = None
) -> RequesterWrite:
    """The requester says the resolution worked: a resolved ticket closes. A ticket closed
    meanwhile stays closed; one reopened meanwhile stays open, and the agents are told in
    its thread that the requester considers it fixed."""
    _lock_current(ticket)
    _check_requester(ticket, actor)
    if ticket.state == State.RESOLVED:
        ticket_close(ticket=ticket, actor=actor, reason=REQUESTER_CONFIRMED, system_rule=system_rule)
        return RequesterWrite(ticket, None, RequesterWrite.CLOSED)
    if ticket.state == State.CLOSED:
        return RequesterWrite(ticket, None, RequesterWrite.ALREADY_CLOSED)
    label = _actor_label(actor, system_rule)
    _add_entry(
        ticket,
        kind=ThreadEntry.Kind.EVENT,
        body=f"{ticket.requester.name} confirmed the fix after the ticket had moved on; "
        f"it stays {ticket.get_state_display().lower()}",
        actor=actor,
        author_name=label,
    )
    _save(ticket)
    return RequesterWrite(ticket, None, RequesterWrite.NOTED)
