"""The multi-node stack, started once for tests/ops/test_stack.py, and its processes' logs
added to the report of a test that fails."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ops.smtpsink import SmtpSink


def _missing() -> str:
    """Why the stack cannot start here, or "" when it can."""
    try:
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=3):
            pass
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL here
        return f"PostgreSQL is not reachable on 127.0.0.1:5432 ({exc.__class__.__name__})"
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - likewise for Redis
        return f"Redis is not reachable on 127.0.0.1:6379 ({exc.__class__.__name__})"
    if not (shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")):
        return "haproxy is not installed (Debian: apt-get install haproxy; .ci/run installs it)"
    for module in ("gunicorn", "celery"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    return ""


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Any]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from tests.ops.stack import Stack

    running = Stack(tmp_path_factory.mktemp("stack"), sink.port)
    try:
        running.start()
    except BaseException:
        print(running.tails(60))
        running.close()
        raise
    yield running
    running.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("stack")
    if report.when == "call" and report.failed and running is not None:
        report.sections.append(("the stack's process logs", running.tails()))
