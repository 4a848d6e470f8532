"""Creating tickets: the requester, the new ticket from any channel, its intake (routing,
SLA, acknowledgement), and its editable properties."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import catalog, locales, metrics, routing
from tickets.models import (
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
from tickets.services._common import (
    NewTicketRows,
    TicketActionError,
    _add_entry,
    _attach,
    _check_can_see,
    _check_files,
    _lock_as_shown,
    _new_entry,
    _require_text,
    _retarget,
    _run,
    _save,
    assignment_label,
    display_name,
)
from tickets.services.preferences import _requester_heard_from

# -- creation and intake ---------------------------------------------------------------------


def _requester_get_or_create(
    *, email: str, name: str, phone: str = "", user: Any = None, language: str = "", time_zone: str = ""
) -> Requester:
    """The requester with this address (any case), created on first contact. ``language`` and
    ``time_zone`` are what their message says of them (the portal's language, an e-mail's
    Content-Language, the browser's zone): kept for the mail they get, when known."""
    email = email.strip()
    requester = Requester.objects.filter(email__iexact=email).first()
    if requester is None:
        return Requester.objects.create(
            email=email.lower(),
            name=(name.strip() or email)[:120],
            phone=phone.strip()[:40],
            user=user,
            language=locales.language(language),
            time_zone=locales.time_zone(time_zone),
        )
    if user is not None and requester.user_id is None:
        requester.user = user
        requester.save(update_fields=["user"])
    _requester_heard_from(requester, language=language, time_zone=time_zone)
    return requester


def _ticket_create(
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
    priority_hint: Priority | None = None,
    language: str = "",
    time_zone: str = "",
) -> Ticket:
    """Creation and intake in one transaction: the ticket leaves here `open` and numbered.

    ``actor`` is the requester's account, or the agent logging a phone call; None for
    e-mail and guests. Properties come from the routing rules, the help topic, then
    ``department`` (a mailbox's) and the defaults. Files are checked by ``tickets.uploads``;
    one bad file refuses the whole ticket. ``acknowledge=False`` sends the requester no
    acknowledgement (mail that came through a list); ``alert_agents=False`` tells no agent
    (a sender past the mail caps of ``tickets.mailin.caps``). ``priority_hint`` is the
    priority the channel suggests (an API client's), used when no rule and no topic sets one.
    ``language`` and ``time_zone`` are the requester's as their message shows them (the
    portal's language, their browser's zone): kept for their mail.
    """
    _requester_heard_from(requester, language=language, time_zone=time_zone)
    subject = _require_text(subject, _("A subject is required."))
    body = _require_text(body, _("A description is required."))
    files = _check_files(attachments)
    if help_topic is not None and not help_topic.is_active:
        raise TicketActionError(_("That help topic is no longer offered."))
    ticket = Ticket.objects.create(
        subject=subject[:255],
        requester=requester,
        source=source,
        help_topic=help_topic,
        follow_up_of=follow_up_of,
    )
    # An agent opening a ticket for someone (a phone call, the API) writes down the requester's
    # words: the entry is the agent's, marked as written on the requester's behalf.
    on_behalf = actor is not None and actor.is_staff
    new = NewTicketRows()
    new.transitions.append(
        TicketTransition(
            ticket=ticket,
            name="create",
            source="",
            target=State.NEW,
            actor=actor,
            actor_label=display_name(actor) if actor is not None else requester.name,
        )
    )
    message = _new_entry(
        ticket,
        kind=ThreadEntry.Kind.MESSAGE,
        body=body,
        actor=actor,
        author_name=display_name(actor) if on_behalf else requester.name,
    )
    message.on_behalf_of_requester = on_behalf
    new.entries.append(message)
    _intake(
        ticket,
        new=new,
        body=body,
        department=department,
        acknowledge=acknowledge,
        alert_agents=alert_agents,
        priority_hint=priority_hint,
    )
    new.write()
    metrics.count_on_commit(metrics.TICKETS_CREATED, source=str(ticket.source))
    # Files are written after intake, whose refusals (no default department) are the ones
    # expected; a rollback later than this leaves an orphan file, never a missing one.
    _attach(message, files)
    return ticket


# The services hold their own transaction; the private forms above are their steps inside
# another service's (a savepoint each would be two more queries, and undo nothing more).
requester_get_or_create = transaction.atomic(_requester_get_or_create)
ticket_create = transaction.atomic(_ticket_create)


@transaction.atomic
def ticket_create_for_contact(
    *, email: str, name: str, phone: str = "", language: str = "", time_zone: str = "", **ticket: Any
) -> tuple[Requester, Ticket]:
    """A ticket from someone known only by their contact details (a guest in the portal, a
    caller on the phone): the requester is found or made in the same transaction, so a ticket
    that is refused leaves no new requester behind."""
    requester = _requester_get_or_create(
        email=email, name=name, phone=phone, language=language, time_zone=time_zone
    )
    return requester, _ticket_create(requester=requester, **ticket)


def _intake(
    ticket: Ticket,
    *,
    new: NewTicketRows,
    body: str,
    department: Department | None = None,
    acknowledge: bool = True,
    alert_agents: bool = True,
    priority_hint: Priority | None = None,
) -> None:
    """Number the ticket and give it its properties: the routing rules' first, then the help
    topic's, then the defaults. A rule may also name an agent (the ticket is assigned) or
    reject the ticket as spam (it is cancelled at once, and nobody is mailed)."""
    config = catalog.catalog()  # the topic's targets and the defaults, without a query
    topic = catalog.row(config.help_topics, HelpTopic, ticket.help_topic_id)
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
        or (topic and catalog.row(config.departments, Department, topic.department_id))
        or department
        or catalog.default(config.departments, Department)
    )
    if department is None:
        raise TicketActionError(
            _("No default department is configured; an admin must mark one as default.")
        )
    plan = (
        rules.sla
        or (topic and catalog.row(config.sla_plans, SLAPlan, topic.sla_id))
        or catalog.row(config.sla_plans, SLAPlan, department.sla_id)
        or catalog.default(config.sla_plans, SLAPlan)
    )
    priority = (
        rules.priority
        or priority_hint
        or (topic and catalog.row(config.priorities, Priority, topic.priority_id))
        or catalog.default(config.priorities, Priority)
    )
    team = rules.team or (topic and catalog.row(config.teams, Team, topic.team_id))
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
        team=team or None,
        notify_requester=acknowledge and not rules.quiet,
        new=new,
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
            new=new,
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
            new=new,
        )


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
        raise PermissionDenied(_("You may not change this ticket's properties."))
    if not ticket.is_active:
        raise TicketActionError(
            # Translators: %(state)s is a ticket state in lower case, e.g. "closed".
            _("A %(state)s ticket's properties cannot change.")
            % {"state": locales.in_sentence(ticket.get_state_display())}
        )
    if department is None:
        raise TicketActionError(_("A ticket must belong to a department."))
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
        if field == "priority":
            ticket.set_priority(value)
        else:
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


@transaction.atomic
def priority_rank_changed(priority: Priority) -> int:
    """Carry a priority's new rank over to its tickets (the copy the priority sort walks).

    An admin's change of configuration, not a change to any ticket: no version, activity or
    thread entry moves. Returns how many tickets changed.
    """
    return (
        Ticket.objects.filter(priority=priority)
        .exclude(priority_rank=priority.rank)
        .update(priority_rank=priority.rank)
    )
