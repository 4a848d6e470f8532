# ruff: noqa: S310, S311, S603, S607
# S310: http to our own server only; S311: the load's random draws are no secrets;
# S603, S607: we start our own programs.
"""A soak: the whole stack under load for a few minutes, PostgreSQL restarted once, nothing lost.

    .venv/bin/python bench/soak.py [--minutes 3] [--clients 8] [--agents 4]

Run as root (the throwaway cluster runs as the ``postgres`` OS user, through ``runuser``). It
starts everything it needs in a temporary folder and removes it at the end, even on Ctrl-C:

- its own PostgreSQL cluster (initdb with the Debian binaries, fsync on, a free loopback port
  from 55432), so restarting it disturbs nobody; ``migrate``, ``load_lab``, ``collectstatic``;
- gunicorn (``--workers 3``) with DEBUG off, and a Celery worker on a queue of its own on
  Redis (redis://127.0.0.1:6379/7), so mail is queued, not sent inline (it goes to files);
- the load generator, in a process of its own (this script with ``--generate``; stdlib only,
  one cookie jar per browser): guests open tickets in the portal and reply to them (and
  confirm or reopen them when resolved), agents (john and jane, signed in to the console)
  claim, start work, ask the requester, reply, escalate, resolve, reopen and close the same
  tickets. Every text sent carries a unique token (``soak-x-<12 hex>``).

A third of the way in, the cluster is restarted (``pg_ctl restart -m fast``) and the load
goes on. Afterwards the database is checked: every request that got a success has its ticket
or thread entry exactly once, on the ticket it belongs to (a reply may land on the follow-up
of a closed ticket); nothing refused was stored. The figures are printed as Markdown and
written to bench/results-soak.md. Exits with 1 if anything was lost, doubled, misplaced or
stored though refused, or if a worker task failed for another reason than a lost connection.

``--conn-max-age 60`` runs the web processes with persistent connections
(DATABASE_CONN_MAX_AGE), ``--keep`` keeps the folder (logs, the records of every request).
Environment: BENCH_SRC names another tree to run (e.g. ``git archive HEAD`` unpacked),
BENCH_COMMIT the commit it is (shown in the results), as for bench/console.py.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("BENCH_SRC") or Path(__file__).resolve().parent.parent)
RESULTS = Path(__file__).resolve().parent / "results-soak.md"
INVOKED_FROM = Path.cwd()
PG_ROOT = Path("/usr/lib/postgresql")
REDIS_URL = "redis://127.0.0.1:6379/7"
AGENT_PASSWORD = "Password1"  # noqa: S105 - the lab's demo password (tickets/lab.py)
HTTP_TIMEOUT = 30
TOKEN_RE = re.compile(r"soak-[a-z]-[0-9a-f]{12}")
STALE_TEXTS = ("changed since you opened it", "changed while you were looking")


# == The load generator (its own process; stdlib only, no Django) =================================


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


# == The stack: a throwaway cluster, gunicorn, a Celery worker ====================================


def free_port(start: int) -> int:
    for port in range(start, start + 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port from {start}")


def pg_bin() -> Path:
    versions = sorted(
        (path for path in PG_ROOT.glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not versions:
        raise RuntimeError(f"no PostgreSQL binaries under {PG_ROOT}")
    return versions[-1]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Stack:
    args: argparse.Namespace
    tmp: Path = field(init=False)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    pg_port: int = 0
    web_port: int = 0
    pg_started: bool = False

    def __post_init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="helpdesk-soak-"))
        self.tmp.chmod(0o711)  # the postgres user reaches its cluster below
        self.pgbin = pg_bin()
        self.pgdata = self.tmp / "pg" / "data"
        self.queue = f"soak-{self.tag}"

    # -- PostgreSQL ---------------------------------------------------------------------------

    def as_postgres(self, *command: str, timeout: float = 120) -> None:
        """A PostgreSQL program as the postgres user; its output (and the server's) to a file."""
        with open(self.tmp / "pg_ctl.log", "ab") as log:
            subprocess.run(
                ["runuser", "-u", "postgres", "--", *command],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                check=True,
                timeout=timeout,
            )

    def pg_ctl(self, *command: str, timeout: float = 120) -> None:
        self.as_postgres(str(self.pgbin / "pg_ctl"), "-D", str(self.pgdata), *command, timeout=timeout)

    def start_postgres(self) -> None:
        (self.tmp / "pg").mkdir()
        shutil.chown(self.tmp / "pg", "postgres", "postgres")
        self.pg_port = free_port(55432)
        say(f"initdb {self.pgdata} (PostgreSQL {self.pgbin.parent.name}), port {self.pg_port}")
        self.as_postgres(
            str(self.pgbin / "initdb"), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        with open(self.pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                f"\n# bench/soak.py\nport = {self.pg_port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.tmp / 'pg'}'\nfsync = on\nsynchronous_commit = on\n"
                "logging_collector = on\nlog_directory = 'log'\n"
            )
        self.pg_ctl("-w", "-t", "60", "start")
        self.pg_started = True
        self.psql_admin("CREATE DATABASE helpdesk_soak")

    def connect(self, dbname: str = "helpdesk_soak", timeout: int = 5) -> Any:
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.pg_port, user="postgres", dbname=dbname, connect_timeout=timeout,
            autocommit=True,
        )  # fmt: skip

    def psql_admin(self, sql: str) -> None:
        with self.connect("postgres") as conn:
            conn.execute(sql)

    def postmaster_pid(self) -> str:
        return (self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]

    def restart_postgres(self) -> tuple[float, float, str]:
        """pg_ctl restart -m fast; returns when it was stopped and when it took connections."""
        before = self.postmaster_pid()
        down = time.time()
        self.pg_ctl("-m", "fast", "-w", "-t", "60", "restart")
        for _ in range(200):
            try:
                with self.connect(timeout=2) as conn:
                    conn.execute("SELECT 1")
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        up = time.time()
        return down, up, f"postmaster {before} → {self.postmaster_pid()}"

    # -- the application ----------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        ours = {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg_port}/helpdesk_soak",
            "DATABASE_CONN_MAX_AGE": str(self.args.conn_max_age),
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_QUEUE": self.queue,
            "EMAIL_URL": f"file:{self.tmp / 'mail'}",
            "HELPDESK_VAR_DIR": str(self.tmp / "var"),
            "STATIC_ROOT": str(self.tmp / "static"),
            "HELPDESK_BASE_URL": f"http://127.0.0.1:{self.web_port}",
            # Every guest comes from 127.0.0.1: the throttles would stop the soak, not test it.
            "THROTTLE_GUEST_TICKETS_PER_IP": "1000000",
            "THROTTLE_GUEST_TICKETS_PER_EMAIL": "1000000",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        }
        dropped = {"CACHE_URL", "DJANGO_SETTINGS_MODULE", "TIMERS_EVERY_SECONDS"}
        base = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("THROTTLE_")}
        return {**base, **ours}

    def manage(self, *command: str, timeout: float = 600) -> None:
        with open(self.tmp / "manage.log", "ab") as log:
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT, env=self.environment, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                check=True, timeout=timeout,
            )  # fmt: skip

    def spawn(self, name: str, command: list[str]) -> None:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - the child's; closed when it is
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.environment, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        log.close()

    def prepare_app(self) -> None:
        self.web_port = free_port(18600)
        self.environment = self.env()
        say("migrate, load_lab, collectstatic")
        self.manage("migrate", "--noinput")
        self.manage("load_lab")
        self.manage("collectstatic", "--noinput")

    def start_worker(self) -> None:
        self.spawn(
            "worker",
            [
                sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "-Q", self.queue,
                "-n", f"{self.queue}@%h", "--concurrency", str(self.args.worker_concurrency),
                "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
        )  # fmt: skip
        self.wait_for(lambda: b" ready." in (self.tmp / "worker.log").read_bytes(), "the Celery worker")

    def start_web(self) -> None:
        self.spawn(
            "gunicorn",
            [
                sys.executable, "-m", "gunicorn", "helpdesk.wsgi:application",
                "--bind", f"127.0.0.1:{self.web_port}", "--workers", str(self.args.workers),
                "--access-logfile", str(self.tmp / "access.log"), "--no-control-socket",
            ],
        )  # fmt: skip

        def up() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/", timeout=5) as answer:
                    return answer.status == 200
            except OSError:
                return False

        self.wait_for(up, "gunicorn")

    def wait_for(self, ready: Any, what: str, seconds: float = 90) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            if ready():
                return
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}: see {self.tmp / name}.log")
            time.sleep(0.3)
        raise RuntimeError(f"{what} was not ready after {seconds:.0f} s")

    def queue_length(self) -> int:
        import redis

        return int(redis.Redis.from_url(REDIS_URL).llen(self.queue))

    # -- clean-up -----------------------------------------------------------------------------

    def stop(self, name: str, grace: float) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.terminate()  # gunicorn and celery shut down their own children on SIGTERM
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the group is its id
            process.wait(10)

    def forget_queue(self) -> None:
        """Remove this run's keys from the Redis database (the queue, kombu's bindings)."""
        try:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match="*", count=500):
                if self.tag.encode() in key:
                    client.delete(key)
                elif key.startswith(b"_kombu.binding.") and client.type(key) == b"set":
                    ours = [m for m in client.smembers(key) if self.tag.encode() in m]
                    if ours:
                        client.srem(key, *ours)
            # kombu's sweep list of binding tables: drop the entries whose table is gone.
            deadlines = "_kombu.binding_deadlines"
            if client.type(deadlines) == b"zset":
                for exchange in client.zrange(deadlines, 0, -1):
                    if not client.exists(b"_kombu.binding." + exchange):
                        client.zrem(deadlines, exchange)
        except Exception as exc:  # noqa: BLE001 - clean-up goes on
            say(f"could not clean Redis: {exc}")

    def close(self, keep: bool) -> None:
        for name, grace in (("generator", 5), ("gunicorn", 20), ("worker", 30)):
            try:
                self.stop(name, grace)
            except Exception as exc:  # noqa: BLE001 - stop the others all the same
                say(f"could not stop {name}: {exc}")
        if self.pg_started:
            try:
                self.pg_ctl("-m", "fast", "-w", "-t", "30", "stop", timeout=60)
            except Exception:  # noqa: BLE001
                self.pg_ctl("-m", "immediate", "-w", "-t", "30", "stop", timeout=60)
        self.forget_queue()
        if keep:
            say(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# == The run and its checks ======================================================================


@dataclass
class Restart:
    down: float = 0.0
    up: float = 0.0
    note: str = ""

    def overlaps(self, record: dict[str, Any]) -> bool:
        return bool(self.down) and record["t0"] <= self.up and record["t1"] >= self.down


def drive(stack: Stack, args: argparse.Namespace) -> tuple[list[dict[str, Any]], Restart, float, float]:
    seconds = args.minutes * 60
    output = stack.tmp / "records.jsonl"
    start = time.time() + 1
    config = {
        "base": f"http://127.0.0.1:{stack.web_port}",
        "start": start,
        "seconds": seconds,
        "clients": args.clients,
        "agents": args.agents,
        "think": args.think,
        "pool": args.pool,
        "seed": args.seed,
        "run": stack.tag,
        "max_cycles": 100_000,
        "output": str(output),
    }
    say(
        f"load for {seconds:.0f} s: {args.clients} requesters, {args.agents} agents; "
        f"restart at {args.restart_at:.0%}"
    )
    stack.spawn(
        "generator", [sys.executable, str(Path(__file__).resolve()), "--generate", json.dumps(config)]
    )
    generator = stack.processes["generator"]
    restart = Restart()
    restart_at = start + seconds * args.restart_at
    while generator.poll() is None and time.time() < start + seconds + 3 * HTTP_TIMEOUT:
        if not restart.down and time.time() >= restart_at:
            say("restarting PostgreSQL (pg_ctl restart -m fast)")
            restart.down, restart.up, restart.note = stack.restart_postgres()
            say(f"  down to up: {restart.up - restart.down:.2f} s ({restart.note})")
        time.sleep(0.1)
    if generator.poll() is None:
        raise RuntimeError("the load generator did not stop")
    if generator.returncode != 0:
        raise RuntimeError(f"the load generator failed: see {stack.tmp / 'generator.log'}")
    stack.processes.pop("generator")
    end = time.time()
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line]
    return records, restart, start, end


