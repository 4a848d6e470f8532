"""A major incident's reports are resolved, and hear its updates, in batches
(tickets.services.incident_batch): the same moves, entries, mail, webhook events and metrics as
one by one, in a number of statements that does not grow with the number of reports."""

from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tickets.webhook_receiver import make_hook
from tickets import markup, metrics, services
from tickets.mailout import tasks
from tickets.models import State, ThreadEntry, Ticket, TicketTransition, WebhookDelivery
from tickets.services import checks
from tickets.webhooks import events, listeners

STATUS = "We know about this outage and are working on it."
MESSAGE = "Fixed: the gateway certificate was renewed."


@pytest.fixture
def incident_with(lab, django_capture_on_commit_callbacks):
    """``incident_with(n)``: an incident Jane opened, and n reports of it from n requesters (one
    of them already answered by an agent, one waiting for its requester)."""

    def make(count: int) -> tuple[Ticket, list[Ticket]]:
        with django_capture_on_commit_callbacks(execute=True):
            incident = services.incident_open(
                actor=lab.jane,
                subject="Online banking outage",
                body="Mobile and online banking are down for everyone.",
                status=STATUS,
                department=lab.sysadmins,
                team=lab.online_banking,
            )
            reports = []
            for i in range(count):
                _, report = services.ticket_create_for_contact(
                    email=f"customer{i}@example.com",
                    name=f"Customer {i}",
                    subject=f"Online banking down ({i})",
                    body="I cannot log in.",
                    source=Ticket.Source.PHONE,
                    actor=lab.john,
                )
                services.ticket_link_incident(ticket=report, actor=lab.jane, incident=incident)
                reports.append(report)
            services.ticket_claim(ticket=Ticket.objects.get(pk=reports[0].pk), actor=lab.jane)
            services.ticket_request_info(
                ticket=Ticket.objects.get(pk=reports[0].pk), actor=lab.jane, message="Which browser?"
            )
        mail.outbox.clear()
        return Ticket.objects.get(pk=incident.pk), [Ticket.objects.get(pk=r.pk) for r in reports]

    return make


def _resolve(lab, incident, capture):
    with capture(execute=True), CaptureQueriesContext(connection) as captured:
        services.ticket_resolve(ticket=incident, actor=lab.jane, message=MESSAGE)
    return len(captured)


def test_resolving_costs_the_same_statements_for_3_reports_as_for_12(
    lab, incident_with, django_capture_on_commit_callbacks
):
    few, _ = incident_with(3)
    more, _ = incident_with(12)
    with mock.patch.object(tasks.notify_transition, "delay"), mock.patch.object(tasks.notify_entry, "delay"):
        three = _resolve(lab, few, django_capture_on_commit_callbacks)
        twelve = _resolve(lab, more, django_capture_on_commit_callbacks)
    assert Ticket.objects.filter(incident=more, state=State.RESOLVED).count() == 12
    assert twelve == three


