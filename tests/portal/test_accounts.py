"""End-user accounts in the portal: register (confirmed by e-mail), sign in and out, reset a password."""

import re
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core import mail, signing
from django.urls import reverse

from tests.pages import without_csrf
from tickets import links, selectors, services
from tickets.models import Requester, Ticket

User = get_user_model()
PASSWORD = "Tr1cky-Horse-Battery"
NEW_ADDRESS = "new.person@example.org"


def _base() -> str:
    return django_settings.HELPDESK_BASE_URL.rstrip("/")


def _register(client, REMOTE_ADDR="127.0.0.1", **overrides):
    data = {"name": "New Person", "email": NEW_ADDRESS, "password1": PASSWORD, "password2": PASSWORD}
    data.update(overrides)
    return client.post(reverse("portal:register"), data, REMOTE_ADDR=REMOTE_ADDR)


def _sign_in(client, username, password, **extra):
    return client.post(reverse("portal:login"), {"username": username, "password": password}, **extra)


def _link(message, marker: str) -> str:
    """The one line of the mail's body that holds a link containing ``marker``."""
    [line] = [line.strip() for line in message.body.splitlines() if marker in line]
    return line


def _path(link: str) -> str:
    return urlsplit(link).path


def _signed_in_as(client):
    return client.session.get(SESSION_KEY)


def _guest_ticket(lab, email, subject):
    """A ticket opened without an account, as the e-mail gateway or a guest would."""
    requester = services.requester_get_or_create(email=email, name="Guest Person")
    return services.ticket_create(
        requester=requester,
        subject=subject,
        body="Opened before I had an account.",
        help_topic=lab.topic("Report a Problem"),
        actor=None,
    )


def _clock(monkeypatch, seconds: float) -> None:
    """Make django.core.signing see a clock ``seconds`` away from now."""
    now = time.time()
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now + seconds))


# -- registering -----------------------------------------------------------------------------


def test_the_register_form_has_a_label_on_every_field(client, lab):
    page = client.get(reverse("portal:register")).content.decode()
    field_ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="(id_[a-z0-9_]+)"', page)
    assert set(field_ids) == {"id_name", "id_email", "id_password1", "id_password2"}
    for field_id in field_ids:
        assert f'for="{field_id}"' in page, field_id
    for label in ("Your name", "E-mail address", "Password", "Password again"):
        assert label in page


def test_registering_creates_an_inactive_account_and_mails_a_confirmation_link(client, lab):
    response = _register(client, email="New.Person@Example.ORG")
    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode()
    user = User.objects.get(email__iexact=NEW_ADDRESS)
    assert user.username == NEW_ADDRESS and user.email == NEW_ADDRESS
    assert not user.is_active
    assert user.check_password(PASSWORD)
    assert (user.first_name, user.last_name) == ("New", "Person")
    [message] = mail.outbox
    assert message.to == [NEW_ADDRESS]
    link = _link(message, "/accounts/confirm/")
    assert link.startswith(_base() + "/accounts/confirm/")
    # Not before the address is confirmed, in any case and with the right password.
    for username in (NEW_ADDRESS, "New.Person@Example.ORG"):
        response = _sign_in(client, username, PASSWORD)
        assert response.status_code == 200
        assert _signed_in_as(client) is None
    assert client.get(reverse("portal:my_tickets")).status_code == 302


