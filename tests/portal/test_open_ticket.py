from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tickets.models import Attachment, Requester, State, ThreadEntry, Ticket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _post(client, lab, **overrides):
    data = {
        "name": "Karen Guest",
        "email": "karen.guest@example.com",
        "phone": "",
        "help_topic": lab.topic("Report a Problem").pk,
        "subject": "Entire mobile/online banking system is down",
        "body": "Nobody can log in to online banking.",
    }
    meta = {key: overrides.pop(key) for key in list(overrides) if key.isupper()}
    data.update(overrides)
    return client.post(reverse("portal:open_ticket"), data, **meta)


def test_the_form_offers_public_active_topics_with_nested_names(client, lab):
    retired = lab.topic("Feedback")
    retired.is_active = False
    retired.save()
    page = client.get(reverse("portal:open_ticket")).content.decode()
    assert "Report a Problem / Business Critical Outage" in page
    assert ">Feedback<" not in page
    for label in ("Your name", "E-mail address", "Phone (optional)", "Help topic", "Subject", "Attachments"):
        assert label in page


def test_a_guest_opens_a_ticket_and_sees_its_number_and_stage(client, lab):
    response = _post(client, lab)
    ticket = Ticket.objects.get(subject="Entire mobile/online banking system is down")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:ticket_received", args=[ticket.number])
    page = client.get(response["Location"]).content.decode()
    assert f"#{ticket.number}" in page and "Received" in page
    assert ticket.state == State.OPEN and ticket.source == Ticket.Source.WEB
    assert ticket.requester.email == "karen.guest@example.com"
    # The guest's browser may follow the ticket it just opened.
    assert client.get(reverse("portal:ticket", args=[ticket.number])).status_code == 200


def test_the_acknowledgement_mail_has_the_number_and_a_signed_link(client, browser, lab):
    _post(client, lab)
    ticket = Ticket.objects.get()
    [message] = [m for m in mail.outbox if m.to == ["karen.guest@example.com"]]
    assert ticket.number in message.subject
    link = next(line for line in message.body.splitlines() if "/t/" in line).strip()
    assert link.startswith("http://") and len(link.rsplit("/t/", 1)[1]) > 40
    # The link opens the ticket in a fresh browser, without an account.
    response = browser().get(link.replace("http://127.0.0.1:8000", ""), follow=True)
    assert response.status_code == 200 and ticket.subject in response.content.decode()


def test_a_signed_in_requester_opens_a_ticket_as_themselves(client, lab):
    client.force_login(lab.karen)
    response = _post(client, lab, name="Someone Else", email="mallory@example.org")
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert ticket.requester == lab.karen.requester
    assert not Requester.objects.filter(email="mallory@example.org").exists()
    assert ticket.transitions.get(name="create").actor == lab.karen


def test_forged_hidden_fields_are_ignored(client, lab, stranger):
    _post(
        client,
        lab,
        department=lab.sysadmins.pk,
        priority=999,
        assignee=lab.jane.pk,
        team=lab.online_banking.pk,
        state="resolved",
        internal="true",
        is_public="false",
        number="1",
    )
    ticket = Ticket.objects.get()
    topic = lab.topic("Report a Problem")
    assert ticket.state == State.OPEN
    assert ticket.department == (topic.department or lab.support)
    assert ticket.assignee is None and ticket.team == topic.team
    assert ticket.number != "1"
    assert ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE).is_public


def test_missing_fields_are_named_and_nothing_is_lost(client, lab):
    response = _post(client, lab, subject="", email="not-an-address")
    page = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in page and "Enter a valid email address." in page
    assert "Nobody can log in to online banking." in page  # what was typed is still there
    assert not Ticket.objects.exists() and not mail.outbox


def test_attachments_are_stored_and_a_bad_one_refuses_the_ticket(client, lab):
    good = SimpleUploadedFile("screen.png", PNG, content_type="image/png")
    page = SimpleUploadedFile("evil.html", b"<html><script>alert(1)</script>", content_type="text/html")
    response = _post(client, lab, attachments=[good, page])
    assert response.status_code == 200
    assert "evil.html is not a file type we accept" in response.content.decode()
    assert not Ticket.objects.exists() and not Attachment.objects.exists() and not mail.outbox

    good = SimpleUploadedFile("screen.png", PNG, content_type="image/png")
    log = SimpleUploadedFile("app.log", b"ERROR login failed\n", content_type="application/octet-stream")
    assert _post(client, lab, attachments=[good, log]).status_code == 302
    stored = {a.filename: a.content_type for a in Attachment.objects.all()}
    assert stored == {"screen.png": "image/png", "app.log": "text/plain"}


