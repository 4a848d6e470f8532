"""Idempotent POSTs: the first answer to a key is stored and replayed for the same key and body.

The caller runs ``begin``, its own work and ``finish`` in one transaction. The record's row is
inserted first, so a second request with the same key (another process, at the same moment)
waits on the unique index until the first commits, then replays its answer; if the first rolls
back, the second finds no row and does the work itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


class IdempotencyMismatch(Exception):
    """The key was used for another request (another path or body) within the window."""


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any
    headers: dict[str, str]


def fingerprint(*parts: Any) -> str:
    """A stable digest of what identifies the request (method, path, its parsed body)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _window() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def begin(*, principal: str, key: str, fingerprint: str) -> IdempotencyRecord | Replay:
    """Claim ``key`` for this request (a new record: do the work, then ``finish``), or the
    stored answer to replay. Raises IdempotencyMismatch for the same key with another body.
    Must run inside the caller's transaction."""
    now = timezone.now()
    IdempotencyRecord.objects.filter(principal=principal, key=key, created_at__lt=now - _window()).delete()
    record, created = IdempotencyRecord.objects.get_or_create(
        principal=principal, key=key, defaults={"fingerprint": fingerprint, "created_at": now}
    )
    if created:
        return record
    if record.fingerprint != fingerprint:
        raise IdempotencyMismatch(_("This Idempotency-Key was already used for a different request."))
    return Replay(record.status_code or 200, record.response_body, dict(record.response_headers))


def finish(record: IdempotencyRecord, *, status_code: int, body: Any, headers: dict[str, str]) -> None:
    record.status_code, record.response_body, record.response_headers = status_code, body, headers
    record.save(update_fields=["status_code", "response_body", "response_headers"])


def purge_expired(now: Any = None) -> int:
    """Forget answers older than the window (run by the periodic job)."""
    cutoff = (now or timezone.now()) - _window()
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