def test_the_confirmation_link_signs_in_and_lists_earlier_guest_tickets(client, browser, lab, new_ticket):
    address = "guest.person@example.org"
    by_mail = _guest_ticket(lab, "Guest.Person@Example.org", "Printer on floor 2 jams")
    guest = browser()
    guest.post(
        reverse("portal:open_ticket"),
        {
            "name": "Guest Person",
            "email": address,
            "help_topic": lab.topic("Report a Problem").pk,
            "subject": "Cannot reach the VPN",
            "body": "Since this morning.",
        },
    )
    by_form = Ticket.objects.get(subject="Cannot reach the VPN")
    karens = new_ticket(subject="Karen's own ticket")
    mail.outbox.clear()

    _register(client, email=address)
    [message] = mail.outbox
    response = client.get(_path(_link(message, "/accounts/confirm/")), follow=True)

    user = User.objects.get(username=address)
    assert user.is_active
    assert str(_signed_in_as(client)) == str(user.pk)
    assert response.redirect_chain[-1][0] == reverse("portal:my_tickets")
    page = response.content.decode()
    assert "My tickets" in page and "Your e-mail address is confirmed" in page
    for ticket in (by_mail, by_form):
        assert f"#{ticket.number}" in page and ticket.subject in page
    assert karens.subject not in page and f"#{karens.number}" not in page
    assert Requester.objects.get(email=address).user == user
    assert set(selectors.tickets_of_requester(user)) == {by_mail, by_form}


def test_a_stranger_registering_an_address_cannot_see_its_tickets(client, lab):
    victim = "victim@example.org"
    ticket = _guest_ticket(lab, victim, "Salary slip for March")
    mail.outbox.clear()

    response = _register(client, email=victim, name="Not The Victim")
    assert "Check your e-mail" in response.content.decode()
    user = User.objects.get(username=victim)
    # The link goes to the address's owner only, never to the one who registered.
    [message] = mail.outbox
    assert message.to == [victim]
    assert ticket.subject not in message.body and ticket.subject not in message.subject

    assert not user.is_active
    assert _sign_in(client, victim, PASSWORD).status_code == 200
    assert _signed_in_as(client) is None
    assert client.get(reverse("portal:my_tickets")).status_code == 302
    assert client.get(reverse("portal:ticket", args=[ticket.number])).status_code == 404
    assert list(selectors.tickets_of_requester(user)) == []
    assert Requester.objects.get(email=victim).user is None


def test_registering_an_address_with_an_account_creates_nothing_and_tells_its_owner(client, browser, lab):
    before = set(User.objects.values_list("pk", flat=True))
    fresh = _register(browser(), email="someone.new@example.org").content.decode()
    mail.outbox.clear()

    response = _register(client, email="Karen@Example.com", name="Mallory", password1=PASSWORD)
    page = response.content.decode()

    assert response.status_code == 200
    # The same page as for a new address: it does not tell whether the address has an account.
    assert without_csrf(page.replace("Karen@Example.com", "ADDRESS")) == without_csrf(
        fresh.replace("someone.new@example.org", "ADDRESS")
    )
    assert (
        set(User.objects.exclude(username="someone.new@example.org").values_list("pk", flat=True)) == before
    )
    lab.karen.refresh_from_db()
    assert lab.karen.is_active and lab.karen.first_name == "Karen"
    assert lab.karen.check_password("Password1") and not lab.karen.check_password(PASSWORD)
    [message] = mail.outbox
    assert message.to == ["karen@example.com"]
    assert "already" in message.subject and "you already" in message.body
    assert _link(message, "/accounts/password-reset/") == _base() + reverse("portal:password_reset")
    assert "/accounts/confirm/" not in message.body


def test_a_stranger_cannot_take_over_a_pending_registration(browser, lab):
    victim = "victim@example.org"
    ticket = _guest_ticket(lab, victim, "Salary slip for March")
    owner, stranger = browser(), browser()
    mail.outbox.clear()
    _register(owner, email=victim, name="Vic Tim", password1=PASSWORD, password2=PASSWORD)
    [owners_mail] = mail.outbox
    # Before the owner opens the link, a stranger registers the same address with a password of their own.
    _register(
        stranger,
        email=victim,
        name="Not The Victim",
        password1="Stranger-Pass-99",
        password2="Stranger-Pass-99",
    )
    # The owner follows the link from their own registration, as they were told to.
    assert owner.get(_path(_link(owners_mail, "/accounts/confirm/"))).status_code == 302
    assert User.objects.get(username=victim).is_active

    response = _sign_in(stranger, victim, "Stranger-Pass-99")
    assert _signed_in_as(stranger) is None, "the stranger signed in to the owner's account"
    assert ticket.subject not in stranger.get(reverse("portal:my_tickets")).content.decode()
    assert response.status_code == 200


