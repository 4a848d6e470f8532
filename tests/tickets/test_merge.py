"""Merging true duplicates: the thread, files and contacts move to the survivor in order, the
duplicate closes with a pointer, its number keeps leading there, and the log says who did it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import AgentFactory, UserFactory
from tests.tickets.test_inbound import letter
from tickets import links, selectors, services
from tickets.mailout import mailids
from tickets.models import InboundMessage, State, ThreadEntry, Ticket, TicketContact, TicketTransition

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


def _file(name):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def _age(ticket, minutes):
    """Move a ticket's thread back in time, so two threads interleave."""
    for entry in ticket.thread.all():
        earlier = entry.created_at - timedelta(minutes=minutes)
        ThreadEntry.objects.filter(pk=entry.pk).update(created_at=earlier)


@pytest.fixture
def pair(lab, new_ticket):
    """Karen reported the VPN twice; both in Support, where John works."""
    first = new_ticket(subject="VPN drops", body="The VPN drops every hour.", attachments=[_file("a.png")])
    second = new_ticket(subject="VPN drops again", body="Still dropping.")
    return first, second


def _merge(ticket, into, actor, **kwargs):
    ticket = Ticket.objects.get(pk=ticket.pk)
    return services.ticket_merge(ticket=ticket, into=Ticket.objects.get(pk=into.pk), actor=actor, **kwargs)


def test_every_entry_and_file_moves_to_the_survivor_in_order(lab, pair, django_capture_on_commit_callbacks):
    first, second = pair
    _age(first, 60)  # the duplicate's thread is older than the survivor's: it lands first
    services.ticket_note(ticket=Ticket.objects.get(pk=first.pk), actor=lab.john, body="Checked the logs.")
    services.ticket_reply(
        ticket=Ticket.objects.get(pk=second.pk), actor=lab.john, body="Looking.", attachments=[_file("b.png")]
    )
    before = {
        "first": list(first.thread.order_by("created_at", "id").values_list("pk", "created_at")),
        "second": list(second.thread.order_by("created_at", "id").values_list("pk", "created_at")),
    }
    with django_capture_on_commit_callbacks(execute=True):
        done = _merge(first, second, lab.john)
    assert (done.entries, done.files) == (len(before["first"]), 1)

    merged = Ticket.objects.get(pk=first.pk)
    assert merged.state == State.CLOSED and merged.merged_into_id == second.pk and merged.closed_at
    # The merged ticket keeps only its merge event: the pointer on its own page.
    assert list(merged.thread.values_list("body", flat=True)) == [f"Merged into #{second.number} by John Doe"]

    survivor = Ticket.objects.get(pk=second.pk)
    thread = list(survivor.thread.order_by("created_at", "id"))
    moved_and_own = sorted(before["first"] + before["second"], key=lambda row: (row[1], row[0]))
    assert [e.pk for e in thread[:-1]] == [pk for pk, _ in moved_and_own]  # times kept, interleaved
    assert [e.created_at for e in thread[:-1]] == [at for _, at in moved_and_own]
    assert thread[0].body == "The VPN drops every hour."  # the older report opens the thread now
    assert thread[-1].body == (
        f"#{first.number} merged into this ticket by John Doe: {done.entries} entries, 1 file moved"
    )
    files = sorted(a.filename for e in thread for a in e.attachments.all())
    assert files == ["a.png", "b.png"]
    assert survivor.last_activity_at >= merged.closed_at

    # The log stays with the merged ticket and says who merged what.
    log = TicketTransition.objects.get(ticket=merged, name="merge")
    assert (log.actor, log.actor_label, log.reason) == (lab.john, "John Doe", f"Merged into #{second.number}")
    assert not TicketTransition.objects.filter(ticket=survivor, name="merge").exists()

    # Karen is told where her ticket went, with a link that lands on the survivor.
    told = [m for m in mail.outbox if m.subject.startswith(f"[#{first.number}] Merged into #{second.number}")]
    assert len(told) == 1 and told[0].to == ["karen@example.com"]
    assert f"#{second.number}" in told[0].body


