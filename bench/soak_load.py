# ruff: noqa: S310, S311
# S310: http to our own server only; S311: the load's random draws are no secrets.
"""The soak's load generator (bench/soak.py), a process of its own: stdlib only, no Django.

    python bench/soak_load.py '<config as JSON>'     (or: bench/soak.py --generate '<JSON>')

Guests open tickets in the portal and reply to them (and confirm or reopen them when
resolved), agents (john and jane, signed in to the console) claim, start work, ask the
requester, reply, escalate, resolve, reopen and close the same tickets; one cookie jar per
browser. Every text sent carries a unique token (``soak-x-<12 hex>``). At the deadline the
records of every request are written, one JSON object a line, to the config's ``output``.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import random
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AGENT_PASSWORD = "Password1"  # noqa: S105 - the lab's demo password (tickets/lab.py)
HTTP_TIMEOUT = 30
TOKEN_RE = re.compile(r"soak-[a-z]-[0-9a-f]{12}")
STALE_TEXTS = ("changed since you opened it", "changed while you were looking")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as they are: their Location is the outcome."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Response:
    status: int  # 0: no answer (connection refused, reset, timeout)
    location: str
    text: str
    record: dict[str, Any]


class Browser:
    """One user agent: its own cookies, every request recorded, redirects not followed."""

    def __init__(self, load: Load, who: str) -> None:
        self.load, self.who = load, who
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def csrf(self) -> str:
        return next((cookie.value for cookie in self.jar if cookie.name == "csrftoken"), "")

    def request(self, kind: str, path: str, data: dict[str, str] | None = None, **fields: Any) -> Response:
        body = None
        if data is not None:
            body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self.csrf()}).encode()
        request = urllib.request.Request(self.load.base + path, data=body)
        record: dict[str, Any] = {"kind": kind, "who": self.who, **fields}
        location = text = ""
        record["t0"] = time.time()
        try:
            with self.opener.open(request, timeout=HTTP_TIMEOUT) as answer:
                status = answer.status
                text = answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, location = exc.code, exc.headers.get("Location", "")
            text = exc.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
            status = 0
            record["detail"] = f"{type(exc).__name__}: {exc}"[:160]
        record["t1"] = time.time()
        record["status"] = status
        record["outcome"] = _outcome(status)
        self.load.record(record)
        return Response(status, urllib.parse.urlsplit(location).path, text, record)

    def get(self, kind: str, path: str, **fields: Any) -> Response:
        return self.request(kind, path, **fields)

    def post(self, kind: str, path: str, data: dict[str, str], **fields: Any) -> Response:
        return self.request(kind, path, data, **fields)


def _outcome(status: int) -> str:
    if status == 0:
        return "conn_error"
    if status >= 500:
        return "server_error"
    if status == 429:
        return "throttled"
    if status == 404:
        return "not_found"
    if status >= 400:
        return "refused"
    return "ok"


def _alert(text: str, kind: str = "danger") -> str:
    found = re.search(rf'class="alert alert-{kind}[^"]*"[^>]*>(.*?)</div>', text, re.S)
    if found is None:  # a form's own errors (crispy's non-field errors and invalid feedback)
        found = re.search(
            r'class="(?:alert alert-block alert-danger|invalid-feedback)[^"]*"[^>]*>(.*?)</', text, re.S
        )
    return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip()[:160] if found else ""


def _refusal(record: dict[str, Any], text: str) -> None:
    """A refusal shown on the page: stale (someone changed the ticket) or another reason."""
    stale = any(words in text for words in STALE_TEXTS)
    record["outcome"] = "stale" if stale else "refused"
    record["detail"] = _alert(text)


def _options(text: str, select_id: str) -> list[str]:
    found = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', text, re.S)
    return re.findall(r'<option value="(\d+)"', found.group(1)) if found else []


def _version(text: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', text)
    return found.group(1) if found else ""


def _token(letter: str) -> str:
    return f"soak-{letter}-{uuid.uuid4().hex[:12]}"


class Load:
    """Shared by the generator's threads: the clock, the records, the tickets in play."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.base = config["base"]
        self.deadline = config["start"] + config["seconds"]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        # The tickets agents work on: the most recently opened ones (and follow-ups).
        self.pool: deque[str] = deque(maxlen=config["pool"])

    def running(self) -> bool:
        return not self.stop.is_set() and time.time() < self.deadline

    def pause(self, rng: random.Random, low: float, high: float) -> None:
        wait = rng.uniform(low, high) * self.config["think"]
        self.stop.wait(max(0.0, min(wait, self.deadline - time.time())))

    def record(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.records.append(record)

    def in_play(self, number: str) -> None:
        with self.lock:
            if number not in self.pool:
                self.pool.append(number)

    def out_of_play(self, number: str) -> None:
        with self.lock:
            if number in self.pool:
                self.pool.remove(number)

    def pick(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.pool) if self.pool else None


class Requester:
    """A guest in the portal: opens tickets, then writes on them from the same browser."""

    KEEP = 3  # tickets a requester follows at a time

    def __init__(self, load: Load, index: int) -> None:
        self.load, self.index = load, index
        self.rng = random.Random(load.config["seed"] * 1000 + index)
        self.browser = Browser(load, f"requester{index}")
        self.email = f"soak-{load.config['run']}-{index}@example.com"
        self.mine: deque[str] = deque(maxlen=self.KEEP)
        self.limit = load.config["max_cycles"]

    def run(self) -> None:
        for _ in range(self.limit):
            if not self.load.running():
                return
            filling = len(self.mine) < self.KEEP and self.rng.random() < 0.3
            if not self.mine or filling or self.rng.random() < 0.08:  # now and then a new problem
                self.open_ticket()
            else:
                self.write(self.rng.choice(self.mine))
            self.load.pause(self.rng, 0.2, 0.8)

    def follow(self, answer: Response, kind: str = "follow") -> Response | None:
        """What the browser does with a redirect: fetch the page it points to."""
        if answer.status in (301, 302, 303) and answer.location:
            return self.browser.get(kind, answer.location)
        return None

    def open_ticket(self) -> None:
        form = self.browser.get("form", "/tickets/new/")
        topics = _options(form.text, "id_help_topic") if form.status == 200 else []
        if not topics:
            return
        self.load.pause(self.rng, 0.3, 1.2)  # typing
        token = _token("t")
        answer = self.browser.post(
            "open",
            "/tickets/new/",
            {
                "name": f"Soak Requester {self.index}",
                "email": self.email,
                "phone": "",
                "help_topic": self.rng.choice(topics),
                "subject": f"Soak ticket {token[-6:]}: the printer on floor {self.rng.randint(1, 9)}",
                "body": f"It stopped printing this morning. Reference {token}.",
            },
            token=token,
        )
        received = re.fullmatch(r"/tickets/(\d+)/received/", answer.location)
        if answer.status == 302 and received:
            answer.record["landed"] = received.group(1)
            self.mine.append(received.group(1))
            self.load.in_play(received.group(1))
            self.follow(answer)
        elif answer.status == 200:  # the form again: refused, with the reason on it
            _refusal(answer.record, answer.text)
        elif answer.status < 400:
            answer.record.update(outcome="refused", detail=f"{answer.status} to {answer.location}")

    def write(self, number: str) -> None:
        page = self.browser.get("view", f"/tickets/{number}/", target=number)
        if page.status == 404:
            self.mine.remove(number)
            return
        if page.status != 200:
            return
        # Older pages carry the version they showed in the confirm and reopen forms.
        version = {"version": _version(page.text)} if _version(page.text) else {}
        resolved = f'action="/tickets/{number}/confirm/"' in page.text
        self.load.pause(self.rng, 0.3, 1.2)  # reading, typing
        draw = self.rng.random()
        if resolved and draw < 0.25:
            answer = self.browser.post("confirm", f"/tickets/{number}/confirm/", version, target=number)
            self.outcome_on_page(answer, number)
        elif resolved and draw < 0.45:
            token = _token("o")
            answer = self.browser.post(
                "reopen",
                f"/tickets/{number}/reopen/",
                {**version, "reason": f"It stopped again ({token})."},
                token=token,
                target=number,
            )
            self.outcome_on_page(answer, number)
        else:
            token = _token("r")
            body = f"More detail: it shows error {self.rng.randint(10, 99)} ({token})."
            answer = self.browser.post(
                "reply", f"/tickets/{number}/reply/", {"body": body}, token=token, target=number
            )
            if answer.status == 302 and self.landed(answer, number):
                self.follow(answer)
            elif answer.status == 400:
                _refusal(answer.record, answer.text)
            elif answer.status < 400:
                answer.record.update(outcome="refused", detail=f"{answer.status} to {answer.location}")

    def landed(self, answer: Response, number: str) -> bool:
        """Where a message went: this ticket, or a follow-up when it was closed."""
        landed = re.fullmatch(r"/tickets/(\d+)/", answer.location)
        if landed is None:
            return False
        answer.record["landed"] = landed.group(1)
        if landed.group(1) != number:
            answer.record["follow_up"] = True
            self.mine.remove(number)
            self.mine.append(landed.group(1))
            self.load.in_play(landed.group(1))
        return True

    def outcome_on_page(self, answer: Response, number: str) -> None:
        """Confirm and reopen redirect either way; the page they lead to says what happened."""
        if answer.status == 400:
            _refusal(answer.record, answer.text)
        if answer.status != 302:
            return
        self.landed(answer, number)
        page = self.follow(answer)
        if page is None or page.status != 200:
            answer.record["outcome"] = "unknown"
        elif 'class="alert alert-success' not in page.text:
            _refusal(answer.record, page.text)


class Agent:
    """An agent in the console, moving the tickets in play with the buttons it is offered."""

    # The moves made, and how often when offered (assign and cancel are left out); an open
    # ticket offers only claim, so most tickets are taken, then worked on and closed.
    WEIGHTS = {
        "claim": 1,
        "start_work": 2,
        "request_info": 2,
        "reply": 1,
        "escalate": 1,
        "resolve": 4,
        "reopen": 1,
        "close": 4,
    }

    def __init__(self, load: Load, index: int, username: str) -> None:
        self.load, self.username = load, username
        self.rng = random.Random(load.config["seed"] * 1000 + 500 + index)
        self.browser = Browser(load, f"{username}{index}")
        self.limit = load.config["max_cycles"]

    def sign_in(self) -> bool:
        for _ in range(20):
            if not self.load.running():
                return False
            if self.browser.get("login_form", "/agents/login/").status == 200:
                answer = self.browser.post(
                    "login", "/agents/login/", {"username": self.username, "password": AGENT_PASSWORD}
                )
                if answer.status == 302 and answer.location == "/agents/":
                    return True
            self.load.pause(self.rng, 0.5, 1.0)
        return False

    def run(self) -> None:
        if not self.sign_in():
            return
        for _ in range(self.limit):
            if not self.load.running():
                return
            number = self.load.pick(self.rng)
            if number is None:
                self.load.pause(self.rng, 0.2, 0.5)
                continue
            self.move(number)
            self.load.pause(self.rng, 0.1, 0.5)

    def move(self, number: str) -> None:
        page = self.browser.get("agent_view", f"/agents/tickets/{number}/", target=number)
        if page.status == 302 and page.location.startswith("/agents/login/"):
            self.sign_in()
            return
        if page.status != 200:
            return
        offered = set(re.findall(rf'action="/agents/tickets/{number}/actions/(\w+)/"', page.text))
        if f'action="/agents/tickets/{number}/compose/"' in page.text:
            offered.add("reply")
        choices = [name for name in self.WEIGHTS if name in offered]
        if not choices:
            if 'state-closed"' in page.text:
                self.load.out_of_play(number)
            return
        name = self.rng.choices(choices, weights=[self.WEIGHTS[n] for n in choices])[0]
        version = _version(page.text)
        self.load.pause(self.rng, 0.3, 1.2)  # reading the thread, typing
        token = _token("a") if name not in ("claim", "start_work") else ""
        text = f"{self.username}: {name.replace('_', ' ')} ({token})"
        data: dict[str, str] = {"version": version}
        path = f"/agents/tickets/{number}/actions/{name}/"
        if name in ("request_info", "resolve"):
            data["message"] = text
        elif name in ("close", "reopen"):
            data["reason"] = text
        elif name == "escalate":
            targets = [("team", value) for value in _options(page.text, "escalate-team")]
            targets += [("department", value) for value in _options(page.text, "escalate-department")]
            if not targets:
                return
            target = self.rng.choice(targets)
            data.update({target[0]: target[1], "summary": text})
        elif name == "reply":
            data = {"kind": "reply", "body": text}
            path = f"/agents/tickets/{number}/compose/"
        fields = {"target": number, **({"token": token} if token else {})}
        answer = self.browser.post(f"agent_{name}", path, data, **fields)
        if answer.status == 400:
            _refusal(answer.record, answer.text)
        if answer.status != 302:
            return
        after = self.browser.get("agent_follow", answer.location)
        if after.status != 200:
            answer.record["outcome"] = "unknown"
        elif 'class="alert alert-success' not in after.text:
            _refusal(answer.record, after.text)


def generate(config: dict[str, Any]) -> None:
    """The load generator's process: run the clients until the deadline, write the records."""
    load = Load(config)
    signal.signal(signal.SIGTERM, lambda *_: load.stop.set())
    clients: list[Any] = [Requester(load, index) for index in range(config["clients"])]
    clients += [Agent(load, index, ("john", "jane")[index % 2]) for index in range(config["agents"])]
    threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    last = time.time()
    while any(thread.is_alive() for thread in threads) and time.time() < load.deadline + 2 * HTTP_TIMEOUT:
        time.sleep(0.5)
        if time.time() - last >= 30:
            last = time.time()
            with load.lock:
                done = list(load.records)
            errors = sum(r["outcome"] in ("server_error", "conn_error") for r in done)
            print(f"  load: {len(done):,} requests, {errors} errors", file=sys.stderr, flush=True)
    load.stop.set()
    with load.lock:
        lines = [json.dumps(record) for record in load.records]
    Path(config["output"]).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    generate(json.loads(sys.argv[1]))
