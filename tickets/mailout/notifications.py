"""The help desk's mail: who hears about what, and the messages themselves.

Requesters hear about their own tickets: the acknowledgement (with the number and a signed
link), public replies, questions, the resolution (with links to confirm or reopen),
reminders and the closure. Agents get alerts: a new ticket in their department, a ticket
assigned or escalated to them or their team, an overdue ticket they answer for, and a
requester's message; each agent can turn any of them off (``AgentProfile.alert_*``).
Internal notes and events never go to a requester.

Each message is rendered here from a text and an HTML template in ``templates/emails/`` as
plain data; the ``notify_*`` tasks (``tasks``) send one event's messages over one connection,
and hand a message that fails to ``tasks.send_email``, so that a mail server that is down
delays that one message (the task retries) and never the ticket, nor the other recipients.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable
from email.utils import formataddr, parseaddr
from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets import links, locales
from tickets.mailout import mailids
from tickets.models import AgentProfile, LifecycleTimers, Requester, ThreadEntry, Ticket, TicketTransition

Payload = dict[str, Any]

# RFC 3834: what the help desk sends by itself says so, so that auto-responders stay quiet;
# Exchange honours its own header for the same.
AUTOMATIC = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


# -- one message ---------------------------------------------------------------------------------


def address(name: str, email: str) -> str:
    """ "Name <email>" with the name made safe for a header: no line breaks or other control
    characters (a display name must never add a header), and encoded as needed on sending."""
    clean = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in name or "")
    clean = " ".join(clean.split())[:120]
    local, _, domain = email.rpartition("@")
    # A domain IDNA refuses is left as it is, for the mail library to refuse or send.
    with contextlib.suppress(UnicodeError):
        email = f"{local}@{domain.encode('idna').decode('ascii')}" if local else email
    if not clean or not email.isascii():
        return email  # (a non-ASCII mailbox name goes out bare; Django encodes what it can)
    return formataddr((clean, email))


def reply_address() -> str:
    """Where answers go: the mailbox the help desk reads (HELPDESK_REPLY_TO), else the sender."""
    return settings.HELPDESK_REPLY_TO or settings.DEFAULT_FROM_EMAIL


class Thread:
    """The ticket's mail thread, as every message of one event refers to it: read once (one
    query), however many people the event tells."""

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket

    @cached_property
    def references(self) -> list[str]:
        """The ticket's root and the last message the requester mailed us, which we answer."""
        references = [mailids.root_id(self.ticket.pk)]
        inbound = self.ticket.inbound_messages.exclude(message_id="")
        last = inbound.order_by("-received_at", "-pk").values_list("message_id", flat=True).first()
        if last is not None and last != references[0]:
            references.append(last)
        return references

    def headers(self) -> dict[str, str]:
        """A fresh signed Message-ID, and the references that put the message in the thread."""
        return {
            "Message-ID": mailids.new_id(self.ticket.pk),
            "In-Reply-To": self.references[-1],
            "References": " ".join(self.references),
        }


def thread_headers(ticket: Ticket) -> dict[str, str]:
    """The headers of one message about ``ticket`` (``Thread`` for several)."""
    return Thread(ticket).headers()


def render(
    to: str,
    template: str,
    context: dict[str, Any],
    *,
    automatic: bool = True,
    ticket: Ticket | None = None,
    to_name: str = "",
    thread: Thread | None = None,
    language: str = "",
    time_zone: str = "",
) -> Payload:
    """A message as plain data: subject, text and HTML bodies, headers. ``to`` is the address
    the message goes to; ``to_name`` only dresses the To header. It is written in the reader's
    ``language`` with times in their ``time_zone`` (blank: the help desk's), whoever sends it.
    A message about a ticket is threaded (``thread``, the event's, else read for this
    message); every message carries our loop marker."""
    context = {"helpdesk_name": settings.HELPDESK_NAME, **context}
    with locales.reading_as(language, time_zone):
        subject = render_to_string(f"{template}_subject.txt", context)
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
        content_language = translation.get_language()
    headers = dict(AUTOMATIC) if automatic else {}
    headers["To"] = address(to_name, to)
    if ticket is not None:
        headers.update((thread or Thread(ticket)).headers())
    else:
        headers["Message-ID"] = mailids.new_plain_id()
    headers["X-Loop"] = parseaddr(reply_address())[1]
    headers["Content-Language"] = content_language
    return {
        "to": to,
        "subject": " ".join(subject.split()),
        "text": text,
        "html": html,
        "headers": headers,
        "reply_to": [reply_address()],
    }