def test_an_update_costs_the_same_statements_for_3_reports_as_for_12(
    lab, incident_with, django_capture_on_commit_callbacks
):
    counts = []
    for n in (3, 12):
        incident, _ = incident_with(n)
        with (
            mock.patch.object(tasks.notify_entry, "delay"),
            django_capture_on_commit_callbacks(execute=True),
            CaptureQueriesContext(connection) as captured,
        ):
            reached = services.incident_post_update(incident=incident, actor=lab.jane, body="Still on it.")
        assert reached.reports == n
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_each_report_queues_its_move_mail_and_its_resolution_reply_as_one_by_one(
    lab, incident_with, django_capture_on_commit_callbacks
):
    incident, reports = incident_with(4)
    with (
        mock.patch.object(tasks.notify_transition, "delay") as moves,
        mock.patch.object(tasks.notify_entry, "delay") as entries,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        services.ticket_resolve(ticket=incident, actor=lab.jane, message=MESSAGE)
    expected_moves, expected_entries = [], []
    for ticket in (incident, *reports):
        log = ticket.transitions.last()
        reply = ticket.thread.filter(kind=ThreadEntry.Kind.REPLY).last()
        assert (log.name, reply.body) == ("resolve", MESSAGE)
        expected_moves.append(mock.call(log.pk, requester=True, agents=True))
        expected_entries.append(mock.call(reply.pk, "resolution"))
    assert moves.call_args_list == expected_moves
    assert entries.call_args_list == expected_entries
    # A metric for each move, the move's and the reply's mail, the webhook events (once for the
    # reports): as many callbacks as one by one, but for the reports' webhook events.
    assert len(callbacks) >= 2 * len(reports)


def test_each_requester_gets_the_same_resolution_mail(lab, incident_with, django_capture_on_commit_callbacks):
    incident, reports = incident_with(3)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_resolve(ticket=incident, actor=lab.jane, message=MESSAGE)
    for report in reports:
        to_them = [m for m in mail.outbox if m.to == [report.requester.email]]
        assert len(to_them) == 1
        assert MESSAGE in to_them[0].body and f"[#{report.number}]" in to_them[0].subject


def test_each_report_is_resolved_as_its_own_move_with_a_new_version(lab, incident_with):
    incident, reports = incident_with(3)
    services.ticket_resolve(ticket=incident, actor=lab.jane, message=MESSAGE)
    incident.refresh_from_db()
    rule = f"system: incident #{incident.number}, resolved by Jane Doe"
    for was in reports:
        report = Ticket.objects.get(pk=was.pk)
        assert report.state == State.RESOLVED and report.version == was.version + 1
        assert report.resolved_at == incident.resolved_at
        assert report.state_changed_at > was.state_changed_at
        assert report.last_activity_at >= report.state_changed_at
        assert report.first_responded_at is not None and report.first_response_due is None
        assert report.resolution_due is None and report.reminded_at is None
        assert report.resolution_met == incident.resolution_met
        log = report.transitions.last()
        assert (log.name, log.source, log.target, log.actor_label) == ("resolve", was.state, "resolved", rule)
        assert log.created_at == report.state_changed_at
        event, reply = report.thread.order_by("-created_at", "-id")[:2][::-1]
        assert (event.kind, event.body, event.author_name, event.is_public) == (
            ThreadEntry.Kind.EVENT,
            f"Resolved with major incident #{incident.number}",
            rule,
            False,
        )
        assert (reply.kind, reply.author, reply.author_name, reply.is_public) == (
            ThreadEntry.Kind.REPLY,
            lab.jane,
            "Jane Doe",
            True,
        )
        # As ThreadEntry.save would have stored them.
        assert reply.body_html == markup.render_markdown(MESSAGE)
        assert event.body_html == markup.render_markdown(event.body)
    # The one waiting for its requester was answered before: its first response stays.
    waiting = Ticket.objects.get(pk=reports[0].pk)
    assert waiting.first_responded_at == reports[0].first_responded_at
    assert reports[0].state == State.AWAITING_USER


def test_a_refused_report_is_left_as_it_was_and_named_in_the_incidents_note(lab, incident_with):
    incident, reports = incident_with(3)
    refused = reports[1]
    real = checks.move_refusal

    def refuse_one(ticket, name, actor, **kwargs):
        if ticket.pk == refused.pk and name == "resolve" and actor is None:
            return checks.Refusal("not now", "It is not ready.")
        return real(ticket, name, actor, **kwargs)

    with mock.patch.object(checks, "move_refusal", side_effect=refuse_one):
        services.ticket_resolve(ticket=incident, actor=lab.jane, message=MESSAGE)
    left = Ticket.objects.get(pk=refused.pk)
    assert (left.state, left.version) == (refused.state, refused.version)
    assert not left.transitions.filter(name="resolve").exists()
    assert Ticket.objects.filter(incident=incident, state=State.RESOLVED).count() == 2
    note = incident.thread.filter(kind=ThreadEntry.Kind.NOTE).last()
    assert note.body == (
        f"Resolved with the incident: 2 report(s). Not resolved: #{refused.number}: It is not ready."
    )


def test_webhooks_hear_each_reports_move_then_its_reply_at_the_times_they_happened(
    lab, incident_with, django_capture_on_commit_callbacks
):
    incident, reports = incident_with(3)
    hears = ["ticket.transition", "ticket.public_reply"]
    make_hook(lab.admin, "https://hooks.example.test/all", events=hears)
    with (
        mock.patch.object(listeners, "listening", wraps=listeners.listening) as looked,
        mock.patch.object(events.tasks.deliver, "delay"),
        mock.patch.object(tasks.notify_transition, "delay"),
        mock.patch.object(tasks.notify_entry, "delay"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.ticket_resolve(ticket=incident, actor=lab.jane, message=MESSAGE)
    # The incident's own two events, then the reports' in one pass: one look per kind of event.
    assert looked.call_count == 4
    for report in reports:
        sent = list(WebhookDelivery.objects.filter(ticket=report).order_by("id"))
        assert [d.event for d in sent] == ["ticket.transition", "ticket.public_reply"]
        log = TicketTransition.objects.filter(ticket=report).last()
        reply = report.thread.filter(kind=ThreadEntry.Kind.REPLY).last()
        assert sent[0].payload["transition"]["actor"] == log.actor_label
        assert sent[0].payload["occurred_at"] == events.payload.iso(log.created_at)
        assert sent[1].payload["entry"]["id"] == reply.pk
        assert sent[1].payload["occurred_at"] == events.payload.iso(reply.created_at)


def test_every_move_counts_in_the_metrics_once_committed(
    lab, incident_with, django_capture_on_commit_callbacks
):
    incident, _ = incident_with(5)
    counter = metrics.TRANSITIONS.labels(name="resolve")
    before = counter._value.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_resolve(ticket=incident, actor=lab.jane, message=MESSAGE)
    assert counter._value.get() == before + 6


def test_an_update_is_one_reply_per_report_at_one_moment_each_queued_and_saved_once(
    lab, incident_with, django_capture_on_commit_callbacks
):
    incident, reports = incident_with(4)
    with (
        mock.patch.object(tasks.notify_entry, "delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.incident_post_update(incident=incident, actor=lab.jane, body="Still on it.")
    replies = [
        ticket.thread.filter(kind=ThreadEntry.Kind.REPLY).last() for ticket in (incident, *reports)
    ]
    assert queued.call_args_list == [mock.call(reply.pk, "reply") for reply in replies]
    assert len({reply.created_at for reply in replies[1:]}) == 1
    for was, reply in zip(reports, replies[1:], strict=True):
        report = Ticket.objects.get(pk=was.pk)
        assert (reply.body, reply.author, reply.is_public) == ("Still on it.", lab.jane, True)
        assert reply.body_html == markup.render_markdown("Still on it.")
        assert report.version == was.version + 1 and report.last_activity_at > was.last_activity_at
        # The update answers a report not answered yet; the one already answered keeps its time.
        assert report.first_responded_at == (was.first_responded_at or reply.created_at)
        assert report.first_response_due is None
    assert reports[0].first_responded_at is not None and reports[0].first_responded_at < replies[1].created_at
