"""Signed links in the mail we send: a requester's ticket without an account, and the
confirmation of a new account (used by ``tickets.accounts`` and by mail out).

A token names the ticket and its requester and is signed with the project's secret, so it
cannot be guessed or altered; it expires after ``TICKET_LINK_MAX_AGE_DAYS``. A token for a
ticket whose requester has since changed no longer opens it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import salted_hmac

from tickets import selectors
from tickets.models import Ticket

_SALT = "tickets.links.ticket"


def ticket_token(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.pk, "r": ticket.requester_id}, salt=_SALT)


def ticket_from_token(token: str) -> Ticket | None:
    """The ticket a valid, unexpired token names (or the ticket it was merged into: its
    thread is there); None for anything else."""
    ticket = ticket_named_by(token)
    return None if ticket is None else selectors.surviving_ticket(ticket)


def ticket_named_by(token: str) -> Ticket | None:
    """The ticket a valid, unexpired token names, merged or not; None for anything else."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.TICKET_LINK_MAX_AGE_DAYS * 86400)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    return (
        Ticket.objects.select_related("requester")
        .filter(pk=data.get("t"), requester_id=data.get("r"))
        .exclude(number=None)
        .first()
    )


# Where a link can lead on the ticket's page: the answer to a resolution, from its mail.
THEN = {"confirm": "confirm-fix", "reopen": "reopen"}


def ticket_link(ticket: Ticket, *, then: str | None = None) -> str:
    """The absolute link to put in an e-mail; ``then`` opens the page at one of ``THEN``.

    Following a link never changes the ticket (mail scanners follow links too): the page
    it opens asks for the click."""
    path = reverse("portal:ticket_link", kwargs={"token": ticket_token(ticket)})
    if then is not None:
        if then not in THEN:
            raise ValueError(f"A ticket link cannot lead to {then!r}.")
        path += f"?then={then}"
    return settings.HELPDESK_BASE_URL.rstrip("/") + path


# -- account confirmation ----------------------------------------------------------------------

_CONFIRM_SALT = "tickets.accounts.confirm"
CONFIRM_MAX_AGE = 3 * 86400


def account_state(user: Any) -> str:
    """Changes when the account is activated or its password changes: a link works once."""
    return salted_hmac(
        _CONFIRM_SALT, f"{user.pk}:{user.password}:{user.is_active}:{user.last_login}"
    ).hexdigest()[:20]


def confirm_token(user: Any) -> str:
    return signing.dumps({"u": user.pk, "e": user.email, "s": account_state(user)}, salt=_CONFIRM_SALT)


def confirm_claim(token: str) -> dict[str, Any] | None:
    """What a valid, unexpired confirmation token says (user id, e-mail, state); None otherwise."""
    try:
        data = signing.loads(token, salt=_CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) else None


def confirm_link(user: Any) -> str:
    path = reverse("portal:register_confirm", kwargs={"token": confirm_token(user)})
    return settings.HELPDESK_BASE_URL.rstrip("/") + path
