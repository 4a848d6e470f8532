"""The helpers every service shares: errors, labels, locking, the thread entry, the
transition runner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from tickets import markup, selectors, uploads
from tickets.mailout import tasks
from tickets.models import (
    Attachment,
    State,
    ThreadEntry,
    Ticket,
    TicketTransition,
    display_name,
)
from tickets.services import checks
from tickets.sla import clock
from tickets.webhooks import events as webhooks


class TicketActionError(Exception):
    """The action cannot be done as asked; the message says why, in the user's terms."""


class TicketConflict(TicketActionError):
    """Someone else changed the ticket since this copy was loaded; nothing was saved."""


# -- helpers ---------------------------------------------------------------------------------


def assignment_label(ticket: Ticket) -> str:
    """ "Jane Doe / Online Banking", "Online Banking", or "Unassigned"."""
    parts = [
        display_name(ticket.assignee) if ticket.assignee_id else "",
        str(ticket.team) if ticket.team_id else "",
    ]
    return " / ".join(p for p in parts if p) or "Unassigned"


def _actor_label(actor: Any, system_rule: str | None) -> str:
    if actor is not None:
        return display_name(actor)
    if not system_rule:
        raise ValueError("A system action must name the rule or timer that acted.")
    return f"system: {system_rule}"


def _check_can_see(actor: Any, ticket: Ticket) -> None:
    if actor is not None and not selectors.ticket_visible_to(actor, ticket):
        raise PermissionDenied(_("You cannot see this ticket."))


CONFLICT_MESSAGE = gettext_lazy(
    "This ticket changed since you opened it; nothing was saved. Reload it to see its new state."
)


def _lock_as_shown(ticket: Ticket) -> None:
    """Take the ticket's row lock for the rest of the transaction, and refuse if the ticket
    changed since this copy was loaded: an agent acts on what their page showed them.

    The lock serialises every write to the ticket (agents, requesters, timers, mail), so a
    move and a requester's message never interleave; the version check keeps a stale page
    from overwriting what it never saw.
    """
    locked = Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("version", flat=True)
    if locked.first() != ticket.loaded_version:
        raise TicketConflict(str(CONFLICT_MESSAGE))


def _lock_current(ticket: Ticket) -> None:
    """Take the ticket's row lock and reload the caller's copy as the ticket is now.

    What a requester (or their mail) writes must always land, so it is decided on the
    ticket's current state, never refused because the caller's copy is old.
    """
    ticket.refresh_from_db(from_queryset=Ticket.objects.select_for_update(of=("self",)))


def _save(ticket: Ticket) -> None:
    try:
        ticket.save()
    except ConcurrentTransition:
        raise TicketConflict(str(CONFLICT_MESSAGE)) from None


def _new_entry(
    ticket: Ticket, *, kind: str, body: str, actor: Any, author_name: str | None = None
) -> ThreadEntry:
    """A thread entry, not yet saved: public if it is a message or a reply."""
    return ThreadEntry(
        ticket=ticket,
        kind=kind,
        body=body,
        author=actor,
        author_name=author_name or display_name(actor),
        is_public=kind in (ThreadEntry.Kind.MESSAGE, ThreadEntry.Kind.REPLY),
    )


def _add_entry(
    ticket: Ticket,
    *,
    kind: str,
    body: str,
    actor: Any,
    author_name: str | None = None,
    notify: str | None = None,
) -> ThreadEntry:
    """Add to the thread; ``notify`` names what the entry is to the people it is mailed to
    (a "reply", "question", "resolution" or "reminder" for the requester, a requester's
    "message" for the agents), and the mail goes once the transaction commits."""
    entry = _new_entry(ticket, kind=kind, body=body, actor=actor, author_name=author_name)
    entry.save(force_insert=True)
    if notify is not None:
        transaction.on_commit(lambda: tasks.notify_entry.delay(entry.pk, notify), robust=True)
    if kind == ThreadEntry.Kind.REPLY:
        webhooks.emit(webhooks.Event.PUBLIC_REPLY, ticket, entry=entry)
    elif kind == ThreadEntry.Kind.MESSAGE:
        webhooks.emit(webhooks.Event.REQUESTER_MESSAGE, ticket, entry=entry)
    return entry


