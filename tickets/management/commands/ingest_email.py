import sys
from typing import Any

from django.core.management.base import BaseCommand

from tickets.mailin import store

# sysexits.h: the MTA keeps the message and tries the pipe again later.
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = (
        "Read one RFC 822 message on standard input and store it, then make it a ticket or a reply "
        '(for an MTA alias: `helpdesk: "|/path/to/manage.py ingest_email"`). Exits non-zero only '
        "when the message could not be stored, so the MTA keeps it and tries again."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--source", default="pipe", help="What to record as the message's source.")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = sys.stdin.buffer.read()
        try:
            stored = store.ingest(raw, source=options["source"])
        except Exception as exc:  # the database is down, the disk is full: not stored
            self.stderr.write(f"The message was not stored: {exc}")
            raise SystemExit(EX_TEMPFAIL) from None
        ticket = f" #{stored.ticket.number}" if stored.ticket_id else ""
        self.stdout.write(f"Stored message {stored.pk}: {stored.get_status_display()}{ticket}")