# Where each token must be found: the kind of thread entry (exactly one), and the kinds of
# entry that repeat it by design (a requester's reopen is also told in the event).
ENTRY_KIND: dict[str, tuple[str, tuple[str, ...]]] = {
    "open": ("message", ()),
    "reply": ("message", ()),
    "reopen": ("message", ("event",)),  # the event only when it did reopen (not appended)
    "agent_request_info": ("reply", ()),
    "agent_resolve": ("reply", ()),
    "agent_reply": ("reply", ()),
    "agent_escalate": ("note", ()),
    "agent_close": ("event", ()),
    "agent_reopen": ("event", ()),
}


@dataclass
class Check:
    checked: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    misplaced: list[str] = field(default_factory=list)
    stored_refused: list[str] = field(default_factory=list)
    stored_after_error: Counter[str] = field(default_factory=Counter)
    errors_not_stored: Counter[str] = field(default_factory=Counter)
    tickets_opened: int = 0
    tickets_in_db: int = 0
    follow_ups: int = 0
    task_failures: Counter[str] = field(default_factory=Counter)

    @property
    def broken_tasks(self) -> int:
        """Worker tasks that failed for another reason than the restart's lost connections."""
        return sum(n for failure, n in self.task_failures.items() if "OperationalError" not in failure)

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.doubled or self.misplaced or self.stored_refused or self.broken_tasks)