def test_registering_does_not_change_a_deactivated_account(client, lab):
    User.objects.filter(pk=lab.karen.pk).update(is_active=False)  # an admin blocked the account
    _register(client, email="karen@example.com", name="Mallory Stranger")
    lab.karen.refresh_from_db()
    assert User.objects.filter(username__iexact="karen@example.com").count() == 1
    assert lab.karen.first_name == "Karen"
    assert lab.karen.check_password("Password1") and not lab.karen.check_password(PASSWORD)


def test_a_wrong_or_tampered_confirmation_token_activates_nothing(client, lab, new_ticket):
    _register(client)
    user = User.objects.get(username=NEW_ADDRESS)
    token = _path(_link(mail.outbox[0], "/accounts/confirm/")).rstrip("/").rsplit("/", 1)[1]
    other_salt = links.ticket_token(new_ticket())
    for bad in ("not-a-token", token[:-1] + ("A" if token[-1] != "A" else "B"), token[:-6], other_salt):
        response = client.get(reverse("portal:register_confirm", args=[bad]))
        assert response.status_code == 404, bad
        assert "not valid or has expired" in response.content.decode()
    user.refresh_from_db()
    assert not user.is_active and _signed_in_as(client) is None
    # The genuine token still works, so it was the tampering that was refused.
    assert client.get(reverse("portal:register_confirm", args=[token])).status_code == 302


def test_a_confirmation_token_for_another_address_activates_nothing(client, lab):
    _register(client)
    user = User.objects.get(username=NEW_ADDRESS)
    # The token names the address too: once the account's address changes, it no longer opens it.
    token = links.confirm_token(user)
    User.objects.filter(pk=user.pk).update(email="changed@example.org")
    response = client.get(reverse("portal:register_confirm", args=[token]))
    assert response.status_code == 404
    user.refresh_from_db()
    assert not user.is_active


def test_an_expired_confirmation_token_activates_nothing(client, lab, monkeypatch):
    _register(client)
    user = User.objects.get(username=NEW_ADDRESS)
    path = _path(_link(mail.outbox[0], "/accounts/confirm/"))

    _clock(monkeypatch, links.CONFIRM_MAX_AGE + 60)
    response = client.get(path)
    assert response.status_code == 404
    assert "not valid or has expired" in response.content.decode()
    user.refresh_from_db()
    assert not user.is_active and _signed_in_as(client) is None

    _clock(monkeypatch, links.CONFIRM_MAX_AGE - 60)
    assert client.get(path).status_code == 302
    user.refresh_from_db()
    assert user.is_active


def test_mismatched_passwords_create_nothing(client, lab):
    response = _register(client, password2=PASSWORD + "x")
    assert response.status_code == 200
    assert "The two passwords differ." in response.content.decode()
    assert not User.objects.filter(username=NEW_ADDRESS).exists() and not mail.outbox


def test_a_too_common_password_creates_nothing(client, lab):
    response = _register(client, password1="qwertyuiop", password2="qwertyuiop")
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(username=NEW_ADDRESS).exists() and not mail.outbox


def test_registrations_are_throttled_per_address(client, lab, settings):
    settings.THROTTLE_MAIL_REQUESTS = (2, 3600)
    for i in range(2):
        assert _register(client, email=f"person{i}@example.org").status_code == 200
    assert len(mail.outbox) == 2
    response = _register(client, email="person9@example.org")
    assert response.status_code == 429
    assert "Too many registrations" in response.content.decode()
    assert not User.objects.filter(username="person9@example.org").exists() and len(mail.outbox) == 2
    # Another client address is not held back.
    assert _register(client, email="person9@example.org", REMOTE_ADDR="10.0.3.1").status_code == 200


