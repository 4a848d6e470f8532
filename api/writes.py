"""Writes to an existing ticket: the version the caller decided on (``If-Match``) and the
service's refusals, answered 409 with the ticket as it is now."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions

from api import present
from api.access import Caller
from api.errors import Conflict
from tickets import services
from tickets.models import Ticket

IF_MATCH = "If-Match"
_VERSION = re.compile(r'(?:W/)?"(\d{1,10})"')


def if_match(request: Any) -> int | None:
    """The version in If-Match (``"7"`` or ``W/"7"``); None without one, or for ``*``."""
    raw = request.headers.get(IF_MATCH)
    if raw is None or raw.strip() == "*":
        return None
    found = _VERSION.fullmatch(raw.strip())
    if found is None:
        raise exceptions.ValidationError({IF_MATCH: [_('Send the ticket\'s ETag: "7", W/"7" or *.')]})
    return int(found.group(1))


@contextmanager
def changing(request: Any, who: Caller, ticket: Ticket) -> Iterator[None]:
    """Run the write inside: refused as ``stale`` if the ticket is no longer at the If-Match
    version (or changed while the write ran), ``not_allowed`` if the service refuses it."""
    version = if_match(request)
    try:
        services.ticket_ensure_unchanged(ticket, version=version)
        yield
    except services.TicketConflict as exc:
        raise Conflict(
            str(exc), code="stale", ticket=present.detail_data(who, present.reload(ticket))
        ) from None
    except services.TicketActionError as exc:
        raise Conflict(str(exc), ticket=present.detail_data(who, present.reload(ticket))) from None
