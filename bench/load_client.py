"""bench/load.py's client: one thread and one kept connection per client (http.client, stdlib),
each running one scenario's operation in a loop until the deadline, as fast as answers come.

An operation is one page, or one creation (the API's POST, or the portal's GET of the form and
POST of it); its time is the whole operation's. Every creation carries a unique marker
(``load-<letter>-<12 hex>``) in its subject and body, for the check of the database.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

PASSWORD = "Password1"  # noqa: S105 - the lab's demo password (tickets/lab.py)
TIMEOUT = 30
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TOPIC_SELECT = re.compile(r'<select[^>]*id="id_help_topic"[^>]*>(.*?)</select>', re.S)


class Failed(Exception):
    """An answer that is not the operation's success: its label is what the report lists."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return urllib.parse.urlsplit(self.headers.get("Location", "")).path


class Client:
    """One browser (or integration): its connection, its cookies."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None) -> None:
        self.port = port
        self.cookies = dict(cookies or {})
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        self.requests = 0

    def fresh(self) -> None:
        """A new connection: a kept one may have been closed by the server while idle."""
        self.conn.close()

    def request(self, method: str, path: str, body: bytes | None = None, **headers: str) -> Answer:
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.requests += 1
        try:
            self.conn.request(
                method, path, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()}
            )
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            raise Failed(f"no answer ({type(exc).__name__})") from exc
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return Answer(response.status, response.headers, data)

    def get(self, path: str) -> Answer:
        answer = self.request("GET", path)
        if answer.status != 200:
            raise Failed(str(answer.status))
        return answer

    def post_form(self, path: str, fields: dict[str, str], page: Answer) -> Answer:
        found = CSRF_INPUT.search(page.text)
        data = {**fields, "csrfmiddlewaretoken": found.group(1) if found else ""}
        return self.request(
            "POST",
            path,
            urllib.parse.urlencode(data).encode(),
            Content_Type="application/x-www-form-urlencoded",
        )

    def sign_in(self, login_path: str, username: str) -> None:
        page = self.get(login_path)
        answer = self.post_form(login_path, {"username": username, "password": PASSWORD}, page)
        if answer.status != 302:
            raise RuntimeError(f"{username} could not sign in at {login_path}: {answer.status}")


def marker(letter: str) -> str:
    return f"load-{letter}-{uuid.uuid4().hex[:12]}"


# -- the operations: each returns (marker, ticket number) for a creation, else None -----------------


def api_create(client: Client, key: str) -> tuple[str, str]:
    token = marker("a")
    body = {
        "requester_email": "monitor@example.com",
        "requester_name": "Monitoring",
        "subject": f"Health check failed ({token})",
        "body": f"Health check failed on 3 of 3 nodes. Reference {token}.",
    }
    answer = client.request(
        "POST", "/api/v1/tickets/", json.dumps(body).encode(), Authorization=f"Bearer {key}",
        Content_Type="application/json", Idempotency_Key=str(uuid.uuid4()),
    )  # fmt: skip
    if answer.status != 201:
        raise Failed(str(answer.status))
    return token, str(json.loads(answer.body)["number"])


def portal_create(client: Client) -> tuple[str, str]:
    """Karen, signed in, opens a ticket: the form (its CSRF token, the help topics), then POST."""
    form = client.get("/tickets/new/")
    select = TOPIC_SELECT.search(form.text)
    topics = re.findall(r'<option value="(\d+)"', select.group(1)) if select else []
    if not topics:
        raise Failed("form without help topics")
    token = marker("p")
    fields = {
        "help_topic": topics[0],
        "phone": "",
        "subject": f"The printer on floor 3 ({token})",
        "body": f"It stopped printing this morning. Reference {token}.",
    }
    answer = client.post_form("/tickets/new/", fields, form)
    received = re.fullmatch(r"/tickets/(\w+)/received/", answer.location)
    if answer.status != 302 or received is None:
        raise Failed(f"{answer.status}: the form again" if answer.status == 200 else str(answer.status))
    return token, received.group(1)


def page(path: str) -> Callable[[Client], None]:
    def get(client: Client) -> None:
        client.get(path)

    return get


# -- running one scenario ---------------------------------------------------------------------


@dataclass
class Outcome:
    """One scenario's run at one concurrency."""

    name: str
    clients: int
    seconds: float = 0.0
    operations: int = 0
    requests: int = 0
    latencies: list[float] = field(default_factory=list)  # successes only, seconds
    errors: Counter[str] = field(default_factory=Counter)
    created: dict[str, str] = field(default_factory=dict)  # marker: number answered
    client_cpu: float = 0.0  # seconds of this process's CPU during the run

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(name: str, clients: list[Client], operation: Callable[[Client], object], seconds: float) -> Outcome:
    """Every client runs ``operation`` back to back for ``seconds``; an operation that starts
    before the deadline is finished and counted."""
    outcome = Outcome(name, len(clients))
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def loop(client: Client) -> None:
        times: list[float] = []
        errors: Counter[str] = Counter()
        created: dict[str, str] = {}
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                result = operation(client)
            except Failed as exc:
                errors[exc.label] += 1
                continue
            except Exception as exc:  # noqa: BLE001 - an unreadable answer is an error too
                errors[f"{type(exc).__name__}"] += 1
                continue
            times.append(time.perf_counter() - began)
            if isinstance(result, tuple):
                created[result[0]] = result[1]
        with lock:
            outcome.latencies += times
            outcome.errors.update(errors)
            outcome.created.update(created)

    for client in clients:
        client.fresh()
        client.requests = 0
    cpu = time.process_time()
    threads = [threading.Thread(target=loop, args=(client,), daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 3 * TIMEOUT)
    outcome.seconds = time.perf_counter() - start
    outcome.client_cpu = time.process_time() - cpu
    outcome.operations = len(outcome.latencies) + sum(outcome.errors.values())
    outcome.requests = sum(client.requests for client in clients)
    return outcome
