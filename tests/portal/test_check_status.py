"""Guests without an account: "Check Ticket Status" mails a signed link that opens the ticket."""

import re
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.urls import reverse

from tests.pages import without_csrf
from tickets import links, services
from tickets.models import State, ThreadEntry, Ticket, TicketTransition

DAY = 86400


@pytest.fixture
def ticket(new_ticket):
    return new_ticket()


@pytest.fixture
def other_ticket(new_ticket, other_requester):
    return new_ticket(subject="Mallory's secret payroll question", requester=other_requester, actor=None)


def _ask(client, email, number, **extra):
    return client.post(reverse("portal:check_status"), {"email": email, "number": number}, **extra)


def _link_path(message) -> str:
    [line] = [line.strip() for line in message.body.splitlines() if "/t/" in line]
    return urlsplit(line).path


def _ticket_url(ticket: Ticket) -> str:
    return reverse("portal:ticket", args=[ticket.number])


def _clock(monkeypatch, seconds: float) -> None:
    """Make django.core.signing see a clock ``seconds`` away from now."""
    now = time.time()
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now + seconds))


def test_the_form_has_labelled_address_and_number_fields(client, lab):
    page = client.get(reverse("portal:check_status")).content.decode()
    field_ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="(id_[a-z0-9_]+)"', page)
    assert set(field_ids) == {"id_email", "id_number"}
    for field_id in field_ids:
        assert f'for="{field_id}"' in page, field_id
    assert "E-mail address" in page and "Ticket number" in page


@pytest.mark.parametrize(
    "email, number",
    [
        ("karen@example.com", "{n}"),
        ("KAREN@Example.COM", "{n}"),
        ("Karen@example.com", "#{n}"),
        ("karen@example.com", "  #{n} "),
    ],
)
def test_a_matching_pair_mails_a_link_to_the_requester(client, ticket, other_ticket, email, number):
    mail.outbox.clear()
    response = _ask(client, email, number.format(n=ticket.number))
    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["karen@example.com"]
    assert ticket.number in message.subject and ticket.subject in message.body
    assert re.fullmatch(r"/t/[^/]{40,}/", _link_path(message))
    assert other_ticket.subject not in message.subject + message.body


def test_matching_and_non_matching_pairs_get_the_same_page(client, ticket, other_ticket):
    mail.outbox.clear()
    matching = _ask(client, "karen@example.com", ticket.number)
    assert len(mail.outbox) == 1
    mail.outbox.clear()
    non_matching = [
        ("mallory@example.org", ticket.number),  # wrong e-mail for Karen's ticket
        ("karen@example.com", "999999"),  # no such ticket
        ("karen@example.com", other_ticket.number),  # another requester's ticket
        ("karen@example.com", f"#{other_ticket.number}"),
    ]
    expected = without_csrf(matching.content.decode().replace("karen@example.com", "ADDRESS"))
    for email, number in non_matching:
        response = _ask(client, email, number)
        assert response.status_code == matching.status_code == 200
        assert without_csrf(response.content.decode().replace(email, "ADDRESS")) == expected, (email, number)
    assert mail.outbox == []
    assert client.get(_ticket_url(ticket)).status_code == 404
    assert client.get(_ticket_url(other_ticket)).status_code == 404


def test_the_mailed_link_opens_the_ticket_in_a_fresh_browser(client, browser, ticket):
    mail.outbox.clear()
    _ask(client, "karen@example.com", ticket.number)
    [message] = mail.outbox
    # Asking grants nothing: only the mailbox's owner gets in.
    assert client.get(_ticket_url(ticket)).status_code == 404

    guest = browser()
    assert guest.get(_ticket_url(ticket)).status_code == 404
    response = guest.get(_link_path(message))
    assert response.status_code == 302
    assert response["Location"] == _ticket_url(ticket)
    page = guest.get(response["Location"])
    assert page.status_code == 200 and ticket.subject in page.content.decode()
    # Another browser without the link still gets nothing.
    assert browser().get(_ticket_url(ticket)).status_code == 404