def _page(response) -> str:
    return without_csrf(response.content.decode())


@pytest.mark.parametrize("address", [NEW_ADDRESS, "karen@example.com"], ids=["pending", "active"])
def test_registering_one_address_from_many_places_mails_it_a_few_times_an_hour(
    browser, lab, settings, address
):
    """Registering someone's address over and over, from as many client addresses, mails its
    owner at most THROTTLE_MAIL_REQUESTS times an hour (the confirmation again, or "you
    already have an account"); the page is the same whether the mail went or not."""
    settings.THROTTLE_MAIL_REQUESTS = (3, 3600)
    pages = {
        _page(_register(browser(), email=address, REMOTE_ADDR=f"10.0.2.{i}")).replace(address, "ADDRESS")
        for i in range(8)
    }
    assert [m.to for m in mail.outbox] == [[address]] * 3
    # The same page every time, and the same as for an address nobody registered yet.
    pages.add(
        _page(_register(browser(), email="fresh@example.org", REMOTE_ADDR="10.0.2.99")).replace(
            "fresh@example.org", "ADDRESS"
        )
    )
    assert len(pages) == 1 and "Check your e-mail" in pages.pop()
    assert mail.outbox[-1].to == ["fresh@example.org"]  # another address is not held back


# -- signing in and out ----------------------------------------------------------------------


def test_sign_in_with_the_address_in_any_case_lands_on_my_tickets(client, lab, new_ticket):
    ticket = new_ticket()
    response = _sign_in(client, "KAREN@Example.com", "Password1")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:my_tickets")
    assert str(_signed_in_as(client)) == str(lab.karen.pk)
    page = client.get(response["Location"]).content.decode()
    assert "My tickets" in page and ticket.subject in page


def test_sign_in_rotates_the_session_key(client, lab):
    before = client.session.session_key
    assert before
    assert _sign_in(client, "karen@example.com", "Password1").status_code == 302
    after = client.session.session_key
    assert after and after != before
    assert str(_signed_in_as(client)) == str(lab.karen.pk)


def test_a_wrong_password_is_refused(client, lab):
    response = _sign_in(client, "karen@example.com", "Password2")
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()
    assert _signed_in_as(client) is None


def test_repeated_failures_lock_the_account_out(client, lab, settings):
    settings.THROTTLE_LOGIN_FAILURES = (3, 900)
    for _ in range(3):
        response = _sign_in(client, "karen@example.com", "wrong")
        assert response.status_code == 200
        assert "Too many failed sign-ins" not in response.content.decode()
    response = _sign_in(client, "karen@example.com", "Password1")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert _signed_in_as(client) is None


