"""A ticket opened by an agent for a phone call: the requester found by e-mail or created, then
the normal intake, with the acknowledgement mailed to the caller."""

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tickets.models import Department, HelpTopic, Requester, State, ThreadEntry, Ticket

NEW = reverse("agents:new_ticket")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def john(client, lab):
    client.force_login(lab.john)
    return client


def _form(lab, **overrides):
    data = {
        "email": "Dave.Caller@Example.com",
        "name": "Dave Caller",
        "phone": "+41 44 555 12 12",
        "help_topic": lab.topic("Report a Problem / Access Issue").pk,
        "subject": "Cannot reach the VPN",
        "body": "Dave says the VPN client times out since this morning.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _counts():
    return (Ticket.objects.count(), Requester.objects.count(), ThreadEntry.objects.count())


def test_the_form_opens(john):
    response = john.get(NEW)
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()
    # The empty topic reads as in the portal, not Django's "---------".
    assert '<option value="" selected>Choose a help topic…</option>' in response.content.decode()
    assert "---------" not in response.content.decode()


def test_a_phone_ticket_for_a_new_caller(john, lab):
    response = john.post(NEW, _form(lab))
    ticket = Ticket.objects.get(subject="Cannot reach the VPN")
    assert response.status_code == 302
    assert response["Location"] == reverse("agents:ticket", args=[ticket.number])
    requester = ticket.requester
    assert (requester.email, requester.name, requester.phone, requester.user) == (
        "dave.caller@example.com",
        "Dave Caller",
        "+41 44 555 12 12",
        None,
    )
    assert ticket.source == Ticket.Source.PHONE and ticket.state == State.OPEN
    assert ticket.department == lab.support and ticket.number
    assert ticket.help_topic == lab.topic("Report a Problem / Access Issue")
    message = ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    assert message.body == "Dave says the VPN client times out since this morning."
    # The call notes are John's, written for Dave (tests/agents/test_phone_ticket_authorship.py).
    assert message.is_public and message.author_name == "John Doe" and message.author == lab.john
    assert message.on_behalf_of_requester
    create = ticket.transitions.get(name="create")
    assert (create.actor, create.actor_label) == (lab.john, "John Doe")
    assert [m.message for m in get_messages(response.wsgi_request)] == [
        f"Ticket #{ticket.number} opened for Dave Caller."
    ]


@pytest.mark.parametrize("email", ["karen@example.com", "KAREN@Example.COM", "  karen@example.com  "])
def test_an_existing_requester_is_found_by_e_mail_in_any_case(john, lab, karen, email):
    requesters = Requester.objects.count()
    john.post(NEW, _form(lab, email=email, name="Somebody Else", phone=""))
    ticket = Ticket.objects.get(subject="Cannot reach the VPN")
    assert ticket.requester == karen
    assert Requester.objects.count() == requesters
    karen.refresh_from_db()
    assert (karen.name, karen.email, karen.user) == ("Karen", "karen@example.com", lab.karen)
    # Karen sees it in the portal, as her own ticket.
    john.force_login(lab.karen)
    assert john.get(reverse("portal:ticket", args=[ticket.number])).status_code == 200


def test_a_caller_without_a_name_is_named_by_the_address(john, lab):
    john.post(NEW, _form(lab, name=""))
    assert Ticket.objects.get().requester.name == "Dave.Caller@Example.com"


def test_the_caller_gets_the_acknowledgement(john, lab, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        john.post(NEW, _form(lab))
    ticket = Ticket.objects.get()
    assert [m.to for m in mail.outbox] == [["dave.caller@example.com"]]
    assert mail.outbox[0].subject == f"[#{ticket.number}] We received your request: Cannot reach the VPN"
    assert f"ticket #{ticket.number}" in mail.outbox[0].body


@pytest.mark.parametrize("missing", ["email", "help_topic", "subject", "body"])
def test_a_missing_field_keeps_what_was_typed(john, lab, missing):
    before = _counts()
    response = john.post(NEW, _form(lab, **{missing: ""}))
    assert response.status_code == 200
    assert response.context["form"].errors[missing] == ["This field is required."]
    page = response.content.decode()
    for name, value in _form(lab).items():
        if name == missing:
            continue
        if name == "help_topic":
            assert f'<option value="{value}" selected>' in page
        else:
            assert value in page, name
    assert _counts() == before
    assert mail.outbox == []


def test_a_malformed_e_mail_is_refused(john, lab):
    before = _counts()
    response = john.post(NEW, _form(lab, email="not-an-address"))
    assert response.status_code == 200 and "email" in response.context["form"].errors
    assert "not-an-address" in response.content.decode()
    assert _counts() == before


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.html", b"<html><script>alert(1)</script></html>"),
        ("screen.png", b"MZ\x90\x00 not a png at all"),
        ("empty.txt", b""),
    ],
)
def test_a_bad_attachment_refuses_the_ticket(john, lab, name, content):
    before = _counts()
    data = _form(lab, attachments=[SimpleUploadedFile("ok.png", PNG), SimpleUploadedFile(name, content)])
    response = john.post(NEW, data)
    assert response.status_code == 200
    assert response.context["form"].errors["attachments"]
    assert _counts() == before
    assert "Cannot reach the VPN" in response.content.decode()


def test_too_many_attachments_refuse_the_ticket(john, lab, settings):
    settings.ATTACHMENT_MAX_COUNT = 2
    before = _counts()
    files = [SimpleUploadedFile(f"s{i}.png", PNG) for i in range(3)]
    response = john.post(NEW, _form(lab, attachments=files))
    assert response.status_code == 200 and response.context["form"].errors["attachments"]
    assert _counts() == before


def test_good_attachments_go_with_the_message(john, lab):
    john.post(NEW, _form(lab, attachments=[SimpleUploadedFile("screen.png", PNG)]))
    message = Ticket.objects.get().thread.get(kind=ThreadEntry.Kind.MESSAGE)
    assert [a.filename for a in message.attachments.all()] == ["screen.png"]


def test_a_ticket_for_a_department_the_agent_cannot_see_goes_back_to_the_console(john, lab):
    servers = HelpTopic.objects.create(name="Servers", department=lab.sysadmins)
    response = john.post(NEW, _form(lab, help_topic=servers.pk))
    ticket = Ticket.objects.get()
    assert ticket.department == lab.sysadmins
    assert response.status_code == 302 and response["Location"] == reverse("agents:home")
    assert [m.message for m in get_messages(response.wsgi_request)] == [
        f"Ticket #{ticket.number} opened for Dave Caller.",
        "It went to SysAdmins, whose tickets you cannot see.",
    ]


def test_an_inactive_help_topic_is_not_offered(john, lab):
    topic = lab.topic("Feedback")
    topic.is_active = False
    topic.save()
    before = _counts()
    response = john.post(NEW, _form(lab, help_topic=topic.pk))
    assert response.status_code == 200 and "help_topic" in response.context["form"].errors
    assert _counts() == before


def test_a_ticket_refused_by_intake_leaves_no_requester_behind(john, lab):
    Department.objects.update(is_default=False)
    before = _counts()
    response = john.post(NEW, _form(lab))
    assert response.status_code == 200
    assert "No default department" in response.content.decode()
    assert _counts() == before
