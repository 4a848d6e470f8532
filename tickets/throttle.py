"""Counting attempts per key in fixed windows, in the cache (Redis in production).

Used to slow down anonymous ticket creation, sign-in guessing and password-reset mail.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache


def _key(scope: str, ident: str, window: int) -> str:
    return f"throttle:{scope}:{ident}:{int(time.time() // window)}"


def allow(scope: str, ident: str, *, limit: int, window: int) -> bool:
    """Count one attempt; False once more than ``limit`` were made in this window."""
    key = _key(scope, ident.lower(), window)
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit


def is_blocked(scope: str, ident: str, *, limit: int, window: int) -> bool:
    """True when ``limit`` attempts were already counted in this window (counts nothing)."""
    return (cache.get(_key(scope, ident.lower(), window)) or 0) >= limit


def reset(scope: str, ident: str, *, window: int) -> None:
    cache.delete(_key(scope, ident.lower(), window))


def client_ip(request: Any) -> str:
    """The address a request came from. Behind ``NUM_PROXIES`` trusted proxies it is the
    entry they appended to X-Forwarded-For; entries further left are the client's word."""
    if request is None:
        return "unknown"
    proxies = settings.NUM_PROXIES
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or "unknown"


def seconds_left(window: int) -> int:
    """Seconds until the current window ends (a Retry-After value, at least 1)."""
    return max(1, int(window - time.time() % window))