def test_contacts_follow_and_another_requester_becomes_a_contact(lab, new_ticket, other_requester):
    first = new_ticket(subject="VPN drops", requester=other_requester, actor=None)
    second = new_ticket(subject="VPN drops too")
    TicketContact.objects.create(ticket=first, email="boss@example.org", name="Boss")
    TicketContact.objects.create(ticket=first, email="KAREN@example.com", name="Karen again")
    TicketContact.objects.create(ticket=second, email="boss@example.org", name="Boss")

    with pytest.raises(services.MergeNeedsConfirmation, match="Mallory .*Karen"):
        _merge(first, second, lab.john)
    assert Ticket.objects.get(pk=first.pk).state != State.CLOSED  # nothing happened

    _merge(first, second, lab.john, confirm_other_requester=True)
    contacts = sorted(TicketContact.objects.filter(ticket=second).values_list("email", flat=True))
    assert contacts == ["boss@example.org", "mallory@example.org"]  # once each; the requester is no contact


def test_refusals(lab, pair, new_ticket, stranger):
    first, second = pair
    with pytest.raises(PermissionDenied, match="You cannot see this ticket"):
        _merge(first, second, stranger)
    with pytest.raises(PermissionDenied, match="Only agents"):
        _merge(first, second, lab.karen)  # a requester
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.support])
    with pytest.raises(PermissionDenied, match="Your role may not merge"):
        _merge(first, second, viewer)
    with pytest.raises(services.TicketActionError, match="into itself"):
        _merge(first, first, lab.john)

    elsewhere = new_ticket(subject="VPN drops for admins", department=lab.sysadmins)
    assert elsewhere.department == lab.sysadmins
    with pytest.raises(services.TicketActionError, match="different departments: transfer one"):
        _merge(first, elsewhere, lab.jane)
    with pytest.raises(PermissionDenied):
        _merge(first, elsewhere, lab.john)  # John does not see the SysAdmins' ticket at all

    closed = new_ticket(subject="Old VPN ticket")
    services.ticket_cancel(ticket=closed, actor=lab.jane, reason="Duplicate")
    with pytest.raises(services.TicketActionError, match="is closed: merge into an open ticket"):
        _merge(first, closed, lab.jane)

    _merge(first, second, lab.john)
    third = new_ticket(subject="VPN drops thrice")
    with pytest.raises(services.TicketActionError, match="was itself merged"):
        _merge(third, first, lab.john)
    with pytest.raises(services.TicketActionError, match="closed cannot merge"):
        _merge(first, third, lab.john)


def test_a_stale_page_is_refused(lab, pair):
    first, second = pair
    stale = Ticket.objects.get(pk=first.pk)
    services.ticket_note(ticket=Ticket.objects.get(pk=first.pk), actor=lab.john, body="Meanwhile.")
    with pytest.raises(services.TicketConflict):
        services.ticket_merge(ticket=stale, into=second, actor=lab.john)


def test_a_major_incident_with_reports_is_not_merged(lab, pair, new_ticket):
    first, second = pair
    Ticket.objects.filter(pk=first.pk).update(is_major_incident=True)
    Ticket.objects.filter(pk=new_ticket(subject="VPN report").pk).update(incident=first)
    with pytest.raises(services.TicketActionError, match="major incident with reports"):
        _merge(first, second, lab.jane)


def test_a_chain_leads_to_the_last_survivor(lab, pair, new_ticket):
    first, second = pair
    third = new_ticket(subject="VPN drops thrice")
    _merge(first, second, lab.john)
    _merge(second, third, lab.john)
    assert Ticket.objects.get(pk=first.pk).merged_into_id == third.pk  # pointed straight there
    assert selectors.surviving_ticket(Ticket.objects.get(pk=first.pk)) == third
    # An older chain (A into B into C) is still followed, a bounded number of steps.
    Ticket.objects.filter(pk=first.pk).update(merged_into=second)
    assert selectors.surviving_ticket(Ticket.objects.get(pk=first.pk)) == third
    assert selectors.surviving_ticket(third) is third


