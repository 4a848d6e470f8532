"""Counting attempts per key in fixed windows, in the cache (Redis in production).

Used to slow down anonymous ticket creation, sign-in guessing and password-reset mail.
"""

from __future__ import annotations

import time

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
