"""Example 1 of the lab, replayed through the services: creation to closure."""

from datetime import timedelta

from django.core import mail

from tickets import services
from tickets.models import Priority, SLAPlan, State, ThreadEntry


def test_example_1_ends_closed_with_the_whole_trail(lab, karen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        # 1. Karen opens a ticket with the topic an end user picks.
        ticket = services.ticket_create(
            requester=karen,
            subject="Entire mobile/online banking system is down",
            body="Customers cannot log in to mobile or online banking.",
            help_topic=lab.topic("Report a Problem"),
            actor=lab.karen,
        )
    # 2. After intake: Normal / Support / Default SLA / unassigned, numbered, open.
    assert ticket.state == State.OPEN
    assert ticket.number
    assert (ticket.priority.name, ticket.department.name, ticket.sla.name) == (
        "Normal",
        "Support",
        "Default SLA",
    )
    assert ticket.assignee is None and ticket.team is None
    assert ticket.resolution_due is not None
    # Karen's acknowledgement, and John (Support) alerted to a new ticket in his department.
    assert [m.to for m in mail.outbox] == [["karen@example.com"], ["john@example.com"]]
    assert all(ticket.number in m.subject for m in mail.outbox)

    # 3. John judges it critical.
    services.ticket_update_properties(
        ticket=ticket,
        actor=lab.john,
        sla_plan=SLAPlan.objects.get(name="Sev-A"),
        help_topic=lab.topic("Report a Problem / Business Critical Outage"),
        priority=Priority.objects.get(name="Emergency"),
    )
    # Sev-A: one hour of grace from creation, 24/7.
    assert ticket.resolution_due == ticket.created_at + timedelta(hours=1)
    # 4. He assigns it to the Online Banking team.
    services.ticket_assign(ticket=ticket, actor=lab.john, team=lab.online_banking)
    assert ticket.state == State.ASSIGNED
    # 5. Jane takes it over.
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    assert services.assignment_label(ticket) == "Jane Doe / Online Banking"
    # 6-7. Two replies to Karen; the first starts the work.
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, actor=lab.jane, body="We are on it.")
    assert ticket.state == State.IN_PROGRESS
    services.ticket_reply(ticket=ticket, actor=lab.jane, body="Cause found, fix in place: it is up again.")
    # 8. Resolved, then closed.
    services.ticket_resolve(
        ticket=ticket, actor=lab.jane, message="Fixed: the gateway certificate was renewed."
    )
    services.ticket_close(ticket=ticket, actor=lab.jane)

    ticket.refresh_from_db()
    assert ticket.state == State.CLOSED
    assert ticket.closed_at is not None and ticket.first_responded_at is not None

    log = [(t.name, t.source, t.target, t.actor_label) for t in ticket.transitions.all()]
    assert log == [
        ("create", "", "new", "Karen"),
        ("intake", "new", "open", "system: intake"),
        ("assign", "open", "assigned", "John Doe"),
        ("claim", "assigned", "assigned", "Jane Doe"),
        ("start_work", "assigned", "in_progress", "Jane Doe"),
        ("resolve", "in_progress", "resolved", "Jane Doe"),
        ("close", "resolved", "closed", "Jane Doe"),
    ]
    thread = [(e.kind, e.author_name, e.body) for e in ticket.thread.all()]
    assert thread == [
        ("message", "Karen", "Customers cannot log in to mobile or online banking."),
        (
            "event",
            "system: intake",
            "Received: department Support, priority Normal, SLA plan Default SLA, Unassigned",
        ),
        (
            "event",
            "John Doe",
            "John Doe changed the help topic from Report a Problem to "
            "Report a Problem / Business Critical Outage",
        ),
        ("event", "John Doe", "John Doe changed the priority from Normal to Emergency"),
        ("event", "John Doe", "John Doe changed the SLA plan from Default SLA to Sev-A"),
        ("event", "John Doe", "Assigned to Online Banking by John Doe"),
        ("event", "Jane Doe", "Jane Doe took the ticket over: Jane Doe / Online Banking"),
        ("event", "Jane Doe", "Jane Doe started work"),
        ("reply", "Jane Doe", "We are on it."),
        ("reply", "Jane Doe", "Cause found, fix in place: it is up again."),
        ("event", "Jane Doe", "Resolved by Jane Doe"),
        ("reply", "Jane Doe", "Fixed: the gateway certificate was renewed."),
        ("event", "Jane Doe", "Closed by Jane Doe"),
    ]
    assert not ticket.thread.filter(kind=ThreadEntry.Kind.NOTE).exists()


def test_the_lab_loader_walks_example_1_to_closure(lab):
    from tickets.lab import example_1

    ticket = example_1(lab)
    assert ticket.state == State.CLOSED
    assert [t.name for t in ticket.transitions.all()][-2:] == ["resolve", "close"]
