"""The lab configuration of the demo (docs/lab.md), built idempotently.

Everything is looked up by name and created when missing, so a second run changes nothing.
Demo tickets are written through the services, as a person would have made them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from tickets import lab_incident, services
from tickets.mailin import store
from tickets.mailout import mailids
from tickets.models import (
    AgentProfile,
    Article,
    BusinessHours,
    BusinessHoursWindow,
    CannedResponse,
    Department,
    HelpTopic,
    LifecycleTimers,
    Priority,
    RoutingCondition,
    RoutingRule,
    SLAPlan,
    SLATarget,
    Team,
    Ticket,
)
from tickets.roles import roles_sync

DEMO_PASSWORD = "Password1"  # noqa: S105 - demo data only, printed by load_lab
EXAMPLE_1_SUBJECT = "Entire mobile/online banking system is down"

PRIORITIES = [
    ("Low", 1, "#198754"),
    ("Normal", 2, "#0d6efd"),
    ("High", 3, "#fd7e14"),
    ("Emergency", 4, "#dc3545"),
]
SLA_PLANS = [
    # name, grace hours, first-response hours, schedule
    ("Default SLA", 18, 4, SLAPlan.Schedule.ALWAYS),
    ("Sev-A", 1, 1, SLAPlan.Schedule.ALWAYS),
    ("Sev-B", 4, 2, SLAPlan.Schedule.ALWAYS),
    ("Sev-C", 8, 4, SLAPlan.Schedule.BUSINESS_HOURS),
]
# The Default SLA answers an urgent ticket sooner: (priority, resolution hours, first response).
DEFAULT_SLA_TARGETS = [("High", 8, 2), ("Emergency", 4, 1)]
# Shipped switched off: with it on, Example 1 would be routed at intake, before John sees it.
EXAMPLE_RULE = "Example: online banking outages go to SysAdmins as Emergency"
CANNED_RESPONSES = [
    (
        "We are on it",
        "Hi {requester_name},\n\nthank you for ticket #{ticket_number}. We are looking into it and "
        "will write again within the hour.\n\n{agent_name}",
        False,
    ),
    (
        "Which browser and device?",
        'Hi {requester_name},\n\nto look into "{subject}" we need a detail: which browser and '
        "device do you use, and what exactly do you see?\n\n{agent_name}",
        True,
    ),
]

HELP_TOPICS = [
    ("General Inquiry", None),
    ("Feedback", None),
    ("Report a Problem", None),
    ("Access Issue", "Report a Problem"),
    ("Business Critical Outage", "Report a Problem"),
    ("Password Reset", None),
    ("Equipment Request", None),
    ("Personal Computer Issues", None),
]


@dataclass
class Lab:
    admin: Any
    jane: Any
    john: Any
    karen: Any
    ken: Any
    support: Department
    sysadmins: Department
    online_banking: Team

    def topic(self, full_name: str) -> HelpTopic:
        return next(t for t in HelpTopic.objects.select_related("parent") if t.full_name == full_name)


def _user(
    username: str,
    *,
    email: str,
    first: str,
    last: str,
    staff: bool = False,
    superuser: bool = False,
) -> tuple[Any, bool]:
    user, created = get_user_model().objects.get_or_create(
        username=username,
        defaults={
            "email": email,
            "first_name": first,
            "last_name": last,
            "is_staff": staff or superuser,
            "is_superuser": superuser,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user, created


def _agent(user: Any, *, role: str, departments: list[Department], teams: list[Team]) -> None:
    profile, _ = AgentProfile.objects.get_or_create(user=user)
    profile.departments.add(*departments)
    profile.teams.add(*teams)
    user.groups.add(Group.objects.get(name=role))


@transaction.atomic
def load_configuration() -> Lab:
    roles_sync()
    for name, rank, colour in PRIORITIES:
        Priority.objects.get_or_create(
            name=name, defaults={"rank": rank, "colour": colour, "is_default": name == "Normal"}
        )
    office, _ = BusinessHours.objects.get_or_create(name="Office hours", defaults={"time_zone": "UTC"})
    for weekday in range(5):
        BusinessHoursWindow.objects.get_or_create(
            schedule=office, weekday=weekday, opens=time(9), closes=time(17)
        )
    plans = {}
    for name, grace, first, schedule in SLA_PLANS:
        plans[name], _ = SLAPlan.objects.get_or_create(
            name=name,
            defaults={
                "grace_hours": grace,
                "first_response_hours": first,
                "schedule": schedule,
                "business_hours": office if schedule == SLAPlan.Schedule.BUSINESS_HOURS else None,
                "is_default": name == "Default SLA",
            },
        )
    for priority, grace, first in DEFAULT_SLA_TARGETS:
        SLATarget.objects.get_or_create(
            plan=plans["Default SLA"],
            priority=Priority.objects.get(name=priority),
            defaults={"grace_hours": grace, "first_response_hours": first},
        )
    LifecycleTimers.load()
    admin, _ = _user("admin", email="admin@example.com", first="Help Desk", last="Admin", superuser=True)
    jane, _ = _user("jane", email="jane@example.com", first="Jane", last="Doe", staff=True)
    john, _ = _user("john", email="john@example.com", first="John", last="Doe", staff=True)
    support, _ = Department.objects.get_or_create(
        name="Support",
        defaults={"is_default": True, "sla": plans["Default SLA"], "tier": 1, "manager": admin},
    )
    sysadmins, _ = Department.objects.get_or_create(
        name="SysAdmins", defaults={"tier": 2, "is_public": False}
    )
    online_banking, _ = Team.objects.get_or_create(name="Online Banking", defaults={"tier": 2, "lead": jane})
    _agent(jane, role="Supreme Admin", departments=[sysadmins], teams=[online_banking])
    _agent(john, role="Agent", departments=[support], teams=[])
    parents: dict[str, HelpTopic] = {}
    for name, parent in HELP_TOPICS:
        topic, _ = HelpTopic.objects.get_or_create(name=name, parent=parents.get(parent) if parent else None)
        parents.setdefault(name, topic)
    rule, created = RoutingRule.objects.get_or_create(
        name=EXAMPLE_RULE,
        defaults={
            "is_active": False,
            "position": 10,
            "set_department": sysadmins,
            "set_priority": Priority.objects.get(name="Emergency"),
        },
    )
    if created:
        RoutingCondition.objects.create(
            rule=rule, field=RoutingCondition.Field.SUBJECT, operator="contains", value="online banking"
        )
    for title, body, department in CANNED_RESPONSES:
        CannedResponse.objects.get_or_create(
            title=title, defaults={"body": body, "department": support if department else None}
        )
    people = {}
    for email, first in (("karen@example.com", "Karen"), ("ken@example.com", "Ken")):
        # End users sign in to the portal with their e-mail address.
        people[first], _ = _user(email, email=email, first=first, last="")
        services.requester_get_or_create(email=email, name=first, user=people[first])
    lab = Lab(admin, jane, john, people["Karen"], people["Ken"], support, sysadmins, online_banking)
    load_articles(lab)
    return lab


# The knowledge base: slug, title, topics, audience, status, body (Markdown).
ARTICLES = [
    (
        "reset-your-password",
        "Reset your password",
        ["Password Reset", "Report a Problem / Access Issue"],
        Article.Audience.PUBLIC,
        Article.Status.PUBLISHED,
        "Forgot your password, or was it locked after too many attempts? You can reset it yourself "
        "in two minutes.\n\n"
        "1. Open the sign-in page and choose **Forgot your password?**\n"
        "2. Enter the e-mail address you sign in with.\n"
        "3. Open the link in the mail we send you (it works for one hour) and choose a new password "
        "of at least 12 characters.\n\n"
        "No mail after ten minutes? Look in your spam folder. If the account is locked, wait 15 "
        "minutes before you try again. Still stuck? Open a ticket under *Password Reset*.",
    ),
    (
        "online-banking-is-down",
        "Online banking is down: what to do",
        ["Report a Problem / Business Critical Outage"],
        Article.Audience.PUBLIC,
        Article.Status.PUBLISHED,
        "When mobile or online banking does not load or you cannot log in:\n\n"
        "- Check the service status page first: a known outage is shown there with its next update.\n"
        "- Try once more from another network (Wi-Fi or mobile data) to rule out your connection.\n"
        "- Urgent payments can still be made by phone banking or at a branch.\n\n"
        "If the status page shows no outage and others cannot log in either, open a ticket under "
        "*Report a Problem / Business Critical Outage* with the time it started and the error you "
        "see. Do not send passwords or card numbers.",
    ),
    (
        "request-new-equipment",
        "Request new equipment",
        ["Equipment Request"],
        Article.Audience.PUBLIC,
        Article.Status.PUBLISHED,
        "Laptops, monitors, headsets and phones are ordered through the help desk.\n\n"
        "Open a ticket under *Equipment Request* with:\n\n"
        "- what you need and why (a new hire, a broken device, a replacement);\n"
        "- who it is for and the date it is needed by;\n"
        "- your manager's approval.\n\n"
        "Standard equipment arrives within five working days; a new hire's laptop is ready on their "
        "first day when asked for a week ahead.",
    ),
    (
        "escalation-checklist-for-banking-outages",
        "Escalation checklist for banking outages",
        ["Report a Problem / Business Critical Outage"],
        Article.Audience.AGENTS,
        Article.Status.PUBLISHED,
        "Before escalating an online banking outage to SysAdmins:\n\n"
        "1. Confirm it with a second report or the monitoring dashboard.\n"
        "2. Set the SLA plan to **Sev-A** and the priority to **Emergency**.\n"
        "3. Assign the ticket to the **Online Banking** team and page the on-call lead.\n"
        "4. Post the first public update within 15 minutes, then every hour.\n"
        "5. After the fix, link the incident report in an internal note before resolving.",
    ),
    (
        "set-up-the-vpn-on-a-home-computer",
        "Set up the VPN on a home computer",
        ["Personal Computer Issues"],
        Article.Audience.PUBLIC,
        Article.Status.DRAFT,
        "Draft: the steps for the new VPN client, to be checked with SysAdmins before publishing.",
    ),
]


def load_articles(lab: Lab) -> None:
    """The lab's knowledge base: found by slug, written when missing (a second run adds none)."""
    for slug, title, topics, audience, status, body in ARTICLES:
        published = status == Article.Status.PUBLISHED
        article, created = Article.objects.get_or_create(
            slug=slug,
            defaults={
                "title": title,
                "body": body,
                "audience": audience,
                "status": status,
                "author": lab.jane,
                "last_reviewed": timezone.localdate() if published else None,
            },
        )
        if created:
            article.help_topics.set([lab.topic(name) for name in topics])


