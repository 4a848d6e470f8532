"""How the help desk logs: plain text by default (what `make run` shows), or one line of JSON per
record with LOG_FORMAT=json, and in both the id of the request or task each record belongs to.

The JSON formatter is our own, on the standard library's json module: it is a few dozen lines
that write exactly the fields operators search by (time in ISO 8601 UTC, level, logger, message,
request_id, the record's extra fields, the exception as one string), where python-json-logger
would be a dependency to configure into the same shape. Nothing here imports Django, so
gunicorn's master process can use the same configuration before any app is loaded
(helpdesk/gunicorn_conf.py).
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime
from typing import Any

# The request being served, or the request that queued the task being run (helpdesk.requestids).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# What every LogRecord has; anything else on a record was passed as `extra` and is written out.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}
# Django's request log passes the request itself (its repr holds the query string) and
# runserver's its socket: neither is a field anyone should read in a log.
_LEFT_OUT = frozenset({"request", "server_time"})


class RequestIdFilter(logging.Filter):
    """Put the current request id on every record a handler writes (unless it carries one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs some responses (a 4xx a view returned) after every middleware has returned,
        # outside the request's context, but hands the request to the record.
        current = request_id.get() or getattr(getattr(record, "request", None), "request_id", None)
        if current and not hasattr(record, "request_id"):
            record.request_id = current
        return True


class TextFormatter(logging.Formatter):
    """One line of plain text: time, level, logger, [request id], message."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s", defaults={"request_id": "-"}
        )


class JsonFormatter(logging.Formatter):
    """One line of JSON per record, for a log collector to index without parsing text."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and key not in _LEFT_OUT and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra that JSON cannot hold is written as its text, never lost or fatal.
        return json.dumps(line, default=str, ensure_ascii=False)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """The dictConfig for LOG_FORMAT ("text" or "json") and LOG_LEVEL, shared by Django, Celery
    (helpdesk/celery.py) and gunicorn (helpdesk/gunicorn_conf.py)."""
    json_lines = log_format.strip().lower() == "json"
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"text": {"()": TextFormatter}, "json": {"()": JsonFormatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "text",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {},
    }
    if json_lines:
        # Django (its console and runserver's request lines) and gunicorn have handlers of
        # their own that would write plain text beside ours: theirs go, their records reach ours.
        for name in ("django", "django.server", "gunicorn.error", "gunicorn.access"):
            config["loggers"][name] = {"handlers": [], "propagate": True}
    return config