def message(payload: Payload) -> EmailMultiAlternatives:
    """The payload as a message to send."""
    built = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["text"],
        to=[payload["to"]],
        headers=payload["headers"],
        reply_to=payload.get("reply_to") or None,
    )
    built.attach_alternative(payload["html"], "text/html")
    return built


def deliver(payload: Payload) -> None:
    """Send one message over a connection of its own."""
    message(payload).send()


def _for_requester(
    ticket: Ticket, template: str, automatic: bool = True, thread: Thread | None = None, **context: Any
) -> Payload:
    return render(
        ticket.requester.email,
        template,
        {"ticket": ticket, "link": links.ticket_link(ticket), **context},
        automatic=automatic,
        ticket=ticket,
        to_name=ticket.requester.name,
        thread=thread,
        language=ticket.requester.language,
        time_zone=ticket.requester.time_zone,
    )


def console_link(ticket: Ticket) -> str:
    return settings.HELPDESK_BASE_URL.rstrip("/") + reverse("agents:ticket", args=[ticket.number])


def _for_agents(
    users: Iterable[Any], template: str, ticket: Ticket, thread: Thread | None = None, **context: Any
) -> list[Payload]:
    thread = thread or Thread(ticket)
    link = console_link(ticket)
    return [
        render(
            user.email,
            template,
            {"ticket": ticket, "agent": user, "link": link, **context},
            ticket=ticket,
            to_name=user.get_full_name(),
            thread=thread,
            **_reads_in(user),
        )
        for user in users
    ]


def _reads_in(user: Any) -> dict[str, str]:
    """An agent's language and time zone (their profile's, read with them), else the desk's."""
    try:
        profile = user.agent
    except ObjectDoesNotExist:
        return {}
    return {"language": profile.language, "time_zone": profile.time_zone}


def _requester_reads_in(user: Any) -> dict[str, str]:
    """An account's requester record's language and time zone, if it has one."""
    row = Requester.objects.filter(user_id=user.pk).values_list("language", "time_zone").first()
    return {"language": row[0], "time_zone": row[1]} if row else {}


# -- who gets an alert ----------------------------------------------------------------------------


def agents_to_alert(alert: str, *, scope: Q, exclude: Iterable[int | None] = ()) -> list[Any]:
    """Active staff in ``scope`` with a mail address who have not turned ``alert`` off.

    An agent with no profile keeps every alert on (a department manager, say)."""
    if alert not in AgentProfile.ALERTS:
        raise ValueError(f"No such alert: {alert}")
    wanted = Q(agent__isnull=True) | Q(**{f"agent__{alert}": True})
    return list(
        get_user_model()
        .objects.filter(scope, wanted, is_active=True, is_staff=True)
        .exclude(email="")
        .exclude(pk__in=[pk for pk in exclude if pk is not None])
        .select_related("agent")
        .distinct()
        .order_by("pk")
    )


def _department(ticket: Ticket) -> Q:
    return Q(agent__departments=ticket.department_id)


def _team(ticket: Ticket) -> Q:
    return Q(agent__teams=ticket.team_id)


def _answering_for(ticket: Ticket) -> Q:
    """The assignee; without one, the team; without a team, the department."""
    if ticket.assignee_id:
        return Q(pk=ticket.assignee_id)
    return _team(ticket) if ticket.team_id else _department(ticket)


# -- what each event sends ------------------------------------------------------------------------


def for_transition(log: TicketTransition, *, requester: bool = True, agents: bool = True) -> list[Payload]:
    ticket = log.ticket
    thread = Thread(ticket)
    mails: list[Payload] = []
    if log.name == "intake":
        if requester:
            mails.append(_for_requester(ticket, "emails/ticket_received", thread=thread))
        if agents:
            created_by = ticket.transitions.filter(name="create").values_list("actor_id", flat=True).first()
            people = agents_to_alert("alert_new_ticket", scope=_department(ticket), exclude=[created_by])
            mails += _for_agents(people, "emails/agent_new_ticket", ticket, thread=thread)
    elif log.name in ("close", "cancel"):
        if requester:
            mails.append(_for_requester(ticket, "emails/ticket_closed", transition=log))
    elif log.name == "merge":
        # Where their ticket went: its link (and a reply to this mail) lands on the survivor.
        if requester and ticket.merged_into_id is not None:
            mails.append(_for_requester(ticket, "emails/ticket_merged", survivor=ticket.merged_into))
    elif log.name == "assign" and agents:
        people = agents_to_alert("alert_assigned", scope=_answering_for(ticket), exclude=[log.actor_id])
        mails += _for_agents(people, "emails/agent_assigned", ticket, transition=log)
    elif log.name == "escalate" and agents:
        scope = _team(ticket) if ticket.team_id else _department(ticket)
        people = agents_to_alert("alert_escalated", scope=scope, exclude=[log.actor_id])
        mails += _for_agents(people, "emails/agent_escalated", ticket, transition=log)
    return mails


