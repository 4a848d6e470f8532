"""Every write to a ticket goes through here.

A service checks who is asking (visibility from ``tickets.selectors``, transition
permissions with ``has_transition_perm``), runs in one transaction, records the move in
``TicketTransition`` and the thread, and queues mail with ``transaction.on_commit`` so that
nothing is sent for a change that rolls back. ``actor=None`` is the system (intake, timers,
mail), which must name the rule that acted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed, can_proceed, has_transition_perm

from tickets import notifications, routing, selectors, sla, tasks, uploads
from tickets.models import (
    AgentProfile,
    Attachment,
    Department,
    HelpTopic,
    Priority,
    Requester,
    SLAPlan,
    State,
    Team,
    ThreadEntry,
    Ticket,
    TicketTransition,
)


class TicketActionError(Exception):
    """The action cannot be done as asked; the message says why, in the user's terms."""


class TicketConflict(TicketActionError):
    """Someone else changed the ticket since this copy was loaded; nothing was saved."""


# -- helpers ---------------------------------------------------------------------------------


def display_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "System"


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
        raise PermissionDenied("You cannot see this ticket.")


CONFLICT_MESSAGE = (
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
        raise TicketConflict(CONFLICT_MESSAGE)


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
        raise TicketConflict(CONFLICT_MESSAGE) from None


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
    entry = ThreadEntry.objects.create(
        ticket=ticket,
        kind=kind,
        body=body,
        author=actor,
        author_name=author_name or display_name(actor),
        is_public=kind in (ThreadEntry.Kind.MESSAGE, ThreadEntry.Kind.REPLY),
    )
    if notify is not None:
        transaction.on_commit(lambda: tasks.notify_entry.delay(entry.pk, notify), robust=True)
    return entry


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


def _require_text(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise TicketActionError(f"{what} is required.")
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
    **kwargs: Any,
) -> TicketTransition:
    """Run one lifecycle transition for ``actor`` and leave its log row and thread event.

    ``prepare`` sets fields that follow from the move (first response, say) so that the
    ticket is saved once; the SLA due times are re-computed for every move, because the
    clock stops and starts with the state. ``notify_*=False`` keeps the move's mail from
    the requester or the agents (a rule that suppresses the auto-response, spam).
    """
    _lock_as_shown(ticket)
    method = getattr(ticket, name)
    source = ticket.state
    label = _actor_label(actor, system_rule)
    if not can_proceed(method, check_conditions=False):
        raise TicketActionError(
            f"A ticket that is {ticket.get_state_display().lower()} cannot {name.replace('_', ' ')}."
        )
    if actor is not None:
        _check_can_see(actor, ticket)
        if not can_proceed(method):
            raise TicketActionError(
                f"This ticket is not ready to {name.replace('_', ' ')} (it has no assignee)."
            )
        if not has_transition_perm(method, actor):
            raise PermissionDenied(f"You may not {name.replace('_', ' ')} this ticket.")
    try:
        method(**kwargs)
    except TransitionNotAllowed as exc:
        raise TicketActionError(str(exc)) from None
    except ValueError as exc:
        raise TicketActionError(str(exc)) from None
    if prepare is not None:
        prepare(ticket)
    now = timezone.now()
    ticket.state_changed_at = now
    ticket.reminded_at = None
    _retarget(ticket, now=now, pending=sla.Move(name, ticket.state, now))
    _save(ticket)
    log = TicketTransition.objects.create(
        ticket=ticket,
        name=name,
        source=source,
        target=ticket.state,
        actor=actor,
        actor_label=label,
        reason=reason,
        created_at=now,
    )
    _add_entry(ticket, kind=ThreadEntry.Kind.EVENT, body=event(ticket), actor=actor, author_name=label)
    if notify_requester or notify_agents:
        transaction.on_commit(
            lambda: tasks.notify_transition.delay(log.pk, requester=notify_requester, agents=notify_agents),
            robust=True,
        )
    return log


def _start_work_if_assignee(ticket: Ticket, actor: Any) -> None:
    """The assignee's first reply or note on an assigned ticket starts the work."""
    if actor is not None and ticket.state == State.ASSIGNED and ticket.assignee_id == actor.pk:
        ticket_start_work(ticket=ticket, actor=actor)


# -- creation and intake ---------------------------------------------------------------------


@transaction.atomic
def requester_get_or_create(*, email: str, name: str, phone: str = "", user: Any = None) -> Requester:
    """The requester with this address (any case), created on first contact."""
    email = email.strip()
    requester = Requester.objects.filter(email__iexact=email).first()
    if requester is None:
        return Requester.objects.create(
            email=email.lower(), name=(name.strip() or email)[:120], phone=phone.strip()[:40], user=user
        )
    if user is not None and requester.user_id is None:
        requester.user = user
        requester.save(update_fields=["user"])
    return requester


@transaction.atomic
def ticket_create(
    *,
    requester: Requester,
    subject: str,
    body: str,
    help_topic: HelpTopic | None = None,
    source: str = Ticket.Source.WEB,
    actor: Any = None,
    follow_up_of: Ticket | None = None,
    attachments: Sequence[Any] = (),
    department: Department | None = None,
    acknowledge: bool = True,
    alert_agents: bool = True,
) -> Ticket:
    """Creation and intake in one transaction: the ticket leaves here `open` and numbered.

    ``actor`` is the requester's account, or the agent logging a phone call; None for
    e-mail and guests. Properties come from the routing rules, the help topic, then
    ``department`` (a mailbox's) and the defaults. Files are checked by ``tickets.uploads``;
    one bad file refuses the whole ticket. ``acknowledge=False`` sends the requester no
    acknowledgement (mail that came through a list); ``alert_agents=False`` tells no agent
    (a sender past the mail caps of ``tickets.inbound``).
    """
    subject = _require_text(subject, "A subject")
    body = _require_text(body, "A description")
    files = _check_files(attachments)
    if help_topic is not None and not help_topic.is_active:
        raise TicketActionError("That help topic is no longer offered.")
    ticket = Ticket.objects.create(
        subject=subject[:255],
        requester=requester,
        source=source,
        help_topic=help_topic,
        follow_up_of=follow_up_of,
    )
    author = actor if actor is not None and not actor.is_staff else None
    TicketTransition.objects.create(
        ticket=ticket,
        name="create",
        source="",
        target=State.NEW,
        actor=actor,
        actor_label=display_name(actor) if actor is not None else requester.name,
    )
    message = ThreadEntry.objects.create(
        ticket=ticket,
        kind=ThreadEntry.Kind.MESSAGE,
        body=body,
        author=author,
        author_name=requester.name,
        is_public=True,
    )
    _intake(ticket, body=body, department=department, acknowledge=acknowledge, alert_agents=alert_agents)
    # Files are written after intake, whose refusals (no default department) are the ones
    # expected; a rollback later than this leaves an orphan file, never a missing one.
    _attach(message, files)
    return ticket


@transaction.atomic
def ticket_create_for_contact(
    *, email: str, name: str, phone: str = "", **ticket: Any
) -> tuple[Requester, Ticket]:
    """A ticket from someone known only by their contact details (a guest in the portal, a
    caller on the phone): the requester is found or made in the same transaction, so a ticket
    that is refused leaves no new requester behind."""
    requester = requester_get_or_create(email=email, name=name, phone=phone)
    return requester, ticket_create(requester=requester, **ticket)


def _intake(
    ticket: Ticket,
    *,
    body: str,
    department: Department | None = None,
    acknowledge: bool = True,
    alert_agents: bool = True,
) -> None:
    """Number the ticket and give it its properties: the routing rules' first, then the help
    topic's, then the defaults. A rule may also name an agent (the ticket is assigned) or
    reject the ticket as spam (it is cancelled at once, and nobody is mailed)."""
    topic = ticket.help_topic
    rules = routing.evaluate(
        routing.active_rules(),
        routing.Facts(
            email=ticket.requester.email,
            subject=ticket.subject,
            body=body,
            help_topic=topic.full_name if topic else "",
            source=ticket.source,
        ),
    )
    topic = rules.help_topic or topic
    department = (
        rules.department
        or (topic and topic.department)
        or department
        or Department.objects.filter(is_default=True).first()
    )
    if department is None:
        raise TicketActionError("No default department is configured; an admin must mark one as default.")
    plan = (
        rules.sla
        or (topic and topic.sla)
        or department.sla
        or SLAPlan.objects.filter(is_default=True).first()
    )
    priority = (
        rules.priority or (topic and topic.priority) or Priority.objects.filter(is_default=True).first()
    )
    applied = ", ".join(f"“{name}”" for name in rules.rules)
    _run(
        ticket,
        "intake",
        actor=None,
        system_rule="intake",
        reason=f"Routing rules applied: {applied}" if applied else "",
        number=f"{100000 + ticket.pk}",
        help_topic=topic,
        department=department,
        priority=priority,
        sla=plan,
        team=rules.team or (topic.team if topic else None),
        notify_requester=acknowledge and not rules.quiet,
        notify_agents=alert_agents and not rules.spam,
        event=lambda t: (
            f"Received: department {t.department}, priority {t.priority or '-'}, "
            f"SLA plan {t.sla or '-'}, {assignment_label(t)}"
            + (f" (routing rules {applied})" if applied else "")
        ),
    )
    if rules.spam:
        rule = f"routing rule “{rules.set_by['spam']}”"
        _run(
            ticket,
            "cancel",
            actor=None,
            system_rule=rule,
            reason="Rejected as spam",
            at=timezone.now(),
            notify_requester=False,
            notify_agents=False,
            event=lambda t: f"Rejected as spam by {rule}",
        )
    elif rules.agent is not None and rules.agent.is_active and rules.agent.is_staff:
        rule = f"routing rule “{rules.set_by['agent']}”"
        _run(
            ticket,
            "assign",
            actor=None,
            system_rule=rule,
            agent=rules.agent,
            team=ticket.team,
            notify_agents=alert_agents,
            event=lambda t: f"Assigned to {assignment_label(t)} by {rule}",
        )


def _retarget(ticket: Ticket, *, now: Any, pending: sla.Move | None = None) -> None:
    """Compute the due times from the transition log (and the move being made, if any).

    A missed target stays marked as acted on (``*_breached_at``) until its due time moves
    into the future again, so the overdue job acts once on each miss.
    """
    log = [
        sla.Move(name, target, at)
        for name, target, at in ticket.transitions.order_by("created_at", "id").values_list(
            "name", "target", "created_at"
        )
    ]
    if pending is not None:
        log.append(pending)
    first, resolution = sla.due_times_from_log(
        ticket.sla, priority=ticket.priority, created_at=ticket.created_at, log=log
    )
    if ticket.first_responded_at is not None:
        first = None
    ticket.first_response_due, ticket.resolution_due = first, resolution
    if first is not None and first > now:
        ticket.first_response_breached_at = None
    if resolution is not None and resolution > now:
        ticket.resolution_breached_at = None


def _mark_first_response(ticket: Ticket, *, at: Any) -> None:
    """The first public reply meets the first-response target."""
    if ticket.first_responded_at is None:
        ticket.first_responded_at = at
        ticket.first_response_due = None


def ticket_ensure_unchanged(ticket: Ticket, *, version: int | None) -> None:
    """Refuse an action posted from a page that showed an older version of the ticket."""
    if version is not None and version != ticket.version:
        raise TicketConflict(CONFLICT_MESSAGE)


# -- properties ------------------------------------------------------------------------------

_UNSET: Any = object()


@transaction.atomic
def ticket_update_properties(
    *,
    ticket: Ticket,
    actor: Any,
    help_topic: HelpTopic | None = _UNSET,
    priority: Priority | None = _UNSET,
    sla_plan: SLAPlan | None = _UNSET,
    department: Department | None = _UNSET,
) -> list[str]:
    """Change properties; each change becomes a thread event. Returns the event texts."""
    _lock_as_shown(ticket)
    _check_can_see(actor, ticket)
    if not actor.has_perm("tickets.change_ticket"):
        raise PermissionDenied("You may not change this ticket's properties.")
    if not ticket.is_active:
        raise TicketActionError(f"A {ticket.get_state_display().lower()} ticket's properties cannot change.")
    if department is None:
        raise TicketActionError("A ticket must belong to a department.")
    changes: list[str] = []
    for field, label, value in (
        ("help_topic", "help topic", help_topic),
        ("priority", "priority", priority),
        ("sla", "SLA plan", sla_plan),
        ("department", "department", department),
    ):
        if value is _UNSET or getattr(ticket, f"{field}_id") == (value.pk if value else None):
            continue
        old = getattr(ticket, field)
        setattr(ticket, field, value)
        changes.append(f"{display_name(actor)} changed the {label} from {old or '-'} to {value or '-'}")
    if not changes:
        return changes
    if priority is not _UNSET or sla_plan is not _UNSET:
        _retarget(ticket, now=timezone.now())
    _save(ticket)
    for text in changes:
        _add_entry(ticket, kind=ThreadEntry.Kind.EVENT, body=text, actor=actor)
    return changes


# -- the lifecycle ---------------------------------------------------------------------------


@transaction.atomic
def ticket_assign(
    *,
    ticket: Ticket,
    actor: Any,
    agent: Any = None,
    team: Team | None = None,
    department: Department | None = None,
) -> TicketTransition:
    """Assign to an agent and/or a team; naming another department transfers the ticket."""
    if agent is not None and not (agent.is_active and agent.is_staff):
        raise TicketActionError(f"{display_name(agent)} is not an active agent.")
    return _run(
        ticket,
        "assign",
        actor=actor,
        agent=agent,
        team=team,
        department=department,
        event=lambda t: (
            f"Assigned to {assignment_label(t)} by {display_name(actor)}"
            + (f" (transferred to {department})" if department else "")
        ),
    )


@transaction.atomic
def ticket_claim(*, ticket: Ticket, actor: Any) -> TicketTransition:
    return _run(
        ticket,
        "claim",
        actor=actor,
        agent=actor,
        event=lambda t: f"{display_name(actor)} took the ticket over: {assignment_label(t)}",
    )


@transaction.atomic
def ticket_start_work(*, ticket: Ticket, actor: Any) -> TicketTransition:
    return _run(ticket, "start_work", actor=actor, event=lambda t: f"{display_name(actor)} started work")


@transaction.atomic
def ticket_reply(*, ticket: Ticket, actor: Any, body: str, attachments: Sequence[Any] = ()) -> ThreadEntry:
    """A public reply to the requester (e-mailed to them)."""
    body = _require_text(body, "A reply")
    _lock_as_shown(ticket)
    _check_can_see(actor, ticket)
    if not actor.is_staff or not actor.has_perm("tickets.work_ticket"):
        raise PermissionDenied("You may not reply on this ticket.")
    if ticket.state in (State.NEW, State.CLOSED):
        raise TicketActionError("A closed ticket takes no replies; the requester can open a follow-up.")
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
    body = _require_text(body, "A note")
    _lock_as_shown(ticket)
    _check_can_see(actor, ticket)
    if not actor.is_staff or not actor.has_perm("tickets.work_ticket"):
        raise PermissionDenied("You may not add notes to this ticket.")
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
        body=_require_text(body, "A note"),
        actor=None,
        author_name=f"system: {source}",
    )
    _attach(entry, files)
    _save(ticket)
    return entry