def _requester(user: Any) -> Any:
    return user.requester


@transaction.atomic
def load_tickets(lab: Lab) -> list[Ticket]:
    """Example 1 walked to closure, one escalated ticket, tickets waiting in every stage, and an
    open major incident with three reports; each part only once (a second run adds nothing)."""
    made = [] if Ticket.objects.filter(subject=EXAMPLE_1_SUBJECT).exists() else _stages(lab)
    return made + lab_incident.load_incident(lab)


def _stages(lab: Lab) -> list[Ticket]:
    made = [example_1(lab)]
    karen, ken = _requester(lab.karen), _requester(lab.ken)
    john = lab.john

    def open_ticket(requester: Any, user: Any, subject: str, body: str, topic: str) -> Ticket:
        ticket = services.ticket_create(
            requester=requester, subject=subject, body=body, help_topic=lab.topic(topic), actor=user
        )
        made.append(ticket)
        return ticket

    open_ticket(
        ken,
        lab.ken,
        "Printer on the third floor jams on every job",
        "Every print job to PRN-3F jams after the first page.",
        "Personal Computer Issues",
    )

    assigned = open_ticket(
        karen,
        lab.karen,
        "New laptop for a new hire starting Monday",
        "Our new analyst starts on Monday and needs a laptop.",
        "Equipment Request",
    )
    services.ticket_assign(ticket=assigned, actor=john, agent=john)

    waiting = open_ticket(
        ken,
        lab.ken,
        "Cannot reset my password",
        "The reset link says it has expired as soon as I open it.",
        "Password Reset",
    )
    services.ticket_claim(ticket=waiting, actor=john)
    services.ticket_request_info(
        ticket=waiting,
        actor=john,
        message="Which browser do you use, and how long after the e-mail do you click the link?",
    )

    working = open_ticket(
        karen,
        lab.karen,
        "Outlook keeps asking for my password",
        "Since this morning Outlook asks for my password every few minutes.",
        "Personal Computer Issues",
    )
    services.ticket_claim(ticket=working, actor=john)
    services.ticket_note(
        ticket=working, actor=john, body="Likely a stale credential after the password change."
    )

    escalated = open_ticket(
        ken,
        lab.ken,
        "Mobile banking app logs me out after every transfer",
        "After each transfer the app signs me out and asks me to log in again.",
        "Report a Problem / Access Issue",
    )
    services.ticket_claim(ticket=escalated, actor=john)
    services.ticket_reply(ticket=escalated, actor=john, body="Thanks, Ken. We are looking into it now.")
    services.ticket_escalate(
        ticket=escalated,
        actor=john,
        team=lab.online_banking,
        summary="Reproduced on iOS and Android; session token dropped after a transfer. "
        "Needs the Online Banking team.",
    )

    resolved = open_ticket(
        ken,
        lab.ken,
        "Second monitor flickers",
        "My second monitor flickers when I move a window onto it.",
        "Personal Computer Issues",
    )
    services.ticket_claim(ticket=resolved, actor=john)
    services.ticket_resolve(
        ticket=resolved,
        actor=john,
        message="We replaced the display cable. Please confirm the flicker is gone.",
    )
    made.append(mail_in(lab))
    return made