def test_a_signed_link_to_the_merged_ticket_lands_on_the_survivor(lab, pair):
    first, second = pair
    token = links.ticket_token(first)
    _merge(first, second, lab.john)
    assert links.ticket_from_token(token) == second


def test_an_email_reply_to_the_merged_number_lands_on_the_survivor(lab, pair, ingest):
    first, second = pair
    _merge(first, second, lab.john)
    by_reference = ingest(
        letter("Re: anything", body="It dropped again.", In_Reply_To=mailids.new_id(first.pk))
    )
    by_number = ingest(letter(f"Re: [#{first.number}] VPN drops", body="And again."))
    for stored, body in ((by_reference, "It dropped again."), (by_number, "And again.")):
        assert (stored.status, stored.ticket) == (InboundMessage.Status.REPLY, second)
        assert (stored.entry.kind, stored.entry.body, stored.entry.author_name) == ("message", body, "Karen")
    assert not Ticket.objects.filter(follow_up_of=first).exists()  # a merged ticket opens no follow-up


def test_the_original_emails_follow_their_entries(lab, ingest):
    first = ingest(letter("VPN drops", body="Since Monday.")).ticket
    second = ingest(letter("VPN drops again", body="Still.")).ticket
    _merge(first, second, lab.john)
    stored = InboundMessage.objects.get(entry__body="Since Monday.")
    assert stored.ticket == second and stored.entry.ticket == second
    assert selectors.original_email(second, stored.pk) == stored


def test_an_email_reply_from_the_other_requester_lands_as_theirs(lab, new_ticket, other_requester, ingest):
    first = new_ticket(subject="VPN drops", requester=other_requester, actor=None)
    second = new_ticket(subject="VPN drops too")
    _merge(first, second, lab.john, confirm_other_requester=True)
    stored = ingest(
        letter(f"Re: [#{first.number}] VPN drops", sender="Mallory <mallory@example.org>", body="Me too.")
    )
    assert (stored.status, stored.ticket) == (InboundMessage.Status.REPLY, second)
    entry = stored.entry
    assert (entry.kind, entry.author_name, entry.is_public) == ("message", "Mallory", True)


def test_a_reply_handed_the_merged_ticket_goes_to_the_survivor(lab, pair):
    first, second = pair
    _merge(first, second, lab.john)
    landed, entry = services.ticket_receive_reply(
        ticket=Ticket.objects.get(pk=first.pk), body="Hello?", system_rule="test"
    )
    assert landed == second and entry.ticket_id == second.pk and entry.author_name == "Karen"


def test_the_requester_sees_the_survivor_of_their_merged_ticket(lab, new_ticket, other_requester):
    mallory = UserFactory(username="mallory", email="mallory@example.org")
    other_requester.user = mallory
    other_requester.save()
    first = new_ticket(subject="VPN drops", requester=other_requester, actor=None)
    second = new_ticket(subject="VPN drops too")
    assert not selectors.ticket_visible_to(mallory, second)
    _merge(first, second, lab.john, confirm_other_requester=True)
    assert selectors.ticket_visible_to(mallory, Ticket.objects.get(pk=second.pk))
    assert set(selectors.tickets_of_requester(mallory)) == {Ticket.objects.get(pk=first.pk), second}
    assert set(selectors.tickets_of_requester(lab.karen)) == {second}
    landed, entry = services.ticket_receive_reply(ticket=second, body="Any news?", actor=mallory)
    assert landed == second and entry.author_name == "Mallory"


def test_merging_is_refused_for_an_agent_who_sees_only_the_survivor(lab, pair):
    first, second = pair
    outsider = AgentFactory(username="outsider", role="Agent", departments=[])
    services.ticket_assign(ticket=Ticket.objects.get(pk=second.pk), actor=lab.jane, agent=outsider)
    with pytest.raises(PermissionDenied, match="You cannot see this ticket"):
        _merge(first, second, outsider)
    assert Ticket.objects.get(pk=first.pk).merged_into_id is None  # the refusal changed nothing