@transaction.atomic
def ticket_request_info(*, ticket: Ticket, actor: Any, message: str) -> TicketTransition:
    """Ask the requester a question; the ticket waits for them (and the SLA clock pauses)."""
    message = _require_text(message, "A question for the requester")
    log = _run(
        ticket,
        "request_info",
        actor=actor,
        prepare=lambda t: _mark_first_response(t, at=timezone.now()),
        event=lambda t: f"{display_name(actor)} asked the requester for information",
    )
    _add_entry(ticket, kind=ThreadEntry.Kind.REPLY, body=message, actor=actor, notify="question")
    return log


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
    if actor is not None and ticket.requester.user_id != actor.pk:
        raise PermissionDenied("Only the requester can write here.")
    if ticket.number is None:
        raise TicketActionError("This ticket is still being created.")


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
    follow-up it opens (a sender past the mail caps of ``tickets.inbound``).
    """
    body = _require_text(body, "A message")
    _lock_current(ticket)
    _check_requester(ticket, actor)
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


@transaction.atomic
def ticket_escalate(
    *,
    ticket: Ticket,
    actor: Any,
    summary: str,
    team: Team | None = None,
    department: Department | None = None,
    system_rule: str | None = None,
) -> TicketTransition:
    """Hand the ticket to a higher-tier team or department with a summary for them."""
    summary = _require_text(summary, "A hand-off summary")
    log = _run(
        ticket,
        "escalate",
        actor=actor,
        system_rule=system_rule,
        reason=summary,
        team=team,
        department=department,
        event=lambda t: (
            f"Escalated by {_actor_label(actor, system_rule)} to {assignment_label(t)} "
            f"(department {t.department}, tier {t.tier})"
        ),
    )
    _add_entry(
        ticket,
        kind=ThreadEntry.Kind.NOTE,
        body=f"Hand-off summary: {summary}",
        actor=actor,
        author_name=log.actor_label,
    )
    return log


@transaction.atomic
def ticket_resolve(
    *, ticket: Ticket, actor: Any, message: str, system_rule: str | None = None
) -> TicketTransition:
    """Resolve with a public message that tells the requester what was done."""
    message = _require_text(message, "A resolution message")
    now = timezone.now()
    log = _run(
        ticket,
        "resolve",
        actor=actor,
        system_rule=system_rule,
        at=now,
        prepare=lambda t: _mark_first_response(t, at=now),
        event=lambda t: f"Resolved by {_actor_label(actor, system_rule)}",
    )
    _add_entry(
        ticket,
        kind=ThreadEntry.Kind.REPLY,
        body=message,
        actor=actor,
        author_name=_system_name(actor),
        notify="resolution",
    )
    return log


@transaction.atomic
def ticket_reopen(
    *, ticket: Ticket, actor: Any, reason: str, system_rule: str | None = None
) -> TicketTransition:
    """The fix did not hold: back to work at the tier it was at.

    ``actor=None`` is the requester acting through a signed ticket link (``system_rule``
    names the channel); their reason also lands in the thread as their message.
    """
    return _reopen(ticket, actor=actor, reason=reason, system_rule=system_rule)[0]


def _reopen(
    ticket: Ticket, *, actor: Any, reason: str, system_rule: str | None
) -> tuple[TicketTransition, ThreadEntry | None]:
    reason = _require_text(reason, "A reason to reopen")
    log = _run(
        ticket,
        "reopen",
        actor=actor,
        system_rule=system_rule,
        reason=reason,
        event=lambda t: f"Reopened by {_actor_label(actor, system_rule)}: {reason}",
    )
    if actor is not None and ticket.requester.user_id != actor.pk:
        return log, None
    entry = _add_entry(
        ticket,
        kind=ThreadEntry.Kind.MESSAGE,
        body=reason,
        actor=actor,
        author_name=ticket.requester.name,
        notify="message",
    )
    return log, entry


@transaction.atomic
def ticket_close(
    *, ticket: Ticket, actor: Any, reason: str = "", system_rule: str | None = None
) -> TicketTransition:
    return _run(
        ticket,
        "close",
        actor=actor,
        system_rule=system_rule,
        reason=reason,
        at=timezone.now(),
        event=lambda t: f"Closed by {_actor_label(actor, system_rule)}" + (f": {reason}" if reason else ""),
    )


REQUESTER_CONFIRMED = "The requester confirmed the fix."


@transaction.atomic
def ticket_requester_reopen(
    *, ticket: Ticket, reason: str, actor: Any = None, system_rule: str | None = None
) -> RequesterWrite:
    """The requester says the fix did not hold. On a resolved ticket that reopens it; if the
    ticket moved on meanwhile (reopened by an agent, closed by the timer) their reason is
    their message to it, as it is now: appended, or a follow-up to a closed ticket."""
    reason = _require_text(reason, "A reason to reopen")
    _lock_current(ticket)
    _check_requester(ticket, actor)
    if ticket.state == State.RESOLVED:
        _, entry = _reopen(ticket, actor=actor, reason=reason, system_rule=system_rule)
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


@transaction.atomic
def ticket_cancel(*, ticket: Ticket, actor: Any, reason: str) -> TicketTransition:
    """Close a ticket that needs no work (spam, duplicate), with the reason."""
    reason = _require_text(reason, "A reason to cancel")
    return _run(
        ticket,
        "cancel",
        actor=actor,
        reason=reason,
        at=timezone.now(),
        event=lambda t: f"Cancelled by {display_name(actor)}: {reason}",
    )


# -- the SLA watch and the state timers (run by tickets.jobs) ----------------------------------

SLA_WATCH = "SLA watch"
OVERDUE_LABELS = notifications.OVERDUE_TARGETS


def _missed(ticket: Ticket, target: str, now: Any) -> bool:
    due = getattr(ticket, f"{target}_due")
    return due is not None and due <= now and getattr(ticket, f"{target}_breached_at") is None


@transaction.atomic
def ticket_mark_overdue(*, ticket: Ticket, now: Any) -> TicketTransition | None:
    """The ticket missed its first-response or resolution target (or both): mark each missed
    target acted on, alert the assignee, the team lead and the department manager once, and
    escalate the ticket when its SLA plan says so (the plan is the rule named in the log).
    Returns the escalation, if there was one."""
    _lock_as_shown(ticket)
    missed = [target for target in OVERDUE_LABELS if _missed(ticket, target, now)]
    if not missed:
        raise TicketActionError("This ticket is not overdue.")
    late = []
    for target in missed:
        was_due = f"{timezone.localtime(getattr(ticket, f'{target}_due')):%d %b %Y, %H:%M}"
        late.append(f"the {OVERDUE_LABELS[target]} was due {was_due}")
        setattr(ticket, f"{target}_breached_at", now)
    _save(ticket)
    for text in late:
        _add_entry(
            ticket,
            kind=ThreadEntry.Kind.EVENT,
            body=f"Overdue: {text}",
            actor=None,
            author_name=f"system: {SLA_WATCH}",
        )
    ticket_id, recipients = ticket.pk, notifications.overdue_recipients(ticket)
    transaction.on_commit(lambda: tasks.notify_overdue.delay(ticket_id, missed, recipients), robust=True)
    plan = ticket.sla
    if plan is None or plan.on_overdue != SLAPlan.OnOverdue.ESCALATE:
        return None
    rule = f"SLA plan “{plan.name}”: escalate when overdue"
    try:
        with transaction.atomic():
            return ticket_escalate(
                ticket=ticket,
                actor=None,
                system_rule=rule,
                team=plan.escalate_to_team,
                department=plan.escalate_to_department,
                summary=f"Escalated automatically as overdue: {' and '.join(late)}.",
            )
    except TicketActionError as exc:
        ticket.refresh_from_db()
        _add_entry(
            ticket,
            kind=ThreadEntry.Kind.NOTE,
            body=f"Not escalated automatically: {exc}",
            actor=None,
            author_name=f"system: {rule}",
        )
        return None


@transaction.atomic
def ticket_remind_requester(*, ticket: Ticket, message: str, timer: str, now: Any) -> ThreadEntry:
    """Remind a requester who has not answered our question (a public message, mailed)."""
    _lock_as_shown(ticket)
    if ticket.state != State.AWAITING_USER:
        raise TicketActionError("Only a ticket waiting for the requester can remind them.")
    if ticket.reminded_at is not None:
        raise TicketActionError("The requester was already reminded.")
    ticket.reminded_at = now
    _save(ticket)
    _add_entry(
        ticket,
        kind=ThreadEntry.Kind.EVENT,
        body="Reminded the requester of our question",
        actor=None,
        author_name=f"system: {timer}",
    )
    return _add_entry(
        ticket,
        kind=ThreadEntry.Kind.REPLY,
        body=message,
        actor=None,
        author_name=settings.HELPDESK_NAME,
        notify="reminder",
    )


# -- agents' own settings ---------------------------------------------------------------------


@transaction.atomic
def agent_alerts_update(*, user: Any, alerts: dict[str, bool]) -> AgentProfile:
    """Turn an agent's e-mail alerts on or off (only their own: the caller passes them)."""
    if not (user.is_active and user.is_staff):
        raise PermissionDenied("Only agents have alerts.")
    unknown = set(alerts) - set(AgentProfile.ALERTS)
    if unknown:
        raise TicketActionError(f"No such alert: {', '.join(sorted(unknown))}.")
    profile, _ = AgentProfile.objects.get_or_create(user=user)
    for name, value in alerts.items():
        setattr(profile, name, bool(value))
    profile.save(update_fields=list(alerts) or None)
    return profile


