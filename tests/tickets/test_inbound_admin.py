"""The admin of mail in: every stored message with what became of it, the quarantine (the list
filtered by status) with the raw message to download and "process it again", and the mailboxes
with "read now"."""

from __future__ import annotations

import socket

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tickets.mailin import store
from tickets.models import Department, InboundMessage, Mailbox, Ticket

Status = InboundMessage.Status

RAW = (
    b"From: Karen <karen@example.com>\n"
    b"Subject: Scanner offline\n"
    b"Message-ID: <scan-1@mail.example.com>\n"
    b"Content-Type: text/plain; charset=utf-8\n\n"
    b"The scanner on floor 3 is offline.\n"
)


@pytest.fixture
def quarantined(lab):
    """A message that failed because no department was the default; since fixed."""
    Department.objects.update(is_default=False)
    stored = store.ingest(RAW)
    Department.objects.filter(name="Support").update(is_default=True)
    assert stored.status == Status.QUARANTINED
    return stored


@pytest.fixture
def admin(browser, lab):
    return browser(lab.admin)


def change_url(stored: InboundMessage) -> str:
    return reverse("admin:tickets_inboundmessage_change", args=[stored.pk])


def test_the_quarantine_lists_what_failed_and_why(admin, quarantined):
    store.ingest(RAW.replace(b"scan-1", b"scan-2").replace(b"Scanner offline", b"Toner empty"))
    response = admin.get(reverse("admin:tickets_inboundmessage_changelist"), {"status__exact": "quarantined"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Scanner offline" in page and "Toner empty" not in page


def test_a_stored_message_shows_its_headers_raw_text_and_the_reason(admin, quarantined):
    page = admin.get(change_url(quarantined)).content.decode()
    assert "Subject: Scanner offline" in page
    assert "The scanner on floor 3 is offline." in page
    assert "No default department is configured" in page
    assert "Process it again" in page and "Download the raw message (.eml)" in page


def test_the_raw_message_downloads_byte_for_byte_and_is_never_shown_as_a_page(admin, quarantined):
    response = admin.get(reverse("admin:tickets_inboundmessage_raw", args=[quarantined.pk]))
    assert response.status_code == 200
    assert response.content == RAW
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == f'attachment; filename="message-{quarantined.pk}.eml"'


def test_process_it_again_makes_the_ticket(admin, quarantined):
    url = reverse("admin:tickets_inboundmessage_reprocess", args=[quarantined.pk])
    assert admin.get(url).status_code == 405
    response = admin.post(url)
    assert response.status_code == 302 and response["Location"] == change_url(quarantined)
    quarantined.refresh_from_db()
    assert (quarantined.status, quarantined.error) == (Status.TICKET, "")
    assert Ticket.objects.get().subject == "Scanner offline"
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [f"Message {quarantined.pk}: Opened a ticket"]
    # A processed message offers no second go, and refuses one.
    assert "Process it again" not in admin.get(change_url(quarantined)).content.decode()
    admin.post(url)
    assert Ticket.objects.count() == 1


def test_the_list_action_processes_the_ticked_messages(admin, quarantined):
    response = admin.post(
        reverse("admin:tickets_inboundmessage_changelist"),
        {"action": "reprocess_selected", "_selected_action": [quarantined.pk]},
        follow=True,
    )
    assert f"Message {quarantined.pk}: Opened a ticket" in response.content.decode()
    assert Ticket.objects.count() == 1


def test_stored_messages_are_neither_added_edited_nor_deleted_by_hand(admin, quarantined):
    assert admin.get(reverse("admin:tickets_inboundmessage_add")).status_code == 403
    admin.post(change_url(quarantined), {"subject": "changed", "status": "ticket"})
    quarantined.refresh_from_db()
    assert (quarantined.subject, quarantined.status) == ("Scanner offline", Status.QUARANTINED)


def test_an_agent_without_the_permission_sees_no_mail(browser, lab, quarantined):
    john = browser(lab.john)
    for url, method in [
        (reverse("admin:tickets_inboundmessage_changelist"), "get"),
        (change_url(quarantined), "get"),
        (reverse("admin:tickets_inboundmessage_raw", args=[quarantined.pk]), "get"),
        (reverse("admin:tickets_inboundmessage_reprocess", args=[quarantined.pk]), "post"),
    ]:
        assert getattr(john, method)(url).status_code == 403, url
    quarantined.refresh_from_db()
    assert quarantined.status == Status.QUARANTINED and not Ticket.objects.exists()


def test_an_unknown_message_is_a_404(admin, lab):
    assert admin.get(reverse("admin:tickets_inboundmessage_raw", args=[999])).status_code == 404
    assert admin.get(reverse("admin:tickets_inboundmessage_raw", args=["x"])).status_code == 404


# -- mailboxes -------------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_mailbox_keeps_the_name_of_its_password_not_the_password(admin, lab):
    page = admin.get(reverse("admin:tickets_mailbox_add")).content.decode()
    assert 'name="password_env"' in page and 'name="password"' not in page


def test_read_now_reports_what_went_wrong_with_a_mailbox(admin, lab, monkeypatch):
    box = Mailbox.objects.create(
        name="Support", host="127.0.0.1", port=_closed_port(), username="desk", password_env="HD_TEST_PW"
    )
    action = {"action": "poll_now", "_selected_action": [box.pk]}
    url = reverse("admin:tickets_mailbox_changelist")
    response = admin.post(url, action, follow=True)
    assert "Support: MailboxError: The environment variable &#x27;HD_TEST_PW&#x27; holding the password" in (
        response.content.decode()
    )
    monkeypatch.setenv("HD_TEST_PW", "secret")
    response = admin.post(url, action, follow=True)
    assert "Support: ConnectionRefusedError" in response.content.decode()
    box.refresh_from_db()
    assert box.last_error.startswith("ConnectionRefusedError") and box.locked_until is None


def test_mail_that_became_nothing_may_be_deleted_and_mail_that_made_a_ticket_may_not(admin, quarantined):
    store.reprocess(quarantined)
    ticket_mail = InboundMessage.objects.get()
    spam = store.ingest(b"From: nobody\nSubject: Cheap watches\nMessage-ID: <spam-1@x>\n\nBuy.")
    assert spam.status == Status.QUARANTINED
    delete = "admin:tickets_inboundmessage_delete"
    assert admin.get(reverse(delete, args=[ticket_mail.pk])).status_code == 403
    assert "Delete" not in admin.get(change_url(ticket_mail)).content.decode()
    assert admin.post(reverse(delete, args=[spam.pk]), {"post": "yes"}).status_code == 302
    assert list(InboundMessage.objects.all()) == [ticket_mail]
    # No bulk delete either: one could take a ticket's mail with it.
    page = admin.get(reverse("admin:tickets_inboundmessage_changelist")).content.decode()
    assert "delete_selected" not in page
