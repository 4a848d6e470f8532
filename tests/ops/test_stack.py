"""Two web nodes behind HAProxy, two Celery workers and two beats behave as one help desk
(issue 19, item 7). The stack (tests/ops/stack.py) runs on loopback with a PostgreSQL database
and Redis databases of its own; each request's line in the log names the node that served it.

The scenarios share one stack and run in this order; the last one stops a web node.
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import threading
import time
import uuid

import pytest

from tests.ops.browser import Browser
from tests.ops.stack import BROKER_DB, CACHE_DB, REDIS, TIMERS_EVERY_SECONDS, WEB_NODES, WORKERS

PASSWORD = "Password1"
SUBJECT = "Entire mobile/online banking system is down"
OUTAGE = "Customers cannot log in to mobile or online banking since 9:00."
FIRST = "Hi Karen, we know about the outage and are working on it. Next update within the hour."
RESOLUTION = "Resolved: the gateway certificate was renewed; online banking works again."


def _id(stack, sql: str, *params: object) -> str:
    rows = stack.query(sql, *params)
    assert len(rows) == 1, (sql, params, rows)
    return str(rows[0][0])


def _signed_in(browser: Browser, page: str, username: str) -> None:
    answer = browser.submit(page, page, {"username": username, "password": PASSWORD})
    assert answer.status == 200 and "Sign out" in answer.body, f"{username} could not sign in"


def test_example_1_through_haproxy_lands_on_both_nodes(stack):
    karen, john, jane = (Browser(stack.base, who) for who in ("karen", "john", "jane"))
    topic = _id(
        stack, "SELECT id FROM tickets_helptopic WHERE name = %s AND parent_id IS NULL", "Report a Problem"
    )
    team = _id(stack, "SELECT id FROM tickets_team WHERE name = %s", "Online Banking")

    # Karen opens the outage ticket in the portal and gets its number.
    _signed_in(karen, "/accounts/login/", "karen@example.com")
    opened = {"help_topic": topic, "subject": SUBJECT, "body": OUTAGE}
    answer = karen.submit("/tickets/new/", "/tickets/new/", opened)
    assert answer.status == 200, answer.body[-500:]
    number = re.search(r"/tickets/([^/]+)/received/", answer.url).group(1)
    workspace = f"/agents/tickets/{number}/"

    # John assigns it to Online Banking; Jane takes it, answers and resolves it.
    _signed_in(john, "/agents/login/", "john")
    assign = {"team": team, "agent": "", "department": ""}
    assert john.submit(workspace, "/actions/assign/", assign).status == 200
    _signed_in(jane, "/agents/login/", "jane")
    assert jane.submit(workspace, "/actions/claim/").status == 200
    assert jane.submit(workspace, "/compose/", {"kind": "reply", "body": FIRST}).status == 200
    assert jane.submit(workspace, "/actions/resolve/", {"message": RESOLUTION}).status == 200

    # Karen reads the answers and confirms the fix: the ticket is closed.
    page = karen.get(f"/tickets/{number}/")
    assert FIRST in page.body and RESOLUTION in page.body
    assert karen.submit(f"/tickets/{number}/", f"/tickets/{number}/confirm/").status == 200
    assert stack.query("SELECT state FROM tickets_ticket WHERE number = %s", number) == [("closed",)]
    moves = [name for (name,) in stack.query(
        "SELECT t.name FROM tickets_tickettransition t JOIN tickets_ticket k ON k.id = t.ticket_id "
        "WHERE k.number = %s ORDER BY t.id", number,
    )]  # fmt: skip
    assert moves[-2:] == ["resolve", "confirm_fix"] or "resolve" in moves, moves

    # One browser session, served by both nodes: the session lives in the shared stores.
    print(f"requests by node: karen {dict(karen.nodes)}, john {dict(john.nodes)}, jane {dict(jane.nodes)}")
    for browser in (karen, jane):
        assert set(WEB_NODES) <= set(browser.nodes), f"{browser.who}: {dict(browser.nodes)}"


def test_a_throttle_counts_across_both_nodes(stack):
    """Sign-in failures for one name are counted in Redis, not per node: the sixth attempt is
    refused although each node saw only three."""
    import redis

    settings_limit = 5  # THROTTLE_LOGIN_FAILURES, left at its default by the stack
    intruder = Browser(stack.base, "intruder")
    username = f"nobody-{uuid.uuid4().hex[:6]}"
    statuses, nodes = [], []
    try:
        for attempt in range(settings_limit + 1):
            if attempt % 2:  # a GET and a POST each time would post to the same node every time
                intruder.get("/")
            wrong = {"username": username, "password": "wrong"}
            answer = intruder.submit("/agents/login/", "/agents/login/", wrong)
            statuses.append(answer.status)
            nodes.append(answer.node)
    finally:
        # The failures also count against 127.0.0.1, which the other scenarios sign in from.
        cache = redis.Redis.from_url(f"{REDIS}/{CACHE_DB}")
        for key in cache.scan_iter("*throttle:login-*"):
            cache.delete(key)
    print(f"sign-in failures: {list(zip(statuses, nodes, strict=True))}")
    assert statuses == [200] * settings_limit + [429], statuses
    assert set(nodes[:settings_limit]) == set(WEB_NODES), nodes


@pytest.mark.skipif(
    importlib.util.find_spec("redbeat") is None,
    reason="needs celery-redbeat (issue 19, item 5): without its lock each beat schedules the job",
)
def test_the_periodic_job_runs_once_per_interval_with_two_beats(stack):
    def runs() -> int:
        return sum(
            len(re.findall(r"Task tickets\.tasks\.run_timers\[[^]]+\] received", stack.log(w).read_text()))
            for w in WORKERS
        )

    time.sleep(TIMERS_EVERY_SECONDS * 2)  # both beats are up and past their first tick
    window = 10.0
    before = runs()
    time.sleep(window)
    counted = runs() - before
    expected = window / TIMERS_EVERY_SECONDS
    print(f"run_timers ran {counted} times in {window:.0f} s with two beats ({expected:.0f} expected)")
    assert expected - 2 <= counted <= expected + 1, counted


MAIL_TASK_RECEIVED = re.compile(r"Task (tickets\.tasks\.(?:notify_\w+|send_email))\[([^]]+)\] received")


def _mail_tasks_since(stack, worker: str, offset: int) -> list[str]:
    """The ids of the mail tasks a worker received after ``offset`` in its log (the settings
    keep Celery's "succeeded" lines out of the log, so what it holds is what it received)."""
    return [task for _, task in MAIL_TASK_RECEIVED.findall(stack.log(worker).read_text()[offset:])]


def _wait_quiet(stack, seconds: float = 30) -> None:
    """Wait until the broker's queue is empty and no task is held unacknowledged."""
    import redis

    broker = redis.Redis.from_url(f"{REDIS}/{BROKER_DB}")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if broker.llen("helpdesk") == 0 and broker.zcard("unacked_index") == 0:
            return
        time.sleep(0.3)


def test_a_worker_killed_in_a_mail_task_the_mail_goes_once(stack, sink):
    address = f"caller-{uuid.uuid4().hex[:6]}@example.com"
    _wait_quiet(stack)
    sink.state.stall_for = address
    offsets = {w: len(stack.log(w).read_text()) for w in WORKERS}
    api = Browser(stack.base, "integration")
    answer = api.request(
        "POST", "/api/v1/tickets/",
        json.dumps({"requester_email": address, "requester_name": "Caller", "subject": "Printer on fire",
                    "body": "Smoke from the printer on floor 3."}).encode(),
        {"Authorization": f"Bearer {stack.api_key}", "Content-Type": "application/json"},
    )  # fmt: skip
    assert answer.status == 201, answer.body

    assert sink.state.stalled.wait(60), "no mail to the requester reached the sink"
    holders: dict[str, list[str]] = {}
    deadline = time.monotonic() + 10
    while not holders and time.monotonic() < deadline:
        holders = {w: _mail_tasks_since(stack, w, offsets[w]) for w in WORKERS}
        holders = {w: tasks for w, tasks in holders.items() if tasks}
        time.sleep(0.2)
    assert len(holders) == 1, f"which worker holds the mail task? {holders}"
    ((holder, tasks),) = holders.items()
    print(f"{holder} holds mail task {tasks} with the SMTP sink stalled at DATA: SIGKILL")
    survivor = next(w for w in WORKERS if w != holder)
    survivor_offset = len(stack.log(survivor).read_text())
    stack.stop(holder, signal.SIGKILL)
    killed_at = time.monotonic()

    delivered = sink.wait_for(address, 1, 60)
    after = time.monotonic() - killed_at
    print(f"delivered to {address} {len(delivered)} time(s), {after:.1f} s after the kill")
    time.sleep(2)  # a second copy, had there been one, would come now
    assert len(sink.state.to(address)) == 1, sink.state.to(address)
    taken_over = _mail_tasks_since(stack, survivor, survivor_offset)
    assert tasks[-1] in taken_over, f"{survivor} did not take {tasks[-1]} over: {taken_over}"
    ids = sink.state.message_ids()
    assert len(ids) == len(set(ids)), "a message was delivered twice"


def test_stopping_a_web_node_mid_run_loses_nothing(stack):
    api = Browser(stack.base, "loop")
    tag = uuid.uuid4().hex[:8]
    accepted, failed, nodes = [], [], []
    stopper = threading.Timer(2.0, stack.stop, args=("web2",))
    stopper.start()
    try:
        for i in range(100):
            answer = api.request(
                "POST", "/api/v1/tickets/",
                json.dumps({"requester_email": f"loop-{tag}@example.com", "requester_name": "Loop",
                            "subject": f"loop {tag} {i}", "body": "Created while a node stops."}).encode(),
                {"Authorization": f"Bearer {stack.api_key}", "Content-Type": "application/json",
                 "Idempotency-Key": f"{tag}-{i}"},
            )  # fmt: skip
            nodes.append(answer.node)
            (accepted if answer.status == 201 else failed).append((i, answer.status, answer.body[:200]))
    finally:
        stopper.join(30)
    assert "stopped:web2" in stack.processes and stack.processes["stopped:web2"].returncode is not None
    last = max((i for i, node in enumerate(nodes) if node == "web2"), default=-1)
    by_node = {node: nodes.count(node) for node in sorted(set(nodes))}
    print(f"{len(accepted)} accepted, {len(failed)} failed; by node {by_node}; web2 served up to #{last}")
    assert not failed, failed
    assert {"web1", "web2"} <= set(nodes), "web2 was stopped before it served anything"
    assert nodes[-20:] == ["web1"] * 20, "requests still reached the stopped node"
    stored = stack.query("SELECT count(*) FROM tickets_ticket WHERE subject LIKE %s", f"loop {tag} %")[0][0]
    assert stored == len(accepted) == 100
