"""The IMAP poll task (Celery beat runs it every minute)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from tickets.mailin import imap


# The name it had in tickets.tasks: the beat schedule and queued messages still find it.
@shared_task(name="tickets.tasks.poll_mailboxes", ignore_result=True)
def poll_mailboxes() -> list[dict[str, object]]:
    """Read the active IMAP mailboxes."""
    return [asdict(report) for report in imap.poll_all()]