# Mail as the demo's people would have sent it: Ken writes in, John answers, Ken answers back
# quoting him; his out-of-office replies once; a message with no sender waits in quarantine.
KEN_WRITES = """\
From: Ken <ken@example.com>
To: Help Desk <helpdesk@localhost>
Subject: VPN disconnects every hour
Date: Mon, 30 Nov 2026 08:12:40 +0100
Message-ID: <lab-ken-vpn-1@mail.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

Hello,

the VPN drops me every hour on the hour, and I have to sign in again each time.
It started after Friday's update.

Thanks,
Ken
--
Ken, Accounts Payable, ext. 4417
"""

KEN_ANSWERS = """\
From: Ken <ken@example.com>
To: Help Desk <helpdesk@localhost>
Subject: Re: [#{number}] VPN disconnects every hour
Date: Mon, 30 Nov 2026 09:40:02 +0100
Message-ID: <lab-ken-vpn-2@mail.example.com>
In-Reply-To: {our_id}
References: {root_id} {our_id}
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

Version 5.2.1, on the office Wi-Fi and at home alike.

Sent from my iPhone

On 30 Nov 2026, at 09:31, Help Desk <helpdesk@localhost> wrote:
> Which version of the VPN client do you have, and does it happen at home too?
"""

KEN_AWAY = """\
From: Ken <ken@example.com>
To: Help Desk <helpdesk@localhost>
Subject: Automatic reply: [#{number}] VPN disconnects every hour
Message-ID: <lab-ken-away-1@mail.example.com>
In-Reply-To: {our_id}
Auto-Submitted: auto-replied
Content-Type: text/plain; charset="utf-8"

I am out of the office until Wednesday.
"""

