"""The Celery broker as the health check and the metrics see it: when it is Redis, one small
client of our own with short timeouts and no retries (a check that waits is worse than one that
fails), shared by the process; any other broker is reached through Celery's own connection."""

from __future__ import annotations

from functools import cache
from typing import Any

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from helpdesk.celery import app as celery_app

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def is_inline() -> bool:
    """No broker: tasks run in the process that queues them (the default without CELERY_BROKER_URL)."""
    return settings.CELERY_TASK_ALWAYS_EAGER or settings.CELERY_BROKER_URL.startswith("memory://")


def redis_client() -> redis.Redis | None:
    """The broker's Redis, or None when the broker is something else."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(REDIS_SCHEMES):
        return None
    return _client(url, float(settings.HEALTH_CHECK_TIMEOUT_SECONDS))


@cache
def _client(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


def ping() -> None:
    """Raise if the broker does not answer within the health check's timeout."""
    client = redis_client()
    if client is not None:
        client.ping()
        return
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=float(settings.HEALTH_CHECK_TIMEOUT_SECONDS))


def queue_length(queue: str) -> int | None:
    """Messages waiting in a Celery queue (LLEN of its Redis list); None when the broker is not Redis."""
    client = redis_client()
    if client is None or is_inline():
        return None
    length: Any = client.llen(queue)
    return int(length)