def test_too_many_attachments_are_refused(client, lab, settings):
    settings.ATTACHMENT_MAX_COUNT = 2
    files = [SimpleUploadedFile(f"f{i}.png", PNG, content_type="image/png") for i in range(3)]
    response = _post(client, lab, attachments=files)
    assert "Attach at most 2 files" in response.content.decode()
    assert not Ticket.objects.exists()


def test_markup_in_every_field_is_shown_as_text(client, lab):
    evil = "<img src=x onerror=alert(1)>"
    _post(
        client,
        lab,
        name=evil,
        subject=evil,
        body=f"{evil} and [click](javascript:alert(1))",
        attachments=[SimpleUploadedFile(f"{evil}.png", PNG, content_type="image/png")],
    )
    ticket = Ticket.objects.get()
    for url in (
        reverse("portal:ticket_received", args=[ticket.number]),
        reverse("portal:ticket", args=[ticket.number]),
    ):
        page = client.get(url).content.decode()
        assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "javascript:" not in page
    [message, alert] = mail.outbox
    assert alert.to == ["john@example.com"]  # Support's agent, alerted to the new ticket
    assert evil in message.subject and evil in alert.subject  # plain-text mail shows it as typed, unescaped
    assert "&lt;" not in message.subject


def test_anonymous_creation_is_rate_limited_per_address(client, lab, settings):
    settings.THROTTLE_GUEST_TICKETS_PER_IP = (3, 3600)
    for i in range(3):
        assert _post(client, lab, email=f"user{i}@example.com").status_code == 302
    mail.outbox.clear()
    response = _post(client, lab, email="user9@example.com")
    assert response.status_code == 429
    assert "many tickets from you" in response.content.decode()
    assert "Nobody can log in to online banking." in response.content.decode()
    assert Ticket.objects.count() == 3 and not mail.outbox


def test_anonymous_creation_is_rate_limited_per_email(client, lab, settings):
    settings.THROTTLE_GUEST_TICKETS_PER_EMAIL = (2, 3600)
    assert _post(client, lab, REMOTE_ADDR="10.0.0.1").status_code == 302
    assert (
        client.post(
            reverse("portal:open_ticket"),
            {
                "name": "K",
                "email": "KAREN.GUEST@example.com",
                "help_topic": lab.topic("Report a Problem").pk,
                "subject": "s",
                "body": "b",
            },
            REMOTE_ADDR="10.0.0.2",
        ).status_code
        == 302
    )
    mail.outbox.clear()
    response = client.post(
        reverse("portal:open_ticket"),
        {
            "name": "K",
            "email": "karen.guest@example.com",
            "help_topic": lab.topic("Report a Problem").pk,
            "subject": "s",
            "body": "b",
        },
        REMOTE_ADDR="10.0.0.3",
    )
    assert response.status_code == 429 and Ticket.objects.count() == 2 and not mail.outbox


def test_signed_in_requesters_are_not_rate_limited(client, lab, settings):
    settings.THROTTLE_GUEST_TICKETS_PER_IP = (1, 3600)
    client.force_login(lab.karen)
    assert _post(client, lab).status_code == 302
    assert _post(client, lab).status_code == 302


def test_the_form_works_at_phone_width_with_a_label_on_every_field(client, lab):
    page = client.get(reverse("portal:open_ticket")).content.decode()
    assert 'name="viewport" content="width=device-width' in page
    import re

    for field_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="(id_[a-z_]+)"', page):
        assert f'for="{field_id}"' in page, field_id


def test_behind_a_proxy_the_throttle_counts_the_address_the_proxy_saw(client, lab, settings):
    settings.NUM_PROXIES = 1
    settings.THROTTLE_GUEST_TICKETS_PER_IP = (1, 3600)
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    assert (
        _post(client, lab, email="a@example.com", HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy).status_code
        == 302
    )
    # Another client behind the same proxy is not held back by the first one...
    assert (
        _post(client, lab, email="b@example.com", HTTP_X_FORWARDED_FOR="203.0.113.6", **proxy).status_code
        == 302
    )
    # ...and a client cannot dodge the limit by writing its own X-Forwarded-For entry.
    forged = "198.51.100.1, 203.0.113.5"
    assert _post(client, lab, email="c@example.com", HTTP_X_FORWARDED_FOR=forged, **proxy).status_code == 429
