"""manage.py ingest_email: one message on standard input, as an MTA's pipe alias delivers it.
It exits non-zero only when the message could not be stored (the MTA then keeps it and tries
again); a message that is stored but cannot be processed is the help desk's to keep. A flood
from one sender, each message through a process of its own, stays within the sender's caps."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email import message_from_string
from email.utils import parseaddr
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection

from tests.processes import database_url
from tickets.models import InboundMessage, Ticket

ROOT = Path(__file__).resolve().parents[2]

MESSAGE = (
    b"From: Karen <karen@example.com>\n"
    b"To: helpdesk@localhost\n"
    b"Subject: Monitor flickers\n"
    b"Message-ID: <pipe-1@mail.example.com>\n"
    b"Content-Type: text/plain; charset=utf-8\n\n"
    b"The left monitor flickers since this morning.\n"
)


def pipe(monkeypatch, raw: bytes) -> str:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    out = io.StringIO()
    call_command("ingest_email", stdout=out, stderr=out)
    return out.getvalue()


def test_a_piped_message_becomes_a_ticket(lab, monkeypatch):
    said = pipe(monkeypatch, MESSAGE)
    ticket = Ticket.objects.get()
    stored = InboundMessage.objects.get()
    assert said == f"Stored message {stored.pk}: Opened a ticket #{ticket.number}\n"
    assert (stored.source, bytes(stored.raw)) == ("pipe", MESSAGE)
    assert ticket.thread.get(kind="message").body == "The left monitor flickers since this morning."


def test_a_message_it_cannot_process_is_kept_and_the_mta_told_all_is_well(lab, monkeypatch):
    said = pipe(monkeypatch, b"this is not a mail message at all")
    stored = InboundMessage.objects.get()
    assert said == f"Stored message {stored.pk}: Could not be processed: in quarantine\n"
    assert stored.status == InboundMessage.Status.QUARANTINED and not Ticket.objects.exists()


def test_the_same_message_piped_twice_is_stored_once(lab, monkeypatch):
    pipe(monkeypatch, MESSAGE)
    pipe(monkeypatch, MESSAGE)
    assert InboundMessage.objects.count() == 1 and Ticket.objects.count() == 1


def test_when_the_message_cannot_be_stored_it_exits_75_so_the_mta_retries(lab, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(InboundMessage.objects, "create", down)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MESSAGE)))
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("ingest_email", stdout=io.StringIO(), stderr=err)
    assert exit_.value.code == 75
    assert err.getvalue() == "The message was not stored: could not connect to server\n"
    assert not Ticket.objects.exists()


# -- a flood from one forged sender, each message through a process of its own ------------------------

FORGED = "victim@example.org"
FLOOD = 24
CAPS = {
    "THROTTLE_MAIL_PER_SENDER": "10",  # an hour; past it, held
    "THROTTLE_MAIL_ACKS_PER_SENDER": "3",  # an hour
    "THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER": "6",
}
# What the admin's list of inbound messages shows, read by a process of ours (the SQLite
# database of the test is a file only processes can open).
CENSUS = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
from tickets.models import InboundMessage, Ticket

client = Client()
client.force_login(get_user_model().objects.create_superuser("census", "census@example.com", "-"))
url = "/admin/tickets/inboundmessage/"
print(json.dumps({
    "rows": list(InboundMessage.objects.order_by("pk").values_list("status", "mail_suppressed")),
    "tickets": Ticket.objects.count(),
    "nobody_mailed": client.get(url, {"nobody_mailed": "yes"}).content.decode(),
    "held": client.get(url, {"status__exact": "rate_limited"}).content.decode(),
}))
"""


def flood_message(n: int) -> bytes:
    return (
        f"From: The CEO <{FORGED}>\n"
        "To: helpdesk@localhost\n"
        f"Subject: Urgent request {n}\n"
        f"Message-ID: <flood-{n}@forged.example.net>\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "Please call me back at once.\n"
    ).encode()


@pytest.fixture
def processes(tmp_path):
    """Runs manage.py in processes of ours, as the MTA would, on a database they can all open:
    the test database on PostgreSQL; on SQLite, whose test database lives in this process's
    memory, a database file of the test's own, migrated. The lab is loaded into it."""
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings",
        DEBUG="0",
        SECRET_KEY=settings.SECRET_KEY,
        HELPDESK_VAR_DIR=str(tmp_path / "var"),
        EMAIL_URL=f"file://{tmp_path / 'mail'}",
        LOG_LEVEL="WARNING",  # what they log at all is a warning or worse
        DATABASE_URL=database_url()
        if connection.vendor == "postgresql"
        else f"sqlite:///{tmp_path / 'flood.sqlite3'}",
        **CAPS,
    )

    def run(*args: str, stdin: bytes = b"", **extra: str) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**env, **extra},
            input=stdin,
            capture_output=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr.decode()
        return done

    if connection.vendor != "postgresql":
        run("migrate", "--noinput")
    run("load_lab")
    run.mail = tmp_path / "mail"
    return run


def mails(folder: Path) -> Counter[str]:
    """How many messages the processes mailed to each address (the file mail backend)."""
    found: Counter[str] = Counter()
    for path in folder.glob("*.log") if folder.exists() else []:
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                found[parseaddr(message_from_string(chunk.strip())["To"])[1]] += 1
    return found


@pytest.mark.django_db(transaction=True)
def test_a_flood_from_one_sender_through_separate_processes_stays_within_the_caps(processes):
    with ThreadPoolExecutor(max_workers=6) as pool:  # MTA deliveries side by side
        done = list(pool.map(lambda n: processes("ingest_email", stdin=flood_message(n)), range(FLOOD)))
    warned = [line for d in done for line in d.stderr.decode().splitlines()]
    said = processes("shell", "-c", CENSUS, DEBUG="1", ALLOWED_HOSTS="testserver").stdout
    census = json.loads(said.splitlines()[-1])

    # Every message stored; ten processed (the limit an hour), the rest held.
    statuses = Counter(status for status, _ in census["rows"])
    assert statuses == {"ticket": 10, "rate_limited": FLOOD - 10} and census["tickets"] == 10
    # Three acknowledged (the cap an hour), each with its alert to the department's agent; the
    # tickets after them (three, then four past the cap of six open tickets) and the held
    # messages mailed nobody.
    assert mails(processes.mail) == {FORGED: 3, "john@example.com": 3}
    acks = f"The cap on acknowledgements to {FORGED} (3 in 60 minutes) is reached."
    open_tickets = f"The cap on open tickets from {FORGED} (6) is reached."
    assert Counter(reason for _, reason in census["rows"]) == {"": FLOOD - 7, acks: 3, open_tickets: 4}
    # Each decision logged at WARNING, by message and ticket: the sender and the reason (which
    # names the sender) are personal data, kept on the message and logged only at DEBUG.
    held = "held, not processed: its sender is past a limit"
    assert sum(held in line for line in warned) == FLOOD - 10
    quiet = re.compile(r"Inbound message \d+ opened ticket #\d+ and mailed nobody \(a cap\)$")
    assert sum(bool(quiet.search(line)) for line in warned) == 7
    assert len(warned) == FLOOD - 3 and not any(FORGED in line for line in warned)
    # And shown in the admin's list of inbound messages: its filter and its column.
    page = census["nobody_mailed"]
    assert page.count('<td class="field-mail_suppressed">') == 7 and page.count(open_tickets) == 4
    assert census["held"].count('<th class="field-subject">') == FLOOD - 10
