"""Cursor pages of the ticket list: each page starts right after the last ticket of the one
before, by the sort's keys (``tickets.selectors.SORT_KEYS``), so pages neither skip nor repeat
tickets when new ones arrive, and a deep page costs what the first does. The cursor is opaque
to clients: base64 of the sort and the last ticket's key values."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import exceptions

from tickets import selectors
from tickets.models import Ticket

INT_KEYS = frozenset({"id", "priority_rank"})


@dataclass(frozen=True)
class Page:
    rows: list[Ticket]
    next: str | None


def encode(sort: str, position: list[Any]) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in position]
    text = json.dumps({"sort": sort, "after": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _value(field: str, value: Any) -> Any:
    if value is None:
        if field not in selectors.NULLS_LAST:
            raise ValueError(field)
        return None
    if field in INT_KEYS:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(field)
        return value
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(field)
    return parsed


def decode(sort: str, cursor: str) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        keys = selectors.SORT_KEYS[sort]
        if data["sort"] != sort or len(data["after"]) != len(keys):
            raise ValueError(sort)
        return [_value(field, value) for (field, _), value in zip(keys, data["after"], strict=True)]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise exceptions.ValidationError(
            {"cursor": [_("Not a cursor of this list: use the `next` link of the previous page.")]}
        ) from None


def paginate(request: Any, tickets: QuerySet[Ticket], *, sort: str, size: int, cursor: str | None) -> Page:
    if cursor:
        tickets = selectors.tickets_after(tickets, sort, decode(sort, cursor))
    rows = list(tickets[: size + 1])
    if len(rows) <= size:
        return Page(rows, None)
    rows = rows[:size]
    params = request.query_params.copy()
    params["cursor"] = encode(sort, selectors.sort_position(rows[-1], sort))
    return Page(rows, request.build_absolute_uri(f"{request.path}?{params.urlencode()}"))