@dataclass
class NewTicketRows:
    """The log rows and thread entries of a ticket being created, written together when its
    intake is done: one INSERT per table rather than one per row.

    The ticket's own row needs no lock meanwhile: no other transaction can see it before this
    one commits."""

    transitions: list[TicketTransition] = field(default_factory=list)
    entries: list[ThreadEntry] = field(default_factory=list)

    def moves(self) -> list[clock.Move]:
        """The moves so far, as ``_retarget`` reads them from the log of a saved ticket."""
        return [clock.Move(log.name, log.target, log.created_at) for log in self.transitions]

    def write(self) -> None:
        TicketTransition.objects.bulk_create(self.transitions)
        for entry in self.entries:
            # bulk_create skips ThreadEntry.save, which derives the stored HTML from the body.
            entry.body_html = markup.render_markdown(entry.body)
        ThreadEntry.objects.bulk_create(self.entries)
        self.transitions, self.entries = [], []


def _system_name(actor: Any) -> str | None:
    """Public messages the system writes are signed with the help desk's name."""
    return settings.HELPDESK_NAME if actor is None else None


def _check_files(files: Sequence[Any]) -> list[uploads.CheckedUpload]:
    try:
        return uploads.check_uploads(files)
    except uploads.UploadError as exc:
        raise TicketActionError(str(exc)) from None


def _attach(entry: ThreadEntry, files: list[uploads.CheckedUpload]) -> None:
    for upload in files:
        Attachment.objects.create(
            entry=entry,
            file=File(upload.file, name=upload.filename),
            filename=upload.filename,
            content_type=upload.content_type,
            size=upload.size,
        )


def _require_text(text: str, message: Any) -> str:
    """The text without its surrounding blanks; refused with ``message`` (a whole sentence, "A
    subject is required.", lazily translated) if nothing is left."""
    text = (text or "").strip()
    if not text:
        raise TicketActionError(str(message))
    return text


def _run(
    ticket: Ticket,
    name: str,
    *,
    actor: Any,
    event: Callable[[Ticket], str],
    reason: str = "",
    system_rule: str | None = None,
    prepare: Callable[[Ticket], None] | None = None,
    notify_requester: bool = True,
    notify_agents: bool = True,
    new: NewTicketRows | None = None,
    **kwargs: Any,
) -> TicketTransition:
    """Run one lifecycle transition for ``actor`` and leave its log row and thread event.

    ``prepare`` sets fields that follow from the move (first response, say) so that the
    ticket is saved once; the SLA due times are re-computed for every move, because the
    clock stops and starts with the state. ``notify_*=False`` keeps the move's mail from
    the requester or the agents (a rule that suppresses the auto-response, spam). ``new``
    holds the rows of a ticket being created (the intake's moves), written by its creator.
    """
    if new is None:
        _lock_as_shown(ticket)
    method = getattr(ticket, name)
    source = ticket.state
    label = _actor_label(actor, system_rule)
    # The same refusal the console shows beside a greyed move (tickets.services.checks).
    refusal = checks.move_refusal(ticket, name, actor)
    if refusal is not None:
        raise (PermissionDenied if refusal.permission else TicketActionError)(refusal.message)
    try:
        method(**kwargs)
    except TransitionNotAllowed as exc:
        raise TicketActionError(str(exc)) from None
    except ValueError as exc:
        raise TicketActionError(str(exc)) from None
    left = _leave_incident(ticket) if name in LEAVE_INCIDENT else None
    if prepare is not None:
        prepare(ticket)
    now = timezone.now()
    if name == "resolve":
        _mark_resolution(ticket, at=now)
    ticket.state_changed_at = now
    ticket.reminded_at = None
    pending = clock.Move(name, ticket.state, now)
    _retarget(ticket, now=now, pending=pending, log=new.moves() if new is not None else None)
    _save(ticket)
    log = TicketTransition(
        ticket=ticket,
        name=name,
        source=source,
        target=ticket.state,
        actor=actor,
        actor_label=label,
        reason=reason,
        created_at=now,
    )
    if new is None:
        log.save(force_insert=True)
        _add_entry(ticket, kind=ThreadEntry.Kind.EVENT, body=event(ticket), actor=actor, author_name=label)
    else:
        new.transitions.append(log)
        new.entries.append(
            _new_entry(
                ticket, kind=ThreadEntry.Kind.EVENT, body=event(ticket), actor=actor, author_name=label
            )
        )
    if left is not None:
        _add_entry(
            ticket,
            kind=ThreadEntry.Kind.EVENT,
            body=f"Left major incident #{left.number}: back to work on its own",
            actor=actor,
            author_name=label,
        )
        _add_entry(
            left,
            kind=ThreadEntry.Kind.EVENT,
            body=f"#{ticket.number} left this incident: {name.replace('_', ' ')} by {label}",
            actor=actor,
            author_name=label,
        )
    if notify_requester or notify_agents:
        transaction.on_commit(
            lambda: tasks.notify_transition.delay(log.pk, requester=notify_requester, agents=notify_agents),
            robust=True,
        )
    if name == "intake":
        webhooks.emit(webhooks.Event.CREATED, ticket)
    webhooks.emit(webhooks.Event.TRANSITION, ticket, transition=log)
    return log


