"""The SLA watch marks its tickets in batches (tickets.sla.jobs.sla_watch with
services.tickets_mark_overdue): the same marks, entries, alerts and webhook events as one by
one, in a number of statements that does not grow with the tickets of a batch."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tickets.webhook_receiver import make_hook
from tickets import services
from tickets.models import ThreadEntry, Ticket, WebhookDelivery
from tickets.sla import jobs
from tickets.webhooks import events, listeners


@pytest.fixture
def overdue(lab, new_ticket):
    """``overdue(n)``: n of Karen's new tickets (the lab's default plan only alerts), and a time
    past their first-response and resolution targets."""

    def make(count: int) -> tuple[list[Ticket], object]:
        tickets = [new_ticket(subject=f"Printer {i} is jammed") for i in range(count)]
        latest = max(t.resolution_due for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets]))
        return tickets, latest + timedelta(minutes=1)

    return make


def watch(now) -> tuple[jobs.Report, int]:
    report = jobs.Report()
    with CaptureQueriesContext(connection) as captured:
        jobs.sla_watch(now, report)
    return report, len(captured)


def test_a_batch_costs_the_same_statements_for_3_tickets_as_for_12(overdue):
    few, now = overdue(3)
    report, three = watch(now)
    assert report.overdue == 3
    more, now = overdue(12)
    report, twelve = watch(now)
    assert report.overdue == 12
    assert twelve == three


def test_each_ticket_of_a_batch_gets_its_marks_entries_and_one_new_version(overdue):
    tickets, now = overdue(4)
    before = {t.pk: Ticket.objects.get(pk=t.pk) for t in tickets}
    report, _ = watch(now)
    assert (report.overdue, report.escalated) == (4, 0)
    for pk, was in before.items():
        ticket = Ticket.objects.get(pk=pk)
        # A new ticket missed both targets: both are marked, with one entry each, in one write.
        assert ticket.first_response_breached_at == now and ticket.resolution_breached_at == now
        assert ticket.version == was.version + 1
        assert ticket.last_activity_at > was.last_activity_at
        events_ = ThreadEntry.objects.filter(ticket=ticket, body__startswith="Overdue: ")
        assert sorted(e.body.split(" was due")[0] for e in events_) == [
            "Overdue: the first response",
            "Overdue: the resolution",
        ]
        assert all(e.author_name == "system: SLA watch" and not e.is_public for e in events_)
        assert all(e.body_html for e in events_)
    # A second run finds nothing left to mark.
    assert watch(now)[0].overdue == 0


def test_a_batch_that_fails_is_marked_one_by_one(overdue, caplog):
    tickets, now = overdue(3)
    with mock.patch.object(services, "tickets_mark_overdue", side_effect=RuntimeError("boom")):
        report, _ = watch(now)
    assert report.overdue == 3
    assert "marking them one by one" in caplog.text
    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets], resolution_breached_at=now).count() == 3


def test_a_batch_looks_for_listening_hooks_once_and_sends_each_department_its_own(
    lab, new_ticket, overdue, django_capture_on_commit_callbacks
):
    url = "https://hooks.example.test/sys"
    make_hook(lab.admin, url, events=["ticket.overdue"], department=lab.sysadmins)
    tickets, now = overdue(3)
    Ticket.objects.filter(pk=tickets[0].pk).update(department=lab.sysadmins)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[1:]]).update(department=lab.support)
    with (
        mock.patch.object(listeners, "listening", wraps=listeners.listening) as looked,
        mock.patch.object(events.tasks.deliver, "delay"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        watch(now)
    assert looked.call_count == 1
    sent = WebhookDelivery.objects.filter(event="ticket.overdue")
    assert [d.ticket_id for d in sent] == [tickets[0].pk]
    assert sorted(sent[0].payload["overdue"]["targets"]) == ["first_response", "resolution"]


def test_the_single_ticket_service_refuses_a_ticket_that_is_not_overdue(lab, new_ticket):
    ticket = new_ticket()
    with pytest.raises(services.TicketActionError, match="not overdue"):
        services.ticket_mark_overdue(ticket=ticket, now=ticket.created_at)
