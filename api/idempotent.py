"""``Idempotency-Key`` on POST: the same key and body within ``IDEMPOTENCY_KEY_HOURS`` gets the
first answer again (with ``Idempotent-Replayed: true``) and nothing is done twice; the same key
with another body is 422. The keys live in the database (``tickets.idempotency``), so this
holds across processes, and for two requests at the same moment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.access import caller
from tickets import idempotency

HEADER = "Idempotency-Key"
# Headers of the first answer that are given again with its replay.
KEPT_HEADERS = ("ETag", "Location", "Reports-Resolved")


def _digest(upload: Any) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _body(request: Any) -> Any:
    """The request's content as parsed, files by name, size and digest: a retried multipart
    request has another boundary but the same fields."""
    data = request.data
    if hasattr(data, "getlist"):
        fields = {name: data.getlist(name) for name in data}
        files = {
            name: [(f.name, f.size, _digest(f)) for f in request.FILES.getlist(name)]
            for name in request.FILES
        }
        return {"fields": fields, "files": files}
    return data


def _check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > idempotency.MAX_KEY_LENGTH or not key.isprintable():
        raise exceptions.ValidationError(
            {HEADER: [_("Send 1 to %(max)s printable characters.") % {"max": idempotency.MAX_KEY_LENGTH}]}
        )
    return key


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """For a view method handling POST."""

    @wraps(handler)
    def wrapped(view: Any, request: Any, *args: Any, **kwargs: Any) -> Response:
        raw = request.headers.get(HEADER)
        if raw is None:
            return handler(view, request, *args, **kwargs)
        key = _check_key(raw)
        fingerprint = idempotency.fingerprint(request.method, request.path, _body(request))
        with transaction.atomic():
            claimed = idempotency.begin(principal=caller(request).principal, key=key, fingerprint=fingerprint)
            if isinstance(claimed, idempotency.Replay):
                response = Response(claimed.body, status=claimed.status_code, headers=claimed.headers)
                response["Idempotent-Replayed"] = "true"
                return response
            response = handler(view, request, *args, **kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            body = json.loads(JSONRenderer().render(response.data) or b"null")
            headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
            idempotency.finish(claimed, status_code=response.status_code, body=body, headers=headers)
            return response

    return wrapped
