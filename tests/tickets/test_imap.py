"""Reading a real IMAP server: Dovecot from Debian's packages, started on loopback with TLS
for these tests (`.ci/run` installs it). Mail is delivered into it with APPEND, the poller
stores it, and each message becomes one ticket or one reply however often, or however
badly, the poller ran. Skipped, with the reason, where Dovecot is not installed.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from tests.processes import database_url
from tickets import services
from tickets.mailin import imap
from tickets.models import InboundMessage, Mailbox, State, ThreadEntry, Ticket

ROOT = Path(__file__).resolve().parents[2]
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD_ENV = "HELPDESK_TEST_MAILBOX_PASSWORD"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dovecot:
    """A throwaway Dovecot: its own config, certificate and mail under a temp folder."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
        self.folder.chmod(0o755)
        self.port = _free_port()
        self.cert = self.folder / "cert.pem"
        # Every user name logs in with this one password and gets a mailbox of its own, so each
        # test takes a fresh user (a users file, re-read only when its mtime moves, lags behind).
        self.password = uuid.uuid4().hex

    def start(self) -> None:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", str(self.folder / "key.pem"), "-out", str(self.cert),
                "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        (self.folder / "key.pem").chmod(0o644)
        for name in ("run", "state", "mail"):
            (self.folder / name).mkdir()
        shutil.chown(self.folder / "mail", "nobody")
        nobody = f"uid={_id('nobody', 'u')} gid={_id('nobody', 'g')}"
        (self.folder / "dovecot.conf").write_text(
            f"""base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{self.cert}
ssl_key = <{self.folder}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain
mail_location = maildir:{self.folder}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = {nobody} home={self.folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
"""
        )
        # Dovecot forks into the background and its children keep the standard streams: a pipe
        # would never reach end-of-file, so its output goes to a file.
        with (self.folder / "start.log").open("wb") as out:
            started = subprocess.run(
                [DOVECOT, "-c", str(self.folder / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        if started.returncode != 0:
            raise RuntimeError(f"Dovecot did not start: {(self.folder / 'start.log').read_text()[:500]}")
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"Dovecot did not start:\n{self.log()}")

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        subprocess.run(
            [DOVECOT, "-c", str(self.folder / "dovecot.conf"), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)
        shutil.rmtree(self.folder, ignore_errors=True)

    def add_user(self) -> tuple[str, str]:
        return f"desk{uuid.uuid4().hex[:8]}", self.password

    def client(self, user: str, password: str) -> imaplib.IMAP4_SSL:
        client = imaplib.IMAP4_SSL(
            "127.0.0.1", self.port, ssl_context=ssl.create_default_context(cafile=str(self.cert))
        )
        client.login(user, password)
        return client


def _id(user: str, kind: str) -> str:
    return subprocess.run(["id", f"-{kind}", user], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def dovecot():
    if not Path(DOVECOT).exists() or shutil.which("openssl") is None:
        pytest.skip("Dovecot is not installed (Debian: apt-get install dovecot-imapd; .ci/run installs it)")
    server = Dovecot()
    try:
        server.start()
    except (subprocess.CalledProcessError, RuntimeError, LookupError, PermissionError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        server.stop()
        pytest.skip(f"Dovecot could not be started here: {exc} {detail.decode(errors='replace')[:300]}")
    yield server
    server.stop()


@pytest.fixture
def mailbox(dovecot, lab, settings, monkeypatch):
    """A mailbox of the admin on a fresh Dovecot user, trusting the server's own certificate."""
    user, password = dovecot.add_user()
    monkeypatch.setenv(PASSWORD_ENV, password)
    settings.IMAP_CA_FILE = str(dovecot.cert)
    box = Mailbox.objects.create(
        name=f"Support {user}",
        host="127.0.0.1",
        port=dovecot.port,
        username=user,
        password_env=PASSWORD_ENV,
        department=lab.support,
    )
    box.client = lambda: dovecot.client(user, password)
    return box


def letter(
    subject: str, *, sender: str = "Karen <karen@example.com>", body: str = "Hello.", **headers: str
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "helpdesk@localhost"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def deliver(box: Mailbox, *messages: bytes) -> None:
    client = box.client()
    for raw in messages:
        status, _ = client.append("INBOX", None, None, raw)
        assert status == "OK"
    client.logout()


def on_server(box: Mailbox) -> list[tuple[str, str]]:
    """(subject, flags) of each message left on the server."""
    client = box.client()
    client.select("INBOX")
    _, data = client.uid("SEARCH", None, "ALL")
    found = []
    for uid in (data[0] or b"").split():
        _, fetched = client.uid("FETCH", uid, "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        flags = fetched[0][0].decode()
        subject = fetched[0][1].decode().split(":", 1)[1].strip()
        found.append((subject, flags))
    client.logout()
    return found


def subjects_of_tickets() -> list[str]:
    return sorted(Ticket.objects.values_list("subject", flat=True))


# -- polling ---------------------------------------------------------------------------------------


def test_new_mail_becomes_tickets_once_and_is_flagged_on_the_server(
    mailbox, django_capture_on_commit_callbacks
):
    deliver(mailbox, letter("Printer jams"), letter("VPN drops", sender="Ken <ken@example.com>"))
    with django_capture_on_commit_callbacks(execute=True):
        report = imap.poll(mailbox)
    assert (report.fetched, report.stored, report.error) == (2, 2, "")
    assert subjects_of_tickets() == ["Printer jams", "VPN drops"]
    ticket = Ticket.objects.get(subject="VPN drops")
    assert (ticket.source, ticket.requester.email, ticket.department) == (
        "email",
        "ken@example.com",
        mailbox.department,
    )
    assert all("$HelpdeskStored" in flags and "\\Seen" in flags for _, flags in on_server(mailbox))
    # The acknowledgements went out; a second poll finds nothing new.
    assert sorted(m.to[0] for m in mail.outbox if "received" in m.subject) == [
        "karen@example.com",
        "ken@example.com",
    ]
    again = imap.poll(mailbox)
    assert (again.fetched, again.stored) == (0, 0) and Ticket.objects.count() == 2
    assert Mailbox.objects.get(pk=mailbox.pk).last_polled_at is not None


def test_a_mailbox_set_to_delete_empties_the_server_once_stored(mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(after_store=Mailbox.AfterStore.DELETE)
    mailbox.refresh_from_db()
    deliver(mailbox, letter("One"), letter("Two"))
    assert imap.poll(mailbox).stored == 2
    assert on_server(mailbox) == [] and subjects_of_tickets() == ["One", "Two"]


def test_a_poll_that_dies_half_way_loses_and_repeats_nothing(mailbox, monkeypatch):
    """The connection drops after the third message was stored but before it was marked:
    the next poll fetches it again, and it is still one ticket."""
    deliver(mailbox, *(letter(f"Message {n}") for n in range(1, 7)))
    real_mark, marked = imap._mark, []

    def mark_then_drop(connection, uid, box):
        if len(marked) == 2:
            raise OSError("connection reset by peer")
        marked.append(uid)
        real_mark(connection, uid, box)

    monkeypatch.setattr(imap, "_mark", mark_then_drop)
    first = imap.poll(mailbox)
    assert first.error == "OSError: connection reset by peer" and first.stored == 3
    assert Mailbox.objects.get(pk=mailbox.pk).last_error == first.error
    monkeypatch.setattr(imap, "_mark", real_mark)
    second = imap.poll(mailbox)
    assert (second.fetched, second.stored, second.error) == (4, 3, "")
    assert subjects_of_tickets() == [f"Message {n}" for n in range(1, 7)]
    assert InboundMessage.objects.count() == 6


def test_karen_answers_by_mail_and_the_answer_lands_on_her_ticket(
    mailbox, lab, django_capture_on_commit_callbacks
):
    deliver(mailbox, letter("Online banking is down", body="Nobody can log in."))
    with django_capture_on_commit_callbacks(execute=True):
        imap.poll(mailbox)
        ticket = Ticket.objects.get()
        services.ticket_claim(ticket=ticket, actor=lab.john)
        services.ticket_request_info(
            ticket=Ticket.objects.get(pk=ticket.pk), actor=lab.john, message="Which browser?"
        )
    question = next(m for m in mail.outbox if "We need your reply" in m.subject)
    answer = letter(
        f"Re: {question.subject}",
        body="Firefox.\n\nOn Mon, John Doe wrote:\n> Which browser?",
        In_Reply_To=question.extra_headers["Message-ID"],
        References=question.extra_headers["References"] + " " + question.extra_headers["Message-ID"],
    )
    deliver(mailbox, answer)
    assert imap.poll(mailbox).stored == 1
    ticket = Ticket.objects.get()
    assert ticket.state == State.IN_PROGRESS and Ticket.objects.count() == 1
    assert ticket.thread.filter(kind=ThreadEntry.Kind.MESSAGE).last().body == "Firefox."


# -- the lease, the password, the certificate ---------------------------------------------------------


def test_two_polls_of_one_mailbox_never_overlap(mailbox):
    deliver(mailbox, letter("Held back"))
    token = imap.acquire(mailbox)
    assert token is not None
    assert imap.poll(mailbox).skipped and not Ticket.objects.exists()
    imap.release(mailbox, token)
    assert imap.poll(mailbox).stored == 1


def test_a_lease_left_by_a_dead_poll_expires(mailbox):
    deliver(mailbox, letter("After the crash"))
    assert imap.acquire(mailbox) is not None  # and never released: the poll died
    Mailbox.objects.filter(pk=mailbox.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert imap.poll(mailbox).stored == 1


def test_a_wrong_or_missing_password_is_reported_not_raised(mailbox, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    report = imap.poll(mailbox)
    assert report.error.startswith("error:") and "AUTHENTICATIONFAILED" in report.error.upper()
    monkeypatch.delenv(PASSWORD_ENV)
    report = imap.poll(mailbox)
    assert (
        report.error
        == f"MailboxError: The environment variable '{PASSWORD_ENV}' holding the password is not set."
    )
    assert Mailbox.objects.get(pk=mailbox.pk).last_error == report.error
    assert Mailbox.objects.get(pk=mailbox.pk).locked_until is None


def test_a_certificate_nobody_vouches_for_is_refused(mailbox, settings):
    deliver(mailbox, letter("Over an untrusted line"))
    settings.IMAP_CA_FILE = ""
    report = imap.poll(mailbox)
    assert "CERTIFICATE_VERIFY_FAILED" in report.error and not Ticket.objects.exists()


# -- a poller killed for real ----------------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the poller runs as another process and cannot see the in-memory SQLite test database "
    "(CI runs this on PostgreSQL)",
)
@pytest.mark.django_db(transaction=True)
def test_a_poller_killed_mid_batch_and_run_again_stores_each_message_once(
    dovecot, lab, monkeypatch, tmp_path
):
    user, password = dovecot.add_user()
    box = Mailbox.objects.create(
        name="Killed", host="127.0.0.1", port=dovecot.port, username=user, password_env=PASSWORD_ENV
    )
    box.client = lambda: dovecot.client(user, password)
    total = 40
    # From forty people: one sender's fortieth message in an hour would be held by the rate limit.
    deliver(
        box,
        *(
            letter(f"Batch {n:02}", sender=f"User {n} <user{n}@example.com>", body="x" * 20_000)
            for n in range(total)
        ),
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "EMAIL_URL": "locmem:",
        "HELPDESK_VAR_DIR": str(tmp_path),
        "IMAP_CA_FILE": str(dovecot.cert),
        "MAILBOX_LOCK_SECONDS": "1",
        PASSWORD_ENV: password,
    }
    poller = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "manage.py", "run_timers"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while InboundMessage.objects.count() < 5 and time.monotonic() < deadline and poller.poll() is None:
        time.sleep(0.01)
    poller.send_signal(signal.SIGKILL)
    poller.wait()
    stored_before = InboundMessage.objects.count()
    assert 0 < stored_before < total, f"the poller was not killed mid-batch ({stored_before} stored)"
    time.sleep(1.1)  # its lease runs out
    monkeypatch.setenv(PASSWORD_ENV, password)
    monkeypatch.setattr(settings, "IMAP_CA_FILE", str(dovecot.cert))
    report = imap.poll(Mailbox.objects.get(pk=box.pk))
    assert report.error == "" and report.stored == total - stored_before
    assert subjects_of_tickets() == [f"Batch {n:02}" for n in range(total)]
    assert InboundMessage.objects.count() == total
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {InboundMessage.Status.TICKET}
    assert all("$HelpdeskStored" in flags for _, flags in on_server(box))
