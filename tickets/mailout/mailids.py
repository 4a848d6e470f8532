"""Message-IDs we sign, so that a reply finds its ticket and our own mail is known when it
comes back.

Every message about a ticket gets a fresh ``<t.PK.RANDOM.SIG@domain>`` and refers to the
ticket's root ``<ticket.PK.SIG@domain>``; SIG is an HMAC of the rest under the project's
secret, so an ID cannot be forged to land a message on another ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from email.utils import parseaddr

from django.conf import settings
from django.utils.encoding import force_bytes

_ID = re.compile(r"<?\s*(t|ticket)\.(\d{1,18})\.(?:([0-9a-f]{8,32})\.)?([0-9a-f]{20})@([^>\s]+)\s*>?", re.I)
_ANY_ID = re.compile(r"<[^<>\s]+>")


def domain() -> str:
    configured = getattr(settings, "HELPDESK_MAIL_DOMAIN", "")
    if configured:
        return configured
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "helpdesk.invalid"


def _sign(text: str) -> str:
    key = force_bytes("tickets.mailids:" + settings.SECRET_KEY)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:20]


def root_id(ticket_pk: int) -> str:
    """The ID every message of the ticket refers to."""
    return f"<ticket.{ticket_pk}.{_sign(f'ticket.{ticket_pk}')}@{domain()}>"


def new_id(ticket_pk: int) -> str:
    """A fresh ID for one message about the ticket."""
    nonce = secrets.token_hex(8)
    return f"<t.{ticket_pk}.{nonce}.{_sign(f't.{ticket_pk}.{nonce}')}@{domain()}>"


def new_plain_id() -> str:
    """An ID for mail about no ticket (accounts), still known as ours when it comes back."""
    nonce = secrets.token_hex(8)
    return f"<t.0.{nonce}.{_sign(f't.0.{nonce}')}@{domain()}>"


def _verified(match: re.Match[str]) -> int | None:
    kind, pk, nonce, signature = match.group(1).lower(), match.group(2), match.group(3), match.group(4)
    if kind == "ticket" and nonce is None:
        expected = _sign(f"ticket.{pk}")
    elif kind == "t" and nonce is not None:
        expected = _sign(f"t.{pk}.{nonce.lower()}")
    else:
        return None
    return int(pk) if hmac.compare_digest(expected, signature.lower()) else None


def is_ours(message_id: str) -> bool:
    """Did we write this Message-ID (any ticket, or none)?"""
    match = _ID.fullmatch((message_id or "").strip())
    return match is not None and _verified(match) is not None


def ticket_pk_from(header_values: Iterable[str]) -> int | None:
    """The ticket named by the first of our signed IDs in In-Reply-To / References values,
    newest first as mail clients list them last."""
    ids: list[str] = []
    for value in header_values:
        ids.extend(_ANY_ID.findall(str(value or "")))
    for candidate in reversed(ids):
        match = _ID.fullmatch(candidate)
        pk = _verified(match) if match else None
        if pk:
            return pk
    return None
