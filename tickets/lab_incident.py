"""The lab's major incident (docs: README, "The demo"): online banking is down again, three people
report it (Ken in the portal, Maria by e-mail, a branch by phone to John), and Jane opens an
incident, links the three reports to it and posts one public update. The incident stays open, so
the demo shows the reports waiting with it; resolving it in the console resolves all three.

Built through the services as people would have made it, and only once: a second run finds the
incident by its subject and adds nothing.
"""

from __future__ import annotations

from typing import Any

from tickets import services
from tickets.mailin import store
from tickets.models import HelpTopic, Ticket

INCIDENT_SUBJECT = "Online banking outage: customers cannot log in"
INCIDENT_STATUS = "We know about this outage and are working on it."
OUTAGE_TOPIC = ("Business Critical Outage", "Report a Problem")

MARIA_WRITES = """\
From: Maria Lopez <maria.lopez@example.net>
To: Help Desk <helpdesk@localhost>
Subject: Online banking login fails
Date: Thu, 3 Dec 2026 09:18:05 +0100
Message-ID: <lab-maria-banking-1@mail.example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

Hello,

since about nine I cannot log in to online banking: the page says "Service unavailable".
I need to pay a supplier today.

Maria Lopez
"""


def _outage_topic() -> HelpTopic:
    name, parent = OUTAGE_TOPIC
    return HelpTopic.objects.get(name=name, parent__name=parent)


def load_incident(lab: Any) -> list[Ticket]:
    """The incident and its three reports, or nothing if the lab has them already."""
    if Ticket.objects.filter(subject=INCIDENT_SUBJECT, is_major_incident=True).exists():
        return []
    topic = _outage_topic()
    portal = services.ticket_create(
        requester=lab.ken.requester,
        subject="Online banking says “Service unavailable”",
        body="I cannot log in to online banking since this morning; the app fails too.",
        help_topic=topic,
        actor=lab.ken,
    )
    by_mail = store.ingest(MARIA_WRITES.encode(), source="demo").ticket
    _, by_phone = services.ticket_create_for_contact(
        email="branch12@example.com",
        name="Branch 12 (Riverside)",
        phone="+1 555 0142",
        subject="Customers at the counter cannot use online banking",
        body="Branch 12 called: three customers so far cannot log in to the app or the website.",
        help_topic=topic,
        source=Ticket.Source.PHONE,
        actor=lab.john,
    )
    incident = services.incident_open(
        actor=lab.jane,
        subject=INCIDENT_SUBJECT,
        body="Logins to mobile and online banking fail for every customer since 09:05: the gateway "
        "answers 503. Reports are linked here; updates go to every reporter.",
        status=INCIDENT_STATUS,
        department=lab.sysadmins,
        team=lab.online_banking,
        first_report=portal,
    )
    for report in (by_mail, by_phone):
        services.ticket_link_incident(ticket=report, actor=lab.jane, incident=incident)
    services.incident_post_update(
        incident=incident,
        actor=lab.jane,
        body="We have found the cause (the login gateway) and are restoring it. "
        "Next update within the hour; phone banking and the branches work meanwhile.",
    )
    return [portal, by_mail, by_phone, incident]
