"""One sender's limits. Counted from the stored messages, so that pipe processes, IMAP polls and
workers share one count with no cache: a message counts once it is processed."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet, Value
from django.db.models.functions import Lower
from django.utils import timezone

from tickets.models import ACTIVE_STATES, InboundMessage, Ticket

logger = logging.getLogger(__name__)

Status = InboundMessage.Status


# What a person's mail became (a machine's, auto-replies, bounces and loops, never counts
# against its sender; a message still waiting for processing does not count yet).
_COUNTED = (
    Status.TICKET,
    Status.REPLY,
    Status.FOLLOW_UP,
    Status.NOTE,
    Status.RATE_LIMITED,
    Status.QUARANTINED,
)


def _one_sender_at_a_time(sender: str) -> None:
    """Messages from one sender are decided one after the other, across processes, so each
    counts every one decided before it; the lock ends with the transaction. SQLite needs none:
    its writers take turns (transactions begin IMMEDIATE, helpdesk.settings)."""
    if connection.vendor == "postgresql":
        digest = hashlib.sha256(f"inbound-sender:{sender.lower()}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _from(sender: str) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.alias(address=Lower("sender")).filter(address=Lower(Value(sender)))


def _past_the_limit(stored: InboundMessage, sender: str) -> str:
    """Why the message is held unprocessed (THROTTLE_MAIL_PER_SENDER), or ""."""
    limit, window = settings.THROTTLE_MAIL_PER_SENDER
    since = timezone.now() - timedelta(seconds=window)
    earlier = _from(sender).filter(status__in=_COUNTED, received_at__gte=since).exclude(pk=stored.pk)
    if earlier.count() < limit:
        return ""
    return f"More than {limit} messages from {sender} in {window // 60} minutes."


def _past_a_cap(sender: str) -> str:
    """Why a new ticket from this sender is to mail nobody (THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER,
    THROTTLE_MAIL_ACKS_PER_SENDER), or "". The acknowledgements counted are the tickets the
    sender's mail opened in the window and did not hold back (one by list mail, which got no
    acknowledgement, counts too: the cap errs on the quiet side)."""
    open_cap = settings.THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER
    opened = Ticket.objects.filter(requester__email__iexact=sender, state__in=ACTIVE_STATES).count()
    if opened >= open_cap:
        return f"The cap on open tickets from {sender} ({open_cap}) is reached."
    ack_cap, window = settings.THROTTLE_MAIL_ACKS_PER_SENDER
    acknowledged = _from(sender).filter(
        status__in=(Status.TICKET, Status.FOLLOW_UP),
        mail_suppressed="",
        processed_at__gte=timezone.now() - timedelta(seconds=window),
    )
    if acknowledged.count() >= ack_cap:
        return f"The cap on acknowledgements to {sender} ({ack_cap} in {window // 60} minutes) is reached."
    return ""


def _log_capped(stored: InboundMessage, sender: str, opened: Ticket) -> None:
    # The reason names the sender: kept on the message, in the log only at DEBUG.
    logger.warning("Inbound message %s opened ticket #%s and mailed nobody (a cap)", stored.pk, opened.number)
    logger.debug("Inbound message %s from %s: %s", stored.pk, sender, stored.mail_suppressed)