def _tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda t: "not-a-token", id="garbage"),
        pytest.param(lambda t: _tampered(links.ticket_token(t)), id="tampered"),
        pytest.param(lambda t: links.ticket_token(t)[:-8], id="truncated"),
        pytest.param(lambda t: links.ticket_token(t).split(":", 1)[1], id="payload-cut"),
        pytest.param(lambda t: links.confirm_token(t.requester.user), id="other-salt"),
        pytest.param(
            lambda t: signing.dumps({"t": t.pk, "r": t.requester_id}, salt="something.else"), id="wrong-salt"
        ),
    ],
)
def test_a_bad_token_gives_404_and_grants_nothing(browser, ticket, make_token):
    guest = browser()
    response = guest.get(reverse("portal:ticket_link", args=[make_token(ticket)]))
    assert response.status_code == 404
    assert "not valid or has expired" in response.content.decode()
    assert guest.get(_ticket_url(ticket)).status_code == 404
    # The genuine token opens it in the same browser: it was the token that was refused.
    assert guest.get(reverse("portal:ticket_link", args=[links.ticket_token(ticket)])).status_code == 302
    assert guest.get(_ticket_url(ticket)).status_code == 200


def test_an_expired_link_gives_404_and_grants_nothing(client, browser, ticket, settings, monkeypatch):
    settings.TICKET_LINK_MAX_AGE_DAYS = 2
    mail.outbox.clear()
    _ask(client, "karen@example.com", ticket.number)
    path = _link_path(mail.outbox[0])

    late = browser()
    _clock(monkeypatch, 2 * DAY + 60)
    response = late.get(path)
    assert response.status_code == 404
    assert "not valid or has expired" in response.content.decode()
    assert late.get(_ticket_url(ticket)).status_code == 404

    in_time = browser()
    _clock(monkeypatch, 2 * DAY - 60)
    assert in_time.get(path).status_code == 302
    assert in_time.get(_ticket_url(ticket)).status_code == 200


def test_a_link_stops_working_when_the_ticket_changes_requester(browser, ticket, other_requester):
    token = links.ticket_token(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(requester=other_requester)
    guest = browser()
    assert guest.get(reverse("portal:ticket_link", args=[token])).status_code == 404
    assert guest.get(_ticket_url(ticket)).status_code == 404


def test_requests_for_one_address_are_throttled(client, ticket, settings):
    settings.THROTTLE_MAIL_REQUESTS = (2, 3600)
    mail.outbox.clear()
    for i, email in enumerate(("karen@example.com", "Karen@Example.com")):
        assert _ask(client, email, ticket.number, REMOTE_ADDR=f"10.0.2.{i}").status_code == 200
    assert len(mail.outbox) == 2
    response = _ask(client, "KAREN@example.com", ticket.number, REMOTE_ADDR="10.0.2.9")
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert len(mail.outbox) == 2
    # Another address is not held back by Karen's count.
    assert _ask(client, "mallory@example.org", "999999", REMOTE_ADDR="10.0.2.9").status_code == 200


def test_a_guest_with_the_link_replies_and_the_ticket_goes_back_to_work(
    client, browser, lab, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_assign(ticket=ticket, actor=lab.john, team=None, agent=lab.john)
        services.ticket_request_info(ticket=ticket, actor=lab.john, message="Which browser?")
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_USER
    mail.outbox.clear()

    _ask(client, "karen@example.com", ticket.number)
    [message] = mail.outbox
    guest = browser()
    guest.get(_link_path(message))
    page = guest.get(_ticket_url(ticket)).content.decode()
    assert "Which browser?" in page and "Answer our question" in page

    response = guest.post(reverse("portal:ticket_reply", args=[ticket.number]), {"body": "Firefox 128."})
    assert response.status_code == 302 and response["Location"] == _ticket_url(ticket)

    ticket.refresh_from_db()
    assert ticket.state == State.IN_PROGRESS
    entry = ticket.thread.filter(kind=ThreadEntry.Kind.MESSAGE).latest("pk")
    assert entry.body == "Firefox 128." and entry.is_public
    assert entry.author is None and entry.author_name == ticket.requester.name == "Karen"
    log = TicketTransition.objects.filter(ticket=ticket).latest("pk")
    assert log.name == "receive_reply" and log.actor is None
    assert log.actor_label == "system: requester via ticket link"
    page = guest.get(_ticket_url(ticket)).content.decode()
    assert "Firefox 128." in page and "Your message was added to the ticket." in page


def test_a_guest_without_the_link_cannot_reply(browser, ticket):
    guest = browser()
    response = guest.post(reverse("portal:ticket_reply", args=[ticket.number]), {"body": "Let me in."})
    assert response.status_code == 404
    assert not ticket.thread.filter(body="Let me in.").exists()
