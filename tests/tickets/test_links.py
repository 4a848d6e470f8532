"""Signed ticket links in e-mails: they open their ticket, and nothing else, for a limited time."""

import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.urls import resolve

from tickets import links
from tickets.links import ticket_from_token, ticket_link, ticket_token
from tickets.models import Ticket

DAY = 86400


@pytest.fixture
def ticket(new_ticket):
    return new_ticket()


def later(monkeypatch, seconds: float) -> None:
    """Make django.core.signing see a clock ``seconds`` ahead (signing reads ``time.time()``)."""
    now = time.time()
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now + seconds))


def test_a_token_opens_the_ticket_it_was_made_for(ticket):
    opened = ticket_from_token(ticket_token(ticket))
    assert opened == ticket
    assert opened.requester == ticket.requester


def test_two_tickets_get_different_tokens_each_opening_its_own(new_ticket):
    first, second = new_ticket(), new_ticket(subject="Card declined")
    first_token, second_token = ticket_token(first), ticket_token(second)
    assert first_token != second_token
    assert ticket_from_token(first_token) == first
    assert ticket_from_token(second_token) == second


def _flip(token: str, index: int) -> str:
    char = token[index]
    replacement = "A" if char != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


@pytest.mark.parametrize("part", ["payload", "timestamp", "signature"])
def test_a_token_with_one_character_changed_opens_nothing(ticket, part):
    token = ticket_token(ticket)
    payload, timestamp, signature = token.split(":")
    index = {
        "payload": len(payload) // 2,
        "timestamp": len(payload) + 1,
        "signature": len(payload) + 1 + len(timestamp) + 1 + len(signature) // 2,
    }[part]
    altered = _flip(token, index)
    assert altered != token and altered.count(":") == 2
    assert ticket_from_token(altered) is None


def test_a_token_for_another_ticket_signed_without_our_salt_opens_nothing(new_ticket, other_requester):
    mine = new_ticket()
    theirs = new_ticket(requester=other_requester, subject="Mallory's")
    claim = {"t": theirs.pk, "r": theirs.requester_id}
    assert ticket_from_token(signing.dumps(claim)) is None
    assert ticket_from_token(signing.dumps(claim, salt="portal.accounts.confirm")) is None
    assert ticket_from_token(signing.dumps(claim, salt=links._SALT, key="not-our-secret-key" * 3)) is None
    assert ticket_from_token(ticket_token(mine)) == mine


def test_a_well_signed_token_that_names_a_different_requester_opens_nothing(new_ticket, other_requester):
    ticket = new_ticket()
    forged = signing.dumps({"t": ticket.pk, "r": other_requester.pk}, salt=links._SALT)
    assert ticket_from_token(forged) is None


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a:b:c", "::", "x" * 500, "eyJ0IjoxfQ:1abcde:" + "A" * 43, "../../admin"],
)
def test_empty_or_garbage_tokens_open_nothing(ticket, token):
    assert ticket_from_token(token) is None


@pytest.mark.parametrize("claim", [[1, 2], "1", 1, None, {"t": None, "r": None}, {}])
def test_a_signed_value_that_is_not_a_ticket_claim_opens_nothing(ticket, claim):
    assert ticket_from_token(signing.dumps(claim, salt=links._SALT)) is None


def test_a_token_still_works_just_before_it_expires(ticket, settings, monkeypatch):
    settings.TICKET_LINK_MAX_AGE_DAYS = 30
    token = ticket_token(ticket)
    later(monkeypatch, 30 * DAY - 60)
    assert ticket_from_token(token) == ticket


def test_a_token_older_than_the_configured_days_opens_nothing(ticket, settings, monkeypatch):
    settings.TICKET_LINK_MAX_AGE_DAYS = 30
    token = ticket_token(ticket)
    later(monkeypatch, 30 * DAY + 60)
    assert ticket_from_token(token) is None


def test_the_expiry_follows_the_setting(ticket, settings, monkeypatch):
    token = ticket_token(ticket)
    later(monkeypatch, 2 * DAY)
    settings.TICKET_LINK_MAX_AGE_DAYS = 3
    assert ticket_from_token(token) == ticket
    settings.TICKET_LINK_MAX_AGE_DAYS = 1
    assert ticket_from_token(token) is None


def test_a_token_stops_working_when_the_ticket_changes_requester(ticket, other_requester):
    token = ticket_token(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(requester=other_requester)
    assert ticket_from_token(token) is None
    ticket.refresh_from_db()
    assert ticket_from_token(ticket_token(ticket)) == ticket


def test_a_ticket_not_yet_through_intake_cannot_be_opened(karen):
    draft = Ticket.objects.create(subject="Draft", requester=karen)
    assert draft.number is None
    assert ticket_from_token(ticket_token(draft)) is None


def test_a_deleted_ticket_s_token_opens_nothing(ticket):
    token = ticket_token(ticket)
    Ticket.objects.filter(pk=ticket.pk).delete()
    assert ticket_from_token(token) is None


def test_the_e_mail_link_is_absolute_on_the_site_address_and_carries_the_token(ticket, settings):
    settings.HELPDESK_BASE_URL = "https://help.bank.example/"
    link = ticket_link(ticket)
    assert link.startswith("https://help.bank.example/")
    assert "//" not in link.removeprefix("https://")

    match = resolve(urlsplit(link).path)
    assert match.view_name == "portal:ticket_link"
    token = match.kwargs["token"]
    assert link.endswith(f"/{token}/")
    assert signing.loads(token, salt=links._SALT) == {"t": ticket.pk, "r": ticket.requester_id}
    assert ticket_from_token(token) == ticket


def test_the_e_mail_link_follows_the_configured_site_address(ticket, settings):
    settings.HELPDESK_BASE_URL = "http://127.0.0.1:8000"
    assert ticket_link(ticket).startswith("http://127.0.0.1:8000/")
    settings.HELPDESK_BASE_URL = "https://support.example.org"
    assert ticket_link(ticket).startswith("https://support.example.org/")