def check(stack: Stack, records: list[dict[str, Any]]) -> Check:
    """Every success stored exactly once where it belongs; nothing refused stored at all."""
    with stack.connect() as conn:
        rows = conn.execute(
            "SELECT e.kind, e.body, t.number, parent.number FROM tickets_threadentry e "
            "JOIN tickets_ticket t ON t.id = e.ticket_id "
            "LEFT JOIN tickets_ticket parent ON parent.id = t.follow_up_of_id "
            "WHERE e.body LIKE '%soak-%'"
        ).fetchall()
        doubled_numbers = conn.execute(
            "SELECT number FROM tickets_ticket WHERE number IS NOT NULL GROUP BY number HAVING count(*) > 1"
        ).fetchall()
        result = Check(tickets_in_db=conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0])
    result.task_failures = worker_failures(stack.tmp / "worker.log")
    found: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for kind, body, number, parent in rows:
        for token in set(TOKEN_RE.findall(body)):
            found[token].append((kind, number, parent))
    result.doubled += [f"ticket number {number} twice" for (number,) in doubled_numbers]
    for record in records:
        token = record.get("token")
        if not token:
            continue
        entries = found.get(token, [])
        expected, extras = ENTRY_KIND[record["kind"]]
        main = [entry for entry in entries if entry[0] == expected]
        others = Counter(entry[0] for entry in entries if entry[0] != expected)
        if len(main) > 1 or any(n > 1 or kind not in extras for kind, n in others.items()):
            result.doubled.append(f"{record['kind']} {token}: {[entry[0] for entry in entries]}")
        if record["outcome"] != "ok":
            if entries and record["outcome"] in ("stale", "refused", "throttled", "not_found"):
                result.stored_refused.append(f"{record['kind']} {token} ({record.get('detail', '')})")
            elif entries:
                result.stored_after_error[f"{record['kind']} ({record['outcome']})"] += 1
            elif record["outcome"] in ("server_error", "conn_error", "unknown"):
                result.errors_not_stored[record["kind"]] += 1
            continue
        result.checked += 1
        result.tickets_opened += record["kind"] == "open"
        result.follow_ups += bool(record.get("follow_up"))
        if not main:
            result.lost.append(f"{record['kind']} {token} on #{record.get('landed') or record.get('target')}")
            continue
        _, number, parent = main[0]
        target, landed = record.get("target"), record.get("landed")
        if record["kind"] == "open":
            right = number == landed
        elif record["kind"] in ("reply", "reopen"):
            right = number == landed and (number == target or parent == target)
        else:
            right = number == target and all(entry[1] == target for entry in entries)
        if not right:
            result.misplaced.append(f"{record['kind']} {token}: on #{number}, expected #{landed or target}")
    return result


