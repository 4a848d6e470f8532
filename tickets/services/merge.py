"""Merging a true duplicate: the same thing reported twice (by one requester, or, when the agent
confirms it, by two). The duplicate is closed by the ``merge`` move with a pointer to the
survivor; its thread entries (with their files) and its contacts move to the survivor, where
they land in order of time among the survivor's own; its number keeps leading there
(``selectors.surviving_ticket``: the portal, signed links, e-mail replies and the API). Its
transition log stays with it: its history, with who merged it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import (
    Attachment,
    InboundMessage,
    State,
    ThreadEntry,
    Ticket,
    TicketContact,
    TicketTransition,
)
from tickets.services._common import (
    TicketActionError,
    _add_entry,
    _check_can_see,
    _lock_current,
    _run,
    _save,
    display_name,
)


class MergeNeedsConfirmation(TicketActionError):
    """The two tickets have different requesters: the agent must confirm that it is one
    problem (the merged ticket's requester becomes a contact of the survivor)."""


@dataclass(frozen=True)
class MergeOutcome:
    """What a merge did: ``ticket`` closed into ``into``, ``entries`` thread entries and
    ``files`` attachments moved, ``log`` the merged ticket's transition row."""

    ticket: Ticket
    into: Ticket
    entries: int
    files: int
    log: TicketTransition


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _refusal(ticket: Ticket, into: Ticket, *, confirm_other_requester: bool) -> None:
    """Why ``ticket`` may not be merged into ``into`` as they are now (both locked)."""
    if ticket.pk == into.pk:
        raise TicketActionError(_("A ticket cannot be merged into itself."))
    if into.merged_into_id is not None:
        raise TicketActionError(
            _("#%(number)s was itself merged into another ticket: merge into that one instead.")
            % {"number": into.number}
        )
    if into.state == State.CLOSED:
        raise TicketActionError(
            _("#%(number)s is closed: merge into an open ticket.") % {"number": into.number}
        )
    if ticket.department_id != into.department_id:
        raise TicketActionError(
            _(
                "#%(number)s and #%(into)s are in different departments: transfer one to the other's "
                "department first (a merge never moves a thread where its agents could not see it)."
            )
            % {"number": ticket.number, "into": into.number}
        )
    if ticket.is_major_incident and ticket.reports.exists():
        raise TicketActionError(
            _(
                "#%(number)s is a major incident with reports linked to it: resolve it or unlink its "
                "reports first."
            )
            % {"number": ticket.number}
        )
    if ticket.requester_id != into.requester_id and not confirm_other_requester:
        raise MergeNeedsConfirmation(
            # Translators: %(name)s and %(email)s are the requester of ticket #%(number)s, %(into_name)s
            # and %(into_email)s the requester of ticket #%(into)s.
            _("#%(number)s is from %(name)s (%(email)s) and #%(into)s from %(into_name)s "
              "(%(into_email)s). Confirm that it is the same request: %(name)s becomes a contact "
              "of #%(into)s.")
            % {
                "number": ticket.number,
                "name": ticket.requester.name,
                "email": ticket.requester.email,
                "into": into.number,
                "into_name": into.requester.name,
                "into_email": into.requester.email,
            }
        )


def _copy_contacts(ticket: Ticket, into: Ticket) -> int:
    """The merged ticket's contacts the survivor lacks, and its requester if another person."""
    have = {email.lower() for email in into.contacts.values_list("email", flat=True)}
    have.add(into.requester.email.lower())
    people = [(contact.email, contact.name) for contact in ticket.contacts.all()]
    if ticket.requester_id != into.requester_id:
        people.insert(0, (ticket.requester.email, ticket.requester.name))
    new = []
    for email, name in people:
        if email and email.lower() not in have:
            have.add(email.lower())
            new.append(TicketContact(ticket=into, email=email.lower(), name=name[:120]))
    TicketContact.objects.bulk_create(new)
    return len(new)


@transaction.atomic
def ticket_merge(
    *, ticket: Ticket, into: Ticket, actor: Any, confirm_other_requester: bool = False
) -> MergeOutcome:
    """Merge ``ticket`` (a true duplicate) into ``into``, the survivor, for an agent who sees both.

    Refused for a ticket into itself, into a closed or merged ticket, across departments, for a
    major incident that still has reports, and across requesters unless the agent confirms
    (``MergeNeedsConfirmation``). The merged ticket is moved as the agent's page showed it
    (a stale page is refused); the survivor as it is now.
    """
    if actor is None or not actor.is_staff:
        raise PermissionDenied(_("Only agents merge tickets."))
    if not actor.has_perm("tickets.work_ticket"):
        raise PermissionDenied(_("Your role may not merge tickets."))
    _check_can_see(actor, ticket)
    _check_can_see(actor, into)
    if ticket.pk == into.pk:
        raise TicketActionError(_("A ticket cannot be merged into itself."))
    # Both rows locked in one order, so two merges of the same pair cannot deadlock.
    list(Ticket.objects.select_for_update().filter(pk__in=(ticket.pk, into.pk)).order_by("pk").values("pk"))
    _lock_current(into)
    _refusal(ticket, into, confirm_other_requester=confirm_other_requester)
    moving = list(ticket.thread.values_list("pk", flat=True))
    who = display_name(actor)
    log = _run(
        ticket,
        "merge",
        actor=actor,
        event=lambda t: f"Merged into #{into.number} by {who}",
        reason=f"Merged into #{into.number}",
        into=into,
        at=timezone.now(),
    )
    # Created times are kept: the survivor's thread is in order of time, so they land in order.
    files = Attachment.objects.filter(entry_id__in=moving).count()
    entries = ThreadEntry.objects.filter(pk__in=moving).update(ticket=into)
    # The e-mails they came from follow them (the workspace offers each original for download).
    InboundMessage.objects.filter(ticket=ticket).update(ticket=into)
    _copy_contacts(ticket, into)
    # Tickets merged into this one earlier now lead straight to the survivor.
    Ticket.objects.filter(merged_into=ticket).update(merged_into=into)
    _add_entry(
        into,
        kind=ThreadEntry.Kind.EVENT,
        body=f"#{ticket.number} merged into this ticket by {who}: "
        f"{_count(entries, 'entry', 'entries')}, {_count(files, 'file', 'files')} moved",
        actor=actor,
    )
    _save(into)  # its last activity is now
    return MergeOutcome(ticket=ticket, into=into, entries=entries, files=files, log=log)
