"""Hostile file names, through every door: by e-mail, through the portal's form and through the
service the console and the portal call. One cleaning (``uploads.clean_filename``) for all:
no folders, no NUL, control or bidi characters, at most 255 characters, and a made-up name for
".", ".." and the empty name. A bad name never costs a mailed message its ticket, and what the
agents read (the attachment, the note naming a refused file) shows the cleaned name only."""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tickets import services
from tickets.mailin import store
from tickets.models import Attachment, InboundMessage, ThreadEntry, Ticket
from tickets.uploads import clean_filename

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
MADE_UP = object()  # the name is made up: each door says how


@dataclass(frozen=True)
class Case:
    raw: str
    shown: object  # the cleaned name, or MADE_UP
    accepted: bool = True  # a PNG under that name is attached (else refused for its type)

    def __str__(self) -> str:
        return self.raw.encode("unicode_escape").decode()[:40] or "(empty)"


CASES = [
    Case(".", MADE_UP),
    Case("..", MADE_UP),
    Case("", MADE_UP),
    Case("\u202e\u2066\x00", MADE_UP),  # nothing but bidi controls and a NUL
    Case("shot\x00.png", "shot.png"),
    Case("shot\r\n\t\x07\x1b\x7f.png", "shot.png"),
    Case("photo\u202egnp.png", "photognp.png"),
    Case("line\u2028break.png", "linebreak.png"),
    Case("..\\..\\shot.png", "shot.png"),
    Case("a" * 300 + ".png", "a" * 251 + ".png"),
    Case("../../etc/passwd", "passwd", accepted=False),
    Case("C:\\x\\y", "y", accepted=False),
    Case("invoice\u202egnp.exe", "invoicegnp.exe", accepted=False),
    Case("evil\x00\u202e.exe", "evil.exe", accepted=False),
]
HOSTILE = ("\x00", "\r", "\n", "\x1b", "\u202e", "\u2066", "\u2028", "/", "\\")


def unshowable(text: str) -> list[str]:
    return [ch for ch in text if ch in HOSTILE or unicodedata.category(ch) in ("Cc", "Cf")]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# -- by e-mail ---------------------------------------------------------------------------------------


def mail_with_file(name: str, content: bytes = PNG) -> bytes:
    """A message whose one file carries ``name`` exactly (RFC 2231 carries any character)."""
    return (
        b"From: Karen <karen@example.com>\r\n"
        b"To: helpdesk@localhost\r\n"
        b"Subject: The error on my screen\r\n"
        b"Message-ID: <names@mail.example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="part"\r\n\r\n'
        b"--part\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe screenshot is attached.\r\n"
        b"--part\r\nContent-Type: image/png\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''" + quote(name, safe="").encode() + b"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(content) + b"--part--\r\n"
    )


@pytest.mark.parametrize("case", CASES, ids=str)
def test_by_mail_a_hostile_name_is_cleaned_and_the_message_still_opens_its_ticket(
    case, lab, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        stored = store.ingest(mail_with_file(case.raw))
    assert stored.status == InboundMessage.Status.TICKET, stored.error
    shown = "attachment-3.png" if case.shown is MADE_UP else case.shown
    message = stored.ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    notes = list(stored.ticket.thread.filter(kind=ThreadEntry.Kind.NOTE).values_list("body", flat=True))
    if case.accepted:
        assert [a.filename for a in message.attachments.all()] == [shown]
        assert notes == []
    else:
        assert not message.attachments.exists()
        [note] = notes  # the agents' note naming the refused file: its cleaned name only
        [line] = [line for line in note.splitlines() if line.startswith("- ")]
        assert line.startswith(f"- {shown}: {shown} is not a file type we accept.")
        assert unshowable(line) == [] and case.raw not in note


# -- through the service (the portal's and the console's forms call it) --------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_through_the_service_a_hostile_name_is_cleaned(case, lab, karen):
    shown = "file.png" if case.shown is MADE_UP else case.shown
    fields = {"requester": karen, "subject": "Error", "body": "See the file."}
    attach = ContentFile(PNG, name=case.raw)
    if not case.accepted:
        with pytest.raises(services.TicketActionError) as refused:
            services.ticket_create(**fields, attachments=[attach])
        assert str(refused.value).startswith(f"{shown} is not a file type we accept.")
        assert unshowable(str(refused.value)) == [] and not Ticket.objects.exists()
        return
    ticket = services.ticket_create(**fields, attachments=[attach])
    [stored] = Attachment.objects.filter(entry__ticket=ticket)
    assert stored.filename == shown and stored.content_type == "image/png"
    assert stored.file.read() == PNG


# -- through the portal's form -----------------------------------------------------------------------


def post_file(client, lab, name: str, content: bytes = PNG):
    """The open-ticket form posted with the file's name exactly as a hostile client sends it."""
    fields = {
        "name": "Karen Guest",
        "email": "karen.guest@example.com",
        "phone": "",
        "help_topic": str(lab.topic("Report a Problem").pk),
        "subject": "The error on my screen",
        "body": "The screenshot is attached.",
    }
    body = b"".join(
        f'--b\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    )
    body += (
        b'--b\r\nContent-Disposition: form-data; name="attachments"; '
        b"filename*=UTF-8''" + quote(name, safe="").encode() + b"\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--b--\r\n"
    )
    return client.post(reverse("portal:open_ticket"), body, content_type="multipart/form-data; boundary=b")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_through_the_portal_a_hostile_name_is_cleaned(case, client, lab):
    response = post_file(client, lab, case.raw)
    if case.shown is MADE_UP:
        # Django's own form parsing drops a file with no usable name before any of ours runs:
        # the ticket is opened without it.
        assert response.status_code == 302
        assert Ticket.objects.count() == 1 and not Attachment.objects.exists()
    elif case.accepted:
        assert response.status_code == 302
        assert list(Attachment.objects.values_list("filename", flat=True)) == [case.shown]
    else:
        page = response.content.decode()
        assert response.status_code == 200 and not Ticket.objects.exists()
        assert f"{case.shown} is not a file type we accept." in page
        assert "\u202e" not in page and "\x00" not in page


# -- the cleaning itself ------------------------------------------------------------------------------


PIECES = [".", "..", "/", "\\", "\x00", "\u202e", "\u2028", " ", "a", ".png"]


@hypothesis_settings(max_examples=300, derandomize=True, database=None)
@given(st.text(max_size=400) | st.lists(st.sampled_from(PIECES), max_size=80).map("".join))
def test_a_cleaned_name_is_always_safe_to_show_and_cleaning_it_again_changes_nothing(raw):
    shown = clean_filename(raw)
    assert shown not in ("", ".", "..") and len(shown) <= 255
    assert unshowable(shown) == [] and shown == shown.strip(" .")
    assert clean_filename(shown) == shown


def test_a_made_up_name_takes_the_extension_of_what_the_file_is(lab, karen):
    ticket = services.ticket_create(
        requester=karen,
        subject="Two files",
        body="See them.",
        attachments=[ContentFile(b"%PDF-1.7\n%%EOF\n", name=".."), ContentFile(b"plain words\n", name="")],
    )
    names = sorted(Attachment.objects.filter(entry__ticket=ticket).values_list("filename", "content_type"))
    assert names == [("file.pdf", "application/pdf"), ("file.txt", "text/plain")]
