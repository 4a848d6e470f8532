"""Logs and request ids (helpdesk/logs.py, helpdesk/requestids.py): one line of JSON per record
with LOG_FORMAT=json, the request id on every record written while a request is served, in its
response, and in the log of the worker that runs a task the request queued; gunicorn's own lines
in the same format."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from celery.app.task import Context
from django.conf import settings

from helpdesk import requestids
from helpdesk.celery import app as celery_app
from helpdesk.logs import JsonFormatter, RequestIdFilter, TextFormatter, logging_config, request_id
from tests.processes import redis_answers

ROOT = Path(__file__).resolve().parents[1]
REDIS = ("127.0.0.1", 6379)
HEX_ID = re.compile(r"[0-9a-f]{32}")


def _record(message="Ticket %s moved", args=("#100001",), exc_info=None, **extra) -> logging.LogRecord:
    record = logging.getLogger("tickets.test").makeRecord(
        "tickets.test", logging.INFO, __file__, 1, message, args, exc_info, extra=extra
    )
    RequestIdFilter().filter(record)
    return record


# -- the formats -----------------------------------------------------------------------------------


def test_a_json_line_has_time_level_logger_message_request_id_and_the_extra_fields():
    token = request_id.set("req-1")
    try:
        record = _record(ticket=100001, duration_ms=12.5)
    finally:
        request_id.reset(token)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data == {
        "time": data["time"],
        "level": "INFO",
        "logger": "tickets.test",
        "message": "Ticket #100001 moved",
        "request_id": "req-1",
        "ticket": 100001,
        "duration_ms": 12.5,
    }
    when = datetime.fromisoformat(data["time"])
    assert when.utcoffset().total_seconds() == 0 and abs(when.timestamp() - record.created) < 0.001


def test_a_json_line_outside_any_request_has_no_id_and_an_exception_as_one_string():
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("Failed", (), exc_info=sys.exc_info(), request=object())
    data = json.loads(JsonFormatter().format(record))
    assert data["request_id"] is None
    assert data["exception"].startswith("Traceback") and "ValueError: boom" in data["exception"]
    # Django's request object (its repr holds the query string) is not written.
    assert "request" not in data


def test_plain_text_names_the_time_level_logger_and_request_id():
    plain = TextFormatter().format(_record())
    assert re.fullmatch(r"\S+ \S+ INFO tickets\.test \[-\] Ticket #100001 moved", plain)
    token = request_id.set("req-2")
    try:
        assert "INFO tickets.test [req-2] Ticket #100001 moved" in TextFormatter().format(_record())
    finally:
        request_id.reset(token)


def test_plain_text_is_the_default_and_json_takes_djangos_and_gunicorns_handlers_away():
    text = logging_config("text", "INFO")
    assert text["handlers"]["console"]["formatter"] == "text" and text["loggers"] == {}
    as_json = logging_config("json", "DEBUG")
    assert as_json["handlers"]["console"]["formatter"] == "json" and as_json["root"]["level"] == "DEBUG"
    for name in ("django", "django.server", "gunicorn.error", "gunicorn.access"):
        assert as_json["loggers"][name] == {"handlers": [], "propagate": True}
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["request_id"]


# -- the middleware ------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", ["abc.123-X_y", "a" * 128, "0f" * 16])
def test_a_sane_request_id_is_kept_and_returned_with_the_node(client, settings, db, sent):
    settings.HELPDESK_NODE = "node-7"
    response = client.get("/", HTTP_X_REQUEST_ID=sent)
    assert response["X-Request-ID"] == sent and response["X-Served-By"] == "node-7"
    assert request_id.get() is None


@pytest.mark.parametrize("sent", [None, "", "has space", "a" * 129, "x\r\nSet-Cookie: a=b", "naïve", "a/b"])
def test_any_other_request_id_is_replaced_by_a_new_one(client, db, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    first = client.get("/", **headers)["X-Request-ID"]
    second = client.get("/", **headers)["X-Request-ID"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second


def test_what_is_logged_while_a_request_is_served_carries_its_id(client, caplog, settings, lab):
    settings.LOG_REQUESTS = True
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO)
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-404")
    assert response.status_code == 404
    [not_found] = [r for r in caplog.records if r.name == "django.request"]
    [served] = [r for r in caplog.records if r.name == "helpdesk.requests"]
    assert not_found.request_id == served.request_id == "req-404"
    assert served.getMessage() == "GET - 404" and served.status == 404 and served.duration_ms >= 0


def test_a_request_is_logged_by_its_route_not_its_path(client, caplog, settings, lab):
    settings.LOG_REQUESTS = True
    caplog.set_level(logging.INFO, logger="helpdesk.requests")
    client.get("/t/secret-token-in-the-path/?email=karen@example.com")
    [served] = [r for r in caplog.records if r.name == "helpdesk.requests"]
    assert served.route == "/t/<str:token>/" and served.view == "portal:ticket_link"
    line = JsonFormatter().format(served)
    assert "secret-token" not in line and "karen" not in line


def test_requests_are_not_logged_one_by_one_unless_asked(client, caplog, settings, db):
    settings.LOG_REQUESTS = False
    caplog.set_level(logging.INFO, logger="helpdesk.requests")
    client.get("/", HTTP_X_REQUEST_ID="req-quiet")
    assert [r for r in caplog.records if r.name == "helpdesk.requests"] == []


# -- Celery ----------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_task_queued_during_a_request_carries_its_id_in_the_message():
    """Through the in-memory broker of the test settings: send_task always publishes."""
    queue = f"test-request-ids-{uuid.uuid4().hex[:8]}"
    token = request_id.set("req-queued")
    try:
        celery_app.send_task("celery.accumulate", args=(1,), queue=queue)
    finally:
        request_id.reset(token)
    celery_app.send_task("celery.accumulate", args=(2,), queue=queue)  # outside any request
    with celery_app.connection_for_read() as connection:
        inbox = connection.SimpleQueue(queue)
        first, second = inbox.get(timeout=1), inbox.get(timeout=1)
        inbox.close()
    assert first.headers[requestids.TASK_HEADER] == "req-queued"
    assert requestids.TASK_HEADER not in second.headers


class _Task:
    def __init__(self, **request):
        self.request = Context({"is_eager": False, **request})


def test_the_worker_runs_a_task_under_the_id_it_came_with_and_then_forgets_it():
    task = _Task(request_id="req-from-web")
    requestids._take_request_id(task_id="t1", task=task)
    assert request_id.get() == "req-from-web"
    requestids._drop_request_id(task_id="t1", task=task)
    assert request_id.get() is None
    # Sent by beat (no id) or with a forged one: none.
    for task in (_Task(), _Task(request_id="bad id\n")):
        requestids._take_request_id(task_id="t2", task=task)
        assert request_id.get() is None
        requestids._drop_request_id(task_id="t2", task=task)


def test_an_inline_task_sees_the_requests_id_as_it_is():
    token = request_id.set("req-inline")
    try:
        requestids._take_request_id(task_id="t3", task=_Task(is_eager=True, request_id="other"))
        assert request_id.get() == "req-inline"
        requestids._drop_request_id(task_id="t3")
        assert request_id.get() == "req-inline"
    finally:
        request_id.reset(token)


# -- real processes ------------------------------------------------------------------------------


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    drop = ("CELERY_BROKER_URL", "CACHE_URL", "DATABASE_URL", "LOG_LEVEL", "LOG_REQUESTS")
    return {
        **{k: v for k, v in os.environ.items() if k not in drop},
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "HELPDESK_VAR_DIR": str(tmp_path / "var"),
        "LOG_FORMAT": "json",
        **extra,
    }


def _json_lines(text: str) -> list[dict]:
    """Every line of a JSON log, parsed (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.skipif(not redis_answers(), reason="no Redis answers on 127.0.0.1:6379")
def test_a_workers_log_lines_for_a_task_carry_the_id_of_the_request_that_queued_it(tmp_path):
    """A real worker on Redis (database 14) runs Celery's own accumulate task (no database)."""
    import redis
    from celery import Celery

    token = uuid.uuid4().hex[:12]
    queue = f"helpdesk-logs-test-{token}"
    broker = f"redis://{REDIS[0]}:{REDIS[1]}/14"
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool=solo"],
            cwd=ROOT,
            env=_env(tmp_path, CELERY_BROKER_URL=broker, CELERY_QUEUE=queue),
            stdout=subprocess.DEVNULL,  # the start banner; the log goes to stderr
            stderr=out,
        )
    sender = Celery("sender", broker=broker)
    try:
        id_ = request_id.set(f"req-{token}")
        try:
            sender.send_task("celery.accumulate", args=(1,), queue=queue)
        finally:
            request_id.reset(id_)
        deadline = time.monotonic() + 60
        while "succeeded" not in log.read_text() and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
    finally:
        _stop(worker)
        sender.close()
        client = redis.Redis(host=REDIS[0], port=REDIS[1], db=14)
        # This run's queue and bindings, and the list of bindings kombu keeps beside them
        # (database 14 is this test's alone).
        client.delete(*client.scan_iter(match=f"*{token}*"), "_kombu.binding_deadlines")
        client.close()
    lines = _json_lines(log.read_text())
    [ran] = [line for line in lines if re.match(r"Task celery\.accumulate\[.*\] succeeded", line["message"])]
    assert ran["request_id"] == f"req-{token}" and ran["logger"] == "celery.app.trace"
    # Only the task's own lines carry it.
    assert all(line["request_id"] in (None, f"req-{token}") for line in lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_and_django_log_json_lines_and_the_response_names_its_request_and_node(tmp_path):
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = _env(tmp_path, ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0", HELPDESK_NODE="node-b")
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "gunicorn", "-c", "python:helpdesk.gunicorn_conf", "--workers", "1",
             "--bind", f"127.0.0.1:{port}", "helpdesk.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # The API refuses an anonymous caller without touching the database.
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/tickets/", headers={"X-Request-ID": "req-gunicorn"}
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(request, timeout=5)  # noqa: S310 - our own loopback server
                pytest.fail("the API answered an anonymous caller")
            except urllib.error.HTTPError as refused:
                response = refused
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"gunicorn did not answer:\n{log.read_text()}")
                time.sleep(0.2)
    finally:
        _stop(server)
    assert response.code in (401, 403)
    assert response.headers["X-Request-ID"] == "req-gunicorn" and response.headers["X-Served-By"] == "node-b"
    lines = _json_lines(log.read_text())
    by_logger = {line["logger"]: line for line in lines}
    # gunicorn's master, before any app is loaded, writes JSON too.
    gunicorns = [line["message"] for line in lines if line["logger"] == "gunicorn.error"]
    assert any(message.startswith("Booting worker") for message in gunicorns)
    assert by_logger["helpdesk.requests"]["request_id"] == "req-gunicorn"
    assert by_logger["helpdesk.requests"]["route"] == "/api/v1/tickets/"
    # Django logs a refused request after the middleware is done; it still carries the id.
    assert by_logger["django.request"]["request_id"] == "req-gunicorn"