NO_SENDER = """\
From: undisclosed-recipients:;
Subject: Invoice 2026-118 overdue
Message-ID: <lab-no-sender-1@mail.example.net>
Content-Type: text/plain; charset="utf-8"

Please see the attached invoice.
"""


def mail_in(lab: Lab) -> Ticket:
    """Ken's ticket by e-mail, with John's question and Ken's answer by mail."""
    ticket = store.ingest(KEN_WRITES.encode(), source="demo").ticket
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_request_info(
        ticket=ticket,
        actor=lab.john,
        message="Which version of the VPN client do you have, and does it happen at home too?",
    )
    ids = {
        "number": ticket.number,
        "our_id": mailids.new_id(ticket.pk),
        "root_id": mailids.root_id(ticket.pk),
    }
    store.ingest(KEN_AWAY.format(**ids).encode(), source="demo")
    store.ingest(KEN_ANSWERS.format(**ids).encode(), source="demo")
    store.ingest(NO_SENDER.encode(), source="demo")
    ticket.refresh_from_db()
    return ticket


def example_1(lab: Lab) -> Ticket:
    """Example 1 of the lab, step by step, through the services."""
    ticket = services.ticket_create(
        requester=_requester(lab.karen),
        subject=EXAMPLE_1_SUBJECT,
        body="Customers cannot log in to mobile or online banking. The whole system is down since 9:00.",
        help_topic=lab.topic("Report a Problem"),
        actor=lab.karen,
    )
    services.ticket_update_properties(
        ticket=ticket,
        actor=lab.john,
        sla_plan=SLAPlan.objects.get(name="Sev-A"),
        help_topic=lab.topic("Report a Problem / Business Critical Outage"),
        priority=Priority.objects.get(name="Emergency"),
    )
    services.ticket_assign(ticket=ticket, actor=lab.john, team=lab.online_banking)
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    services.ticket_reply(
        ticket=ticket,
        actor=lab.jane,
        body="Hi Karen, we know about the outage and are working on it. Next update within the hour.",
    )
    services.ticket_reply(
        ticket=ticket,
        actor=lab.jane,
        body="We found the cause (an expired certificate on the gateway) and replaced it. "
        "Online banking is up again.",
    )
    services.ticket_resolve(
        ticket=ticket,
        actor=lab.jane,
        message="Resolved: the gateway certificate was renewed; online banking works again.",
    )
    services.ticket_close(ticket=ticket, actor=lab.jane)
    return ticket
