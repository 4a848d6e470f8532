import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.forms import ReplyForm
from tests.factories import UserFactory
from tickets import links, markup, services
from tickets.models import Attachment, State, ThreadEntry, Ticket, TicketTransition

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def ticket(new_ticket):
    return new_ticket(attachments=[SimpleUploadedFile("screen.png", PNG, content_type="image/png")])


@pytest.fixture
def karen_client(client, lab):
    client.force_login(lab.karen)
    return client


@pytest.fixture
def mallory(db, other_requester):
    user = UserFactory(username="mallory@example.org", email="mallory@example.org")
    other_requester.user = user
    other_requester.save()
    return user


def _page(response):
    """The page as a person reads it (the per-request CSRF token masked)."""
    return re.sub(r'value="[A-Za-z0-9]{64}"', "", response.content.decode())


def _worked(lab, ticket):
    services.ticket_assign(ticket=ticket, actor=lab.john, agent=lab.john)
    services.ticket_start_work(ticket=ticket, actor=lab.john)
    return ticket


def _state(ticket):
    ticket.refresh_from_db()
    return ticket.state


def _snapshot(ticket):
    ticket.refresh_from_db()
    return (
        ticket.state,
        ticket.version,
        ticket.thread.count(),
        ticket.transitions.count(),
        Ticket.objects.count(),
    )


# -- who may see it ----------------------------------------------------------------------------


def test_the_requester_sees_the_ticket_with_its_stage_and_next_step(karen_client, ticket):
    page = karen_client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert ticket.subject in page and f"#{ticket.number}" in page
    assert "Received" in page and "pass it to the right team" in page
    assert 'aria-current="step"' in page


def test_another_requester_gets_the_same_404_as_a_missing_ticket(client, mallory, ticket):
    client.force_login(mallory)
    missing = client.get(reverse("portal:ticket", args=["999999"]))
    foreign_urls = [
        reverse("portal:ticket", args=[ticket.number]),
        reverse("portal:ticket_received", args=[ticket.number]),
        reverse("portal:attachment", args=[ticket.number, Attachment.objects.get().pk]),
    ]
    for url in foreign_urls:
        response = client.get(url)
        assert response.status_code == 404
        assert _page(response) == _page(missing)
        assert ticket.subject not in response.content.decode()