# -- the report ----------------------------------------------------------------------------------

ROWS = [
    ("open", "Portal: open a ticket (POST)"),
    ("reply", "Portal: requester reply (POST)"),
    ("confirm", "Portal: confirm the fix (POST)"),
    ("reopen", "Portal: reopen (POST)"),
    ("agent_claim", "Console: claim"),
    ("agent_start_work", "Console: start work"),
    ("agent_request_info", "Console: ask the requester"),
    ("agent_reply", "Console: reply"),
    ("agent_escalate", "Console: escalate"),
    ("agent_resolve", "Console: resolve"),
    ("agent_reopen", "Console: reopen"),
    ("agent_close", "Console: close"),
    ("portal_get", "Portal pages (GET)"),
    ("console_get", "Console pages (GET)"),
    ("login", "Console sign-in (GET, POST)"),
]
GROUP = {
    "form": "portal_get",
    "view": "portal_get",
    "follow": "portal_get",
    "agent_view": "console_get",
    "agent_follow": "console_get",
    "login_form": "login",
}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def request_table(records: list[dict[str, Any]], restart: Restart) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[GROUP.get(record["kind"], record["kind"])].append(record)
    lines = [
        "| Requests | sent | success | refused: ticket changed | refused: other | 404 | 5xx | no answer "
        "| outcome unknown | errors in the restart window | errors outside it | success ms median / p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    for key, label in [*ROWS, *[(k, k) for k in groups if k not in dict(ROWS)]]:
        rows = groups.get(key, [])
        if not rows:
            continue
        counts = Counter(record["outcome"] for record in rows)
        errors = [r for r in rows if r["outcome"] in ("server_error", "conn_error")]
        in_window = sum(restart.overlaps(r) for r in errors)
        times = [r["t1"] - r["t0"] for r in rows if r["outcome"] == "ok"]
        row = Counter(counts)
        row.update(sent=len(rows), refused=counts["throttled"], in_window=in_window)
        row["outside"] = len(errors) - in_window
        total.update(row)
        timing = f"{ms(statistics.median(times))} / {ms(p95(times))}" if times else ""
        lines.append(f"| {label} | " + " | ".join(f"{row[c]:,}" for c in COLUMNS) + f" | {timing} |")
    lines.append("| **All** | " + " | ".join(f"**{total[c]:,}**" for c in COLUMNS) + " | |")
    return lines


COLUMNS = [
    "sent",
    "ok",
    "stale",
    "refused",
    "not_found",
    "server_error",
    "conn_error",
    "unknown",
    "in_window",
    "outside",
]


def server_errors(log: Path) -> Counter[str]:
    """The exceptions behind the 500s, from Django's log in gunicorn's output."""
    found: Counter[str] = Counter()
    if not log.exists():
        return found
    last = None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Internal Server Error:"):
            if last:
                found[last] += 1
            last = "?"
        elif last is not None and re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupted)\b", line):
            last = re.sub(r"\d+", "N", line)[:110]
    if last:
        found[last] += 1
    return found