# The moves after which a report of a major incident goes on alone: the fix did not hold for
# its requester, or the ticket is taken out of the incident's flow.
LEAVE_INCIDENT = ("reopen", "cancel", "merge")


def _leave_incident(ticket: Ticket) -> Ticket | None:
    """Take a report off its incident (the caller writes the events); the incident, or None."""
    if ticket.incident_id is None:
        return None
    incident = ticket.incident
    ticket.incident = None
    return incident


def _retarget(
    ticket: Ticket, *, now: Any, pending: clock.Move | None = None, log: list[clock.Move] | None = None
) -> None:
    """Compute the due times from the transition log (and the move being made, if any);
    ``log`` is the log when the caller has it (a ticket being created), else it is read.

    A missed target stays marked as acted on (``*_breached_at``) until its due time moves
    into the future again, so the overdue job acts once on each miss.
    """
    if log is None:
        log = [
            clock.Move(name, target, at)
            for name, target, at in ticket.transitions.order_by("created_at", "id").values_list(
                "name", "target", "created_at"
            )
        ]
    else:
        log = list(log)
    if pending is not None:
        log.append(pending)
    first, resolution = clock.due_times_from_log(
        ticket.sla, priority=ticket.priority, created_at=ticket.created_at, log=log
    )
    if ticket.incident_id is not None:
        # A report's resolution clock is its incident's (tickets.services.incidents).
        resolution = None
    if ticket.first_responded_at is not None:
        first = None
    ticket.first_response_due, ticket.resolution_due = first, resolution
    if first is not None and first > now:
        ticket.first_response_breached_at = None
    if resolution is not None and resolution > now:
        ticket.resolution_breached_at = None


def _mark_first_response(ticket: Ticket, *, at: Any) -> None:
    """The first public reply meets the first-response target, or misses it: its due time is
    the one the clock set at the last move (it runs until a first response: asking the
    requester and resolving are first responses); None when there is no target."""
    if ticket.first_responded_at is None:
        ticket.first_responded_at = at
        due = ticket.first_response_due
        ticket.first_response_met = None if due is None else at <= due
        ticket.first_response_due = None


def _mark_resolution(ticket: Ticket, *, at: Any) -> None:
    """A resolve met the resolution target if it came by the due time the clock set at the
    last move; with the clock stopped (awaiting the requester) a target not yet missed has no
    due time, and is met. Every plan has a resolution target; no plan, no target."""
    if ticket.incident_id is not None:
        # A report is on its incident's clock: resolved with it, met or missed as the incident's
        # resolution was; resolved alone before it, by the incident's due time.
        incident = ticket.incident
        if incident.state in (State.RESOLVED, State.CLOSED):
            ticket.resolution_met = incident.resolution_met
        else:
            due = incident.resolution_due
            ticket.resolution_met = None if incident.sla_id is None else (due is None or at <= due)
        return
    due = ticket.resolution_due
    ticket.resolution_met = None if ticket.sla_id is None else (due is None or at <= due)


def ticket_ensure_unchanged(ticket: Ticket, *, version: int | None) -> None:
    """Refuse an action posted from a page that showed an older version of the ticket."""
    if version is not None and version != ticket.version:
        raise TicketConflict(str(CONFLICT_MESSAGE))