@pytest.mark.parametrize("action", ["ticket_reply", "ticket_confirm", "ticket_reopen"])
@pytest.mark.parametrize("who", ["mallory", "anonymous", "agent"])
def test_nobody_but_the_requester_can_write_on_the_ticket(client, lab, mallory, ticket, action, who):
    _worked(lab, ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    if who == "mallory":
        client.force_login(mallory)
    elif who == "agent":
        client.force_login(lab.john)  # agents work in the console, not as the requester
    before = _snapshot(ticket)
    response = client.post(
        reverse(f"portal:{action}", args=[ticket.number]),
        {"body": "hijack", "reason": "hijack", "version": ticket.version},
    )
    assert response.status_code == 404
    assert _snapshot(ticket) == before


def test_my_ticket_list_requires_sign_in(client, lab):
    response = client.get(reverse("portal:my_tickets"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


# -- what the requester sees -------------------------------------------------------------------


def test_internal_notes_and_events_never_reach_the_page_or_mail(
    karen_client, lab, ticket, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _worked(lab, ticket)
        services.ticket_note(ticket=ticket, actor=lab.john, body="SECRET: the vendor's VPN key is abc123")
        services.ticket_reply(ticket=ticket, actor=lab.john, body="We are on it.")
    page = karen_client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert "We are on it." in page
    assert "SECRET" not in page and "started work" not in page
    assert f"Assigned to {services.display_name(lab.john)}" not in page
    assert mail.outbox and all("SECRET" not in message.body for message in mail.outbox)
    # Every mail to the requester carries a signed link back to the ticket.
    assert all(f"/t/{links.ticket_token(ticket)[:20]}" in message.body for message in mail.outbox)


def test_a_note_attachment_cannot_be_downloaded_by_the_requester(karen_client, lab, ticket):
    _worked(lab, ticket)
    note = services.ticket_note(ticket=ticket, actor=lab.john, body="internal")
    hidden = Attachment.objects.create(
        entry=note, file=SimpleUploadedFile("x.png", PNG), filename="x.png", content_type="image/png", size=72
    )
    response = karen_client.get(reverse("portal:attachment", args=[ticket.number, hidden.pk]))
    assert response.status_code == 404


def test_an_attachment_is_marked_by_the_vendored_paperclip_not_an_emoji(karen_client, ticket):
    page = karen_client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert '<span class="icon-paperclip" aria-hidden="true"></span> <a href=' in page
    assert "📎" not in page


def test_attachments_download_as_files_never_inline(karen_client, ticket):
    attachment = Attachment.objects.get()
    response = karen_client.get(reverse("portal:attachment", args=[ticket.number, attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="screen.png"' in response["Content-Disposition"]
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG


@pytest.mark.parametrize(
    ("state_moves", "expected"),
    [
        ([], "pass it to the right team"),
        (["assign"], "an agent will start on it soon"),
        (["assign", "request_info"], "We asked you a question — reply below."),
        (["assign", "start_work"], "An agent is working on it."),
        (["assign", "start_work", "resolve"], "Tell us below whether it works for you."),
    ],
)
def test_the_next_step_is_said_in_words(karen_client, lab, ticket, state_moves, expected):
    for move in state_moves:
        if move == "assign":
            services.ticket_assign(ticket=ticket, actor=lab.john, agent=lab.john)
        elif move == "start_work":
            services.ticket_start_work(ticket=ticket, actor=lab.john)
        elif move == "request_info":
            services.ticket_request_info(ticket=ticket, actor=lab.john, message="Which browser?")
        elif move == "resolve":
            services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    page = karen_client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert expected in page
    assert "step step-current" in page


def test_the_progress_view_marks_stages_done_current_and_to_come(karen_client, lab, ticket):
    _worked(lab, ticket)
    page = karen_client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    steps = page.split('<li class="step ')[1:]
    assert [s.split('"', 1)[0] for s in steps] == [
        "step-done",  # Creation
        "step-done",  # Intake
        "step-done",  # Assignment
        "step-todo",  # Your input (never asked)
        "step-current",  # Work
        "step-todo",
        "step-todo",
        "step-todo",
    ]


# -- what the requester does -------------------------------------------------------------------


def test_a_reply_while_we_wait_for_the_requester_sends_the_ticket_back_to_work(karen_client, lab, ticket):
    _worked(lab, ticket)
    services.ticket_request_info(ticket=ticket, actor=lab.john, message="Which browser?")
    response = karen_client.post(
        reverse("portal:ticket_reply", args=[ticket.number]), {"body": "Firefox 140."}
    )
    assert response.status_code == 302
    assert _state(ticket) == State.IN_PROGRESS
    assert ticket.transitions.last().name == "receive_reply"
    assert ticket.thread.filter(kind=ThreadEntry.Kind.MESSAGE, body="Firefox 140.").exists()


def test_a_reply_with_a_bad_file_keeps_the_text_and_saves_nothing(karen_client, lab, ticket):
    before = _snapshot(ticket)
    response = karen_client.post(
        reverse("portal:ticket_reply", args=[ticket.number]),
        {
            "body": "Here is the page",
            "attachments": [SimpleUploadedFile("page.svg", b"<svg onload=alert(1)>")],
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "page.svg is not a file type we accept" in page and "Here is the page" in page
    assert _snapshot(ticket) == before


def test_an_empty_reply_is_refused_with_a_message(karen_client, ticket):
    response = karen_client.post(reverse("portal:ticket_reply", args=[ticket.number]), {"body": "  "})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_confirming_the_fix_closes_the_ticket(karen_client, lab, ticket):
    _worked(lab, ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Restarted the server.")
    page = karen_client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert "Yes, it's fixed — close it" in page and "No, it's still broken — reopen" in page
    ticket.refresh_from_db()
    response = karen_client.post(
        reverse("portal:ticket_confirm", args=[ticket.number]), {"version": ticket.version}, follow=True
    )
    assert _state(ticket) == State.CLOSED
    log = ticket.transitions.last()
    assert (log.name, log.actor, log.reason) == ("close", lab.karen, services.REQUESTER_CONFIRMED)
    assert "The ticket is closed." in response.content.decode()


def test_reopening_needs_a_reason_and_sends_the_ticket_back_to_work(karen_client, lab, ticket):
    _worked(lab, ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Restarted the server.")
    ticket.refresh_from_db()
    url = reverse("portal:ticket_reopen", args=[ticket.number])
    response = karen_client.post(url, {"reason": "", "version": ticket.version})
    assert response.status_code == 400 and _state(ticket) == State.RESOLVED
    karen_client.post(url, {"reason": "Still down for me.", "version": ticket.version})
    ticket.refresh_from_db()
    assert ticket.state == State.IN_PROGRESS and ticket.reopen_count == 1
    assert ticket.transitions.last().reason == "Still down for me."
    assert ticket.thread.filter(kind=ThreadEntry.Kind.MESSAGE, body="Still down for me.").exists()


def test_a_confirmation_from_an_older_page_is_decided_on_the_ticket_as_it_is(karen_client, lab, ticket):
    _worked(lab, ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    services.ticket_reopen(ticket=ticket, actor=lab.john, reason="Not fixed after all.")
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Now it is.")
    response = karen_client.post(reverse("portal:ticket_confirm", args=[ticket.number]), follow=True)
    assert "The ticket is closed." in response.content.decode()
    assert _state(ticket) == State.CLOSED


def test_a_confirmation_after_an_agent_reopened_leaves_the_ticket_open_and_tells_the_agents(
    karen_client, lab, ticket
):
    _worked(lab, ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    services.ticket_reopen(ticket=ticket, actor=lab.john, reason="Not fixed after all.")
    response = karen_client.post(reverse("portal:ticket_confirm", args=[ticket.number]), follow=True)
    assert "so it stays open; we told the team that it works for you" in response.content.decode()
    assert _state(ticket) == State.IN_PROGRESS
    assert ticket.transitions.last().name == "reopen"
    event = ticket.thread.last()
    assert (event.kind, event.is_public) == (ThreadEntry.Kind.EVENT, False)
    assert event.body == "Karen confirmed the fix after the ticket had moved on; it stays in progress"


def test_a_confirmation_of_a_ticket_closed_meanwhile_changes_nothing(karen_client, lab, ticket):
    _worked(lab, ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    services.ticket_close(ticket=ticket, actor=lab.john)
    before = _snapshot(ticket)
    response = karen_client.post(reverse("portal:ticket_confirm", args=[ticket.number]), follow=True)
    assert "The ticket was already closed." in response.content.decode()
    assert _snapshot(ticket) == before


def test_a_reopen_of_a_ticket_closed_meanwhile_opens_a_follow_up_with_the_reason(karen_client, lab, ticket):
    _worked(lab, ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    services.ticket_close(ticket=ticket, actor=lab.john)
    response = karen_client.post(
        reverse("portal:ticket_reopen", args=[ticket.number]), {"reason": "Down again."}, follow=True
    )
    follow_up = Ticket.objects.get(follow_up_of=ticket)
    assert follow_up.thread.get(kind=ThreadEntry.Kind.MESSAGE).body == "Down again."
    assert f"We opened ticket #{follow_up.number} as a follow-up" in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("portal:ticket", args=[follow_up.number])
    assert _state(ticket) == State.CLOSED


def test_a_reopen_of_a_ticket_an_agent_reopened_adds_the_reason_as_a_message(karen_client, lab, ticket):
    _worked(lab, ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    services.ticket_reopen(ticket=ticket, actor=lab.john, reason="Not fixed after all.")
    response = karen_client.post(
        reverse("portal:ticket_reopen", args=[ticket.number]), {"reason": "Still down here."}, follow=True
    )
    assert "your reason was added to it as a message" in response.content.decode()
    assert ticket.transitions.filter(name="reopen").count() == 1
    message = ticket.thread.filter(kind=ThreadEntry.Kind.MESSAGE).last()
    assert (message.body, message.author) == ("Still down here.", lab.karen)


def test_a_message_on_a_closed_ticket_opens_a_linked_follow_up(karen_client, lab, ticket):
    _worked(lab, ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    services.ticket_confirm_fix(ticket=ticket, actor=lab.karen)
    page = karen_client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert "Open a follow-up ticket" in page and "reply below" not in page
    response = karen_client.post(
        reverse("portal:ticket_reply", args=[ticket.number]), {"body": "It is down again."}, follow=True
    )
    follow_up = Ticket.objects.get(follow_up_of=ticket)
    assert follow_up.state == State.OPEN and _state(ticket) == State.CLOSED
    assert f"Follow-up to ticket #{ticket.number}" in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("portal:ticket", args=[follow_up.number])


def test_a_guest_session_acts_through_the_link_and_the_log_says_so(client, lab, karen, ticket):
    from portal.access import LINK_RULE, grant

    request = type("R", (), {"session": client.session})()
    grant(request, ticket)
    request.session.save()
    _worked(lab, ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    ticket.refresh_from_db()
    client.post(reverse("portal:ticket_confirm", args=[ticket.number]), {"version": ticket.version})
    log = TicketTransition.objects.filter(ticket=ticket).last()
    assert (log.name, log.actor, log.actor_label) == ("close", None, f"system: {LINK_RULE}")


def test_my_tickets_lists_only_mine_newest_activity_first(karen_client, lab, new_ticket, other_requester):
    first = new_ticket(subject="First problem")
    second = new_ticket(subject="Second problem")
    services.ticket_create(requester=other_requester, subject="Mallory's problem", body="x")
    services.ticket_receive_reply(ticket=first, body="More details", actor=lab.karen)
    page = karen_client.get(reverse("portal:my_tickets")).content.decode()
    assert "Mallory" not in page
    assert page.index("First problem") < page.index("Second problem")
    assert "Received" in page and "Last update" in page
    assert second.number in page


def test_my_tickets_is_paginated(karen_client, lab, new_ticket):
    for i in range(21):
        new_ticket(subject=f"Problem {i:02d}")
    page = karen_client.get(reverse("portal:my_tickets")).content.decode()
    assert "Page 1 of 2" in page and "Problem 20" in page and "Problem 00" not in page
    page = karen_client.get(reverse("portal:my_tickets") + "?page=2").content.decode()
    assert "Problem 00" in page


def _no_markdown_now(*args, **kwargs):
    raise AssertionError("a page parsed Markdown")


def test_a_message_of_any_shape_shows_its_text_and_the_page_parses_no_markdown(
    karen_client, ticket, monkeypatch
):
    longest = ReplyForm.base_fields["body"].max_length
    bodies = [
        "[" * longest,
        ("[a](" * longest)[:longest],
        ("_a" * longest)[: markup.MARKDOWN_MAX_CHARS],
        "Short *and* [sweet](https://bank.example/)",
    ]
    for body in bodies:
        response = karen_client.post(reverse("portal:ticket_reply", args=[ticket.number]), {"body": body})
        assert response.status_code == 302
    # What was written was rendered once, when it was saved; the page shows the stored HTML.
    monkeypatch.setattr(markup, "render_markdown", _no_markdown_now)
    monkeypatch.setattr(markup._MARKDOWN, "render", _no_markdown_now)
    page = karen_client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert f'<pre class="plain-text">{bodies[0]}</pre>' in page
    assert f'<pre class="plain-text">{bodies[1]}</pre>' in page
    assert "_a" * 100 in page  # Markdown: no emphasis without a closing "_", the text as typed
    assert "Short <em>and</em> <a " in page and 'href="https://bank.example/"' in page


# -- cost -----------------------------------------------------------------------------------------


def _queries(client, url, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_my_tickets_costs_the_same_at_3_and_33_tickets(
    karen_client, new_ticket, django_assert_max_num_queries
):
    for i in range(3):
        new_ticket(subject=f"Problem {i}")
    few = _queries(karen_client, reverse("portal:my_tickets"), django_assert_max_num_queries, 8)
    for i in range(30):
        new_ticket(subject=f"More {i}")
    many = _queries(karen_client, reverse("portal:my_tickets"), django_assert_max_num_queries, 8)
    assert few == many


def test_the_ticket_page_costs_the_same_at_3_and_33_entries(
    karen_client, lab, ticket, django_assert_max_num_queries
):
    _worked(lab, ticket)
    url = reverse("portal:ticket", args=[ticket.number])
    few = _queries(karen_client, url, django_assert_max_num_queries, 10)
    for i in range(15):
        services.ticket_reply(ticket=ticket, actor=lab.john, body=f"Update {i}")
        services.ticket_receive_reply(
            ticket=ticket,
            body=f"Thanks {i}",
            actor=lab.karen,
            attachments=[SimpleUploadedFile(f"log{i}.txt", b"line\n")],
        )
    many = _queries(karen_client, url, django_assert_max_num_queries, 10)
    assert few == many