# What a public entry is to the requester: the template, and whether a person wrote it.
REQUESTER_ENTRY_TEMPLATES = {
    "reply": "emails/ticket_reply",
    "question": "emails/ticket_reply",
    "resolution": "emails/ticket_resolved",
    "reminder": "emails/ticket_reminder",
}


def for_entry(entry: ThreadEntry, purpose: str) -> list[Payload]:
    ticket = entry.ticket
    if not entry.is_public:
        return []  # internal notes and events go to nobody
    if entry.kind == ThreadEntry.Kind.REPLY and purpose in REQUESTER_ENTRY_TEMPLATES:
        context: dict[str, Any] = {"entry": entry, "waiting_for_you": purpose in ("question", "reminder")}
        if purpose == "resolution":
            context["confirm_link"] = links.ticket_link(ticket, then="confirm")
            context["reopen_link"] = links.ticket_link(ticket, then="reopen")
            context["close_after_days"] = LifecycleTimers.load().close_resolved_after_days
        written_by_a_person = entry.author_id is not None and purpose != "reminder"
        return [
            _for_requester(
                ticket, REQUESTER_ENTRY_TEMPLATES[purpose], automatic=not written_by_a_person, **context
            )
        ]
    if entry.kind == ThreadEntry.Kind.MESSAGE and purpose == "message":
        people = agents_to_alert("alert_requester_reply", scope=_answering_for(ticket))
        return _for_agents(people, "emails/agent_requester_reply", ticket, entry=entry)
    return []


OVERDUE_TARGETS = {
    # Translators: what is overdue, in "The first response of ticket #12 is overdue."
    "first_response": _("first response"),
    # Translators: what is overdue, in "The resolution of ticket #12 is overdue."
    "resolution": _("resolution"),
}


def _missed_text(targets: list[str]) -> str:
    """ "first response", or "first response and resolution", in the language active when the
    mail is rendered (each recipient's)."""
    labels = [str(OVERDUE_TARGETS[target]) for target in targets]
    text = labels[0] if labels else ""
    for label in labels[1:]:
        # Translators: two overdue targets, e.g. "first response and resolution".
        text = gettext("%(first)s and %(second)s") % {"first": text, "second": label}
    return text


_missed = lazy(_missed_text, str)


def for_overdue(ticket: Ticket, targets: list[str], recipient_ids: list[int]) -> list[Payload]:
    """The people who answered for the ticket when it went overdue (the job names them)."""
    people = agents_to_alert("alert_overdue", scope=Q(pk__in=recipient_ids))
    return _for_agents(people, "emails/agent_overdue", ticket, target=_missed(list(targets)))


def overdue_recipients(ticket: Ticket) -> list[int]:
    """The assignee, the team lead and the department manager."""
    team_lead = ticket.team.lead_id if ticket.team_id else None
    manager = ticket.department.manager_id if ticket.department_id else None
    return sorted({pk for pk in (ticket.assignee_id, team_lead, manager) if pk is not None})


# -- mail that is not about a move ------------------------------------------------------------------


def ticket_link_mail(ticket: Ticket) -> Payload:
    """The answer to "Check Ticket Status": a fresh link to the ticket."""
    return _for_requester(ticket, "emails/ticket_link", max_age_days=settings.TICKET_LINK_MAX_AGE_DAYS)


def account_confirmation(user: Any) -> Payload:
    return render(
        user.email,
        "emails/account_confirm",
        {"user": user, "link": links.confirm_link(user)},
        **_requester_reads_in(user),
    )


def account_exists(user: Any) -> Payload:
    reset = settings.HELPDESK_BASE_URL.rstrip("/") + reverse("portal:password_reset")
    return render(
        user.email, "emails/account_exists", {"user": user, "reset_link": reset}, **_requester_reads_in(user)
    )


def password_reset(to: str, context: dict[str, Any]) -> Payload:
    """The reset link; ``context`` is what Django's PasswordResetForm gives (user, uid, token)."""
    user = context.get("user")
    return render(
        to,
        "emails/password_reset",
        context,
        to_name=user.get_full_name() if user else "",
        **(_requester_reads_in(user) if user else {}),
    )
