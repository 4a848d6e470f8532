"""Every portal URL, classified: a new URL pattern fails here until someone decides who may
use it and adds it to one of these lists."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.urls import urlpatterns
from tests.factories import UserFactory
from tickets.models import Attachment, Ticket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# Pages anyone may open.
PUBLIC = {
    "home",
    # The help articles: open to everyone (tests/portal/test_help_access.py).
    "help",
    "help_search",
    "help_suggest",
    "help_article",
    "help_answer",
    "open_ticket",
    "check_status",
    "ticket_link",
    "register",
    "register_confirm",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
# Pages for a signed-in requester, about their own tickets only.
SIGNED_IN = {"my_tickets"}
# Pages about one ticket: its requester (or a browser the ticket was granted to) only.
PER_TICKET = {
    "ticket",
    "thread_older",
    "ticket_received",
    "ticket_reply",
    "ticket_confirm",
    "ticket_reopen",
    "attachment",
}


def test_every_portal_url_is_classified():
    names = {pattern.name for pattern in urlpatterns}
    assert names == PUBLIC | SIGNED_IN | PER_TICKET


@pytest.fixture
def ticket(new_ticket):
    return new_ticket(attachments=[SimpleUploadedFile("a.png", PNG)])


def _url(name, ticket):
    if name == "attachment":
        return reverse("portal:attachment", args=[ticket.number, Attachment.objects.get().pk])
    if name == "thread_older":
        message = ticket.thread.filter(is_public=True).last()
        return reverse("portal:thread_older", args=[ticket.number]) + f"?before={message.pk}"
    return reverse(f"portal:{name}", args=[ticket.number])


@pytest.mark.parametrize("name", sorted(PER_TICKET))
@pytest.mark.parametrize("who", ["anonymous", "other requester", "agent of the department"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_per_ticket_urls_answer_404_to_anyone_but_the_requester(client, lab, ticket, name, who, method):
    if who == "other requester":
        client.force_login(UserFactory(username="mallory@example.org", email="mallory@example.org"))
    elif who == "agent of the department":
        client.force_login(lab.john)
    before = (Ticket.objects.count(), ticket.thread.count(), ticket.transitions.count())
    response = getattr(client, method)(_url(name, ticket), {"body": "x", "reason": "x", "version": 1})
    assert response.status_code in (404, 405)
    assert response.status_code == 404 or method == "get"
    assert (Ticket.objects.count(), ticket.thread.count(), ticket.transitions.count()) == before
    assert ticket.subject not in response.content.decode()


@pytest.mark.parametrize("name", sorted(PER_TICKET - {"ticket_reply", "ticket_confirm", "ticket_reopen"}))
def test_per_ticket_pages_open_for_the_requester(client, lab, ticket, name):
    client.force_login(lab.karen)
    assert client.get(_url(name, ticket)).status_code == 200


def test_signed_in_pages_send_anonymous_visitors_to_sign_in(client, lab):
    for name in SIGNED_IN:
        response = client.get(reverse(f"portal:{name}"))
        assert response.status_code == 302 and reverse("portal:login") in response["Location"]