def test_failures_from_other_addresses_count_for_the_same_account(browser, lab, settings):
    settings.THROTTLE_LOGIN_FAILURES = (3, 900)
    for i, username in enumerate(("karen@example.com", "Karen@example.com", "KAREN@EXAMPLE.COM")):
        response = _sign_in(browser(), username, "wrong", REMOTE_ADDR=f"10.0.0.{i + 1}")
        assert response.status_code == 200
    client = browser()
    response = _sign_in(client, "karen@example.com", "Password1", REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert _signed_in_as(client) is None
    # Another account from that address is not locked out.
    other = browser()
    assert _sign_in(other, "ken@example.com", "Password1", REMOTE_ADDR="10.0.0.9").status_code == 302


def test_resetting_the_password_lifts_a_lock_out_as_the_message_says(browser, lab, settings):
    settings.THROTTLE_LOGIN_FAILURES = (3, 900)
    for _ in range(3):
        _sign_in(browser(), "karen@example.com", "guess", REMOTE_ADDR="10.9.9.9")  # someone else guessing
    karen = browser()
    response = _sign_in(karen, "karen@example.com", "Password1", REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429
    assert "or reset your password" in response.content.decode()

    _reset(karen, "karen@example.com", REMOTE_ADDR="10.0.0.1")
    [message] = mail.outbox
    form = karen.get(_path(_link(message, "/accounts/reset/")), follow=True).redirect_chain[-1][0]
    new_password = "Brand-New-Secret-77"
    response = karen.post(form, {"new_password1": new_password, "new_password2": new_password})
    assert response["Location"] == reverse("portal:password_reset_complete")

    response = _sign_in(karen, "karen@example.com", new_password, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302 and str(_signed_in_as(karen)) == str(lab.karen.pk)


def test_sign_out_is_a_post_and_ends_the_session(client, lab):
    _sign_in(client, "karen@example.com", "Password1")
    assert client.get(reverse("portal:logout")).status_code == 405
    assert str(_signed_in_as(client)) == str(lab.karen.pk)
    assert client.get(reverse("portal:my_tickets")).status_code == 200

    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert _signed_in_as(client) is None
    response = client.get(reverse("portal:my_tickets"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


# -- resetting a password ----------------------------------------------------------------------


def _reset(client, email, **extra):
    return client.post(reverse("portal:password_reset"), {"email": email}, **extra)


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(client, browser, lab):
    known = _reset(client, "karen@example.com")
    assert len(mail.outbox) == 1
    unknown = _reset(browser(), "nobody@example.org")
    assert len(mail.outbox) == 1
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("portal:password_reset_done")
    known_page = client.get(known["Location"]).content.decode()
    assert "Check your e-mail" in known_page
    assert without_csrf(known_page) == without_csrf(browser().get(unknown["Location"]).content.decode())
    [message] = mail.outbox
    assert message.to == ["karen@example.com"]
    assert _link(message, "/accounts/reset/").startswith(_base() + "/accounts/reset/")


def test_the_reset_link_ignores_the_request_host(client, lab, settings):
    settings.ALLOWED_HOSTS = ["*"]
    response = _reset(client, "karen@example.com", HTTP_HOST="evil.example")
    assert response.status_code == 302
    [message] = mail.outbox
    assert "evil.example" not in message.body
    assert _link(message, "/accounts/reset/").startswith(_base() + "/accounts/reset/")


def test_the_reset_link_sets_a_new_password(client, browser, lab):
    _reset(client, "karen@example.com")
    [message] = mail.outbox
    response = client.get(_path(_link(message, "/accounts/reset/")), follow=True)
    assert response.status_code == 200
    assert "Choose a new password" in response.content.decode()
    form_url = response.redirect_chain[-1][0]
    new_password = "Brand-New-Secret-77"
    response = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:password_reset_complete")

    assert _sign_in(browser(), "karen@example.com", "Password1").status_code == 200
    fresh = browser()
    response = _sign_in(fresh, "karen@example.com", new_password)
    assert response.status_code == 302 and str(_signed_in_as(fresh)) == str(lab.karen.pk)


def test_reset_mail_is_throttled_per_address(browser, lab, settings):
    settings.THROTTLE_MAIL_REQUESTS = (2, 3600)
    responses = [
        _reset(browser(), email, REMOTE_ADDR=f"10.0.1.{i}")
        for i, email in enumerate(("karen@example.com", "Karen@Example.com", "KAREN@example.com"))
    ]
    assert [r.status_code for r in responses] == [302, 302, 302]
    assert {r["Location"] for r in responses} == {reverse("portal:password_reset_done")}
    assert len(mail.outbox) == 2
    assert {m.to[0] for m in mail.outbox} == {"karen@example.com"}
    # Another address is not held back by Karen's count.
    _reset(browser(), "ken@example.com", REMOTE_ADDR="10.0.1.9")
    assert len(mail.outbox) == 3 and mail.outbox[-1].to == ["ken@example.com"]