def worker_failures(log: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    if log.exists():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            failed = re.search(r"Task ([\w.]+)\[[^\]]+\] (raised unexpected|retry): (\w+)", line)
            if failed:
                found[f"{failed.group(1)}: {failed.group(2)} {failed.group(3)}"] += 1
    return found


def report(
    args: argparse.Namespace,
    stack: Stack,
    records: list[dict[str, Any]],
    restart: Restart,
    span: tuple[float, float],
    result: Check,
    drained: str,
    load_before: str,
) -> str:
    start, end = span
    errors = [r for r in records if r["outcome"] in ("server_error", "conn_error")]
    in_window = [r for r in errors if restart.overlaps(r)]
    stale_replies = sum(r["kind"] == "reply" and r["outcome"] == "stale" for r in records)
    mails = len(list((stack.tmp / "mail").glob("*"))) if (stack.tmp / "mail").exists() else 0
    five_hundreds = server_errors(stack.tmp / "gunicorn.log")
    failures = result.task_failures
    stored_after_error = (
        f"{sum(result.stored_after_error.values())} ({dict(result.stored_after_error) or '-'})"
    )
    errors_not_stored = sum(result.errors_not_stored.values())
    last_error = max((r["t1"] for r in in_window), default=restart.up)
    lines = [
        "# Soak: gunicorn, Celery and PostgreSQL restarted under load",
        "",
        f"Measured by `bench/soak.py` on {time.strftime('%Y-%m-%d %H:%M %Z')}: "
        f"`--minutes {args.minutes:g} --clients {args.clients} --agents {args.agents} "
        f"--workers {args.workers} --think {args.think:g} --seed {args.seed}`.",
        "",
        f"- Code under test: {ROOT} ({code_version()}); {os.cpu_count()} CPU cores, load average "
        f"(1 / 5 / 15 min) before {load_before}, after {load_average()}",
        f"- Python {platform.python_version()}; PostgreSQL {stack.pgbin.parent.name} (a cluster of its own, "
        f"fsync on), gunicorn {args.workers} sync workers, a Celery worker ({args.worker_concurrency} "
        f"process) on Redis; DATABASE_CONN_MAX_AGE={args.conn_max_age}",
        f"- Load: {end - start:.0f} s, {len(records):,} requests ({len(records) / (end - start):.1f}/s), "
        f"{result.tickets_opened:,} tickets opened, {result.follow_ups:,} follow-ups; "
        f"{result.tickets_in_db:,} tickets in the database (with the lab's)",
        f"- PostgreSQL restarted at {restart.down - start:.0f} s: down to accepting connections again "
        f"{restart.up - restart.down:.2f} s ({restart.note}); the last request it failed ended "
        f"{max(0.0, last_error - restart.up):.2f} s after it was back",
        "",
        *request_table(records, restart),
        "",
        "| Check | Figure |",
        "|---|---:|",
        f"| Successes checked in the database (each with its token) | {result.checked:,} |",
        f"| **Lost** (success, not in the database) | **{len(result.lost)}** |",
        f"| Doubled (a token in more than one entry, a number twice) | {len(result.doubled)} |",
        f"| Misplaced (on another ticket, or another kind of entry) | {len(result.misplaced)} |",
        f"| Stored though refused (4xx or a refusal shown) | {len(result.stored_refused)} |",
        f"| Errors (5xx, no answer) in the restart window | {len(in_window)} |",
        f"| Errors outside it | {len(errors) - len(in_window)} |",
        f'| Requester replies refused as stale (400 "ticket changed") | {stale_replies} |',
        f"| Stored although the client saw an error or could not tell | {stored_after_error} |",
        f"| Not stored, and the client saw an error (it may retry) | {errors_not_stored} |",
        f"| Mail written by the worker | {mails:,} ({drained}) |",
        f"| Worker tasks failed for another reason than a lost connection | {result.broken_tasks} |",
        "",
        "500s by exception (Django's log): "
        + (
            "none."
            if not five_hundreds
            else "; ".join(f"{n} × `{e}`" for e, n in five_hundreds.most_common())
        ),
        "",
        "Worker tasks failed or retried: "
        + ("none." if not failures else "; ".join(f"{n} × {e}" for e, n in failures.most_common())),
    ]
    outside = [r for r in errors if not restart.overlaps(r)]
    details = [
        *(f"- LOST {item}" for item in result.lost[:20]),
        *(f"- doubled {item}" for item in result.doubled[:20]),
        *(f"- misplaced {item}" for item in result.misplaced[:20]),
        *(f"- stored though refused: {item}" for item in result.stored_refused[:20]),
        *(
            f"- error outside the restart window: {r['kind']} {r['status']} at {r['t0'] - start:.1f} s "
            f"{r.get('detail', '')}"
            for r in outside[:20]
        ),
    ]
    refusals = Counter(
        (r["kind"], r.get("detail", "")[:90]) for r in records if r["outcome"] in ("stale", "refused")
    )
    if details:
        lines += ["", *details]
    if refusals:
        lines += ["", "Refusals (kind: message shown):", ""]
        lines += [f"- {n} × {kind}: {detail}" for (kind, detail), n in refusals.most_common(12)]
    return "\n".join(lines) + "\n"


def code_version() -> str:
    commit = os.environ.get("BENCH_COMMIT")
    if commit:
        return f"commit {commit}"
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {head}" + (" with uncommitted changes" if dirty else "")


def load_average() -> str:
    return " / ".join(f"{load:.1f}" for load in os.getloadavg())


def drain(stack: Stack, seconds: float = 90) -> str:
    """Let the worker finish the mail the load queued (bounded)."""
    deadline = time.time() + seconds
    quiet = 0
    while time.time() < deadline and quiet < 3:
        quiet = quiet + 1 if stack.queue_length() == 0 else 0
        time.sleep(1)
    left = stack.queue_length()
    return "queue drained" if left == 0 else f"{left} tasks still queued after {seconds:.0f} s"


class Interrupted(Exception):
    pass


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the load runs (default 3)")
    parser.add_argument("--clients", type=int, default=8, help="requesters, one thread each (default 8)")
    parser.add_argument(
        "--agents", type=int, default=4, help="agent sessions, john and jane in turn (default 4)"
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument(
        "--worker-concurrency", type=int, default=1, help="Celery worker processes (default 1)"
    )
    parser.add_argument(
        "--think", type=float, default=1.0, help="scale the pauses between requests (default 1)"
    )
    parser.add_argument("--pool", type=int, default=24, help="recent tickets the agents work on (default 24)")
    parser.add_argument("--restart-at", type=float, default=1 / 3, help="when to restart, share of the run")
    parser.add_argument("--conn-max-age", type=int, default=0, help="DATABASE_CONN_MAX_AGE (default 0)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the load (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, records)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown file to write")
    parser.add_argument("--generate", help=argparse.SUPPRESS)  # the load generator's process
    args = parser.parse_args()
    if args.generate:
        generate(json.loads(args.generate))
        return 0
    if os.geteuid() != 0:
        parser.error("run as root: the throwaway cluster is run as the postgres user through runuser")

    # Bounded: setup, the load, the drain and the checks; past it everything is stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGALRM, _interrupt)
    signal.alarm(int(args.minutes * 60) + 900)
    load_before = load_average()
    stack = Stack(args)
    try:
        stack.start_postgres()
        stack.prepare_app()
        stack.start_worker()
        stack.start_web()
        records, restart, start, end = drive(stack, args)
        if not restart.down:
            raise RuntimeError("the run ended before PostgreSQL was restarted")
        say("load done; letting the worker drain its queue")
        drained = drain(stack)
        result = check(stack, records)
        text = report(args, stack, records, restart, (start, end), result, drained, load_before)
    finally:
        signal.alarm(0)
        # The clean-up is bounded on its own; a second Ctrl-C must not leave a cluster behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say("cleaning up")
        stack.close(keep=args.keep)
    print(text)
    (INVOKED_FROM / args.output).write_text(text, encoding="utf-8")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
