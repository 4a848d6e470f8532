"""The database's statements counted for /metrics, with django-prometheus' metric names
(``django_db_execute_total`` and its kin), through an ``execute_wrapper`` on every connection
rather than its database backends: the ENGINE stays Django's own for every alias, and the query
counts the test suite asserts (which read ``connection.queries``) are not touched."""

from __future__ import annotations

from typing import Any

from django_prometheus.db import errors_total, execute_many_total, execute_total, query_duration_seconds


def count_queries(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created``: wrap the connection's statements (once, however often it reconnects)."""
    if _wrapper not in connection.execute_wrappers:
        # First, not last: a connection opened inside ``with connection.execute_wrapper(w)``
        # gets ours while w is on, and the block's end removes the last wrapper, which is w.
        connection.execute_wrappers.insert(0, _wrapper)


def _wrapper(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    connection = context["connection"]
    labels = (connection.alias, connection.vendor)
    if many:
        rows = len(params) if hasattr(params, "__len__") else 1
        execute_total.labels(*labels).inc(rows)
        execute_many_total.labels(*labels).inc(rows)
    else:
        execute_total.labels(*labels).inc()
    try:
        with query_duration_seconds.labels(*labels).time():
            return execute(sql, params, many, context)
    except Exception as exc:
        errors_total.labels(*labels, type(exc).__name__).inc()
        raise