@dataclass(frozen=True)
class AvailableAction:
    name: str
    label: str


ACTION_LABELS = {
    "assign": "Assign",
    "claim": "Take it",
    "start_work": "Start work",
    "request_info": "Ask the requester",
    "escalate": "Escalate",
    "resolve": "Resolve",
    "reopen": "Reopen",
    "close": "Close",
    "cancel": "Cancel",
}


def available_actions(*, ticket: Ticket, actor: Any) -> list[AvailableAction]:
    """The transitions this user may run on this ticket now (for buttons and the admin)."""
    return [
        AvailableAction(t.name, ACTION_LABELS[t.name])
        for t in ticket.get_available_user_state_transitions(actor)
        if t.name in ACTION_LABELS
    ]


# -- bulk ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkOutcome:
    ticket: Ticket
    ok: bool
    message: str


BULK_ACTIONS: dict[str, Callable[..., Any]] = {
    "assign": ticket_assign,
    "claim": ticket_claim,
    "close": ticket_close,
    "cancel": ticket_cancel,
}


def tickets_bulk(*, tickets: Sequence[Ticket], actor: Any, action: str, **kwargs: Any) -> list[BulkOutcome]:
    """Run one action on several tickets, each in its own transaction: one refusal does not
    undo the others, and each outcome says what happened to that ticket."""
    service = BULK_ACTIONS[action]
    outcomes = []
    for ticket in tickets:
        try:
            service(ticket=ticket, actor=actor, **kwargs)
        except (TicketActionError, PermissionDenied) as exc:
            outcomes.append(BulkOutcome(ticket, False, str(exc)))
        else:
            outcomes.append(BulkOutcome(ticket, True, f"{ACTION_LABELS[action]}: done"))
    return outcomes
