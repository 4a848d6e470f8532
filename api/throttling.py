"""Requests per minute: each API key its own limit, each signed-in session
``API_SESSION_RATE_LIMIT``; beyond it the answer is 429 with Retry-After."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from tickets import apikeys, throttle
from tickets.models import ApiKey


class CallerRateThrottle(BaseThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        if isinstance(request.auth, ApiKey):
            ident, limit = f"key:{request.auth.pk}", request.auth.rate_limit
        elif request.user and request.user.is_authenticated:
            ident, limit = f"user:{request.user.pk}", settings.API_SESSION_RATE_LIMIT
        else:
            ident, limit = f"ip:{throttle.client_ip(request)}", settings.API_SESSION_RATE_LIMIT
        self._wait = apikeys.rate_limit_wait(ident, limit=limit)
        return self._wait == 0

    def wait(self) -> float | None:
        return float(self._wait)
