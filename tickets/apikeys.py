"""API keys: made and shown once, stored as a hash, checked on each request, limited per key."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets import throttle
from tickets.models import ApiKey, Department

# Keys look like "hd_" + 43 URL-safe characters (256 random bits); the prefix makes a leaked key
# easy to recognise (secret scanners, logs).
KEY_START = "hd_"
PREFIX_LENGTH = 10
# last_used_at is written at most this often per key: not one UPDATE per request.
LAST_USED_EVERY = timedelta(minutes=1)
RATE_WINDOW = 60


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def apikey_create(
    *,
    name: str,
    owner: Any,
    scope: str = ApiKey.Scope.CREATE,
    department: Department | None = None,
    expires_at: Any = None,
    rate_limit: int = 120,
) -> tuple[ApiKey, str]:
    """A new key and its text, which is never stored and so can be shown only now."""
    raw = KEY_START + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name,
        owner=owner,
        scope=scope,
        department=department,
        expires_at=expires_at,
        rate_limit=rate_limit,
        prefix=raw[:PREFIX_LENGTH],
        hashed_key=hash_key(raw),
    )
    return key, raw


def apikey_fill_secret(key: ApiKey) -> str:
    """Give an unsaved key (the admin's form) its secret; returns the text to show once."""
    raw = KEY_START + secrets.token_urlsafe(32)
    key.prefix, key.hashed_key = raw[:PREFIX_LENGTH], hash_key(raw)
    return raw


def apikey_revoke(key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])


def apikey_authenticate(raw: str) -> ApiKey | None:
    """The usable key with this text (not revoked, not expired, its owner active), or None."""
    if not raw.startswith(KEY_START) or len(raw) > 200:
        return None
    key = (
        ApiKey.objects.select_related("owner", "department")
        .filter(hashed_key=hash_key(raw))
        .first()
    )
    if key is None or not key.is_usable or not key.owner.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def rate_limit_wait(ident: str, *, limit: int, window: int = RATE_WINDOW) -> int:
    """Count one request; 0 if it may go on, else the seconds until the window ends."""
    if throttle.allow("api", ident, limit=limit, window=window):
        return 0
    return throttle.seconds_left(window)
