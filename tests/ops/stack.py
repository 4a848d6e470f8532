# ruff: noqa: S603, S310
# S603: we start our own programs; S310: http to our own servers on loopback only.
"""The multi-node stack on loopback for tests/ops/test_stack.py: a PostgreSQL database of its
own, two gunicorn nodes behind HAProxy, two Celery workers and two Celery beats, every process
in a session of its own with its output in a log file, all stopped and removed at the end."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"
BROKER_DB, CACHE_DB, BEAT_DB = 8, 9, 10
WEB_NODES = ("web1", "web2")
WORKERS = ("w1", "w2")
BEATS = ("beat1", "beat2")
TIMERS_EVERY_SECONDS = 2
VISIBILITY_TIMEOUT = 6
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin") or "haproxy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(ready: Callable[[], bool], what: str, seconds: float = 60, stack: Stack | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        if stack:
            stack.check_alive()
        time.sleep(0.2)
    raise AssertionError(f"{what}: not so after {seconds:.0f} s")


def http_status(url: str, timeout: float = 3) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


class Stack:
    def __init__(self, tmp: Path, smtp_port: int) -> None:
        self.tmp = tmp
        self.database = f"h4_stack_{os.getpid()}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports = {name: free_port() for name in (*WEB_NODES, "haproxy")}
        self.base = f"http://127.0.0.1:{self.ports['haproxy']}"
        self.smtp_port = smtp_port
        # What a node needs to answer requests (its database, migrations, cache, broker).
        self.health_path = "/readyz?scope=serving"
        self.api_key = ""
        self.environment = self._environment()

    # -- the environment every process shares -------------------------------------------------

    def _environment(self) -> dict[str, str]:
        ours = {
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": f"{PG}/{self.database}",
            "CACHE_URL": f"{REDIS}/{CACHE_DB}",
            "CELERY_BROKER_URL": f"{REDIS}/{BROKER_DB}",
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            # celery-redbeat's lock and schedule, when the settings use it.
            "REDBEAT_REDIS_URL": f"{REDIS}/{BEAT_DB}",
            "CELERY_REDBEAT_REDIS_URL": f"{REDIS}/{BEAT_DB}",
            "TIMERS_EVERY_SECONDS": str(TIMERS_EVERY_SECONDS),
            # The stalled delivery must outlast the time it takes the test to kill its worker.
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp_port}?timeout=60",
            "HELPDESK_VAR_DIR": str(self.tmp / "var"),
            "STATIC_ROOT": str(self.tmp / "static"),
            "HELPDESK_BASE_URL": self.base,
            "LOG_LEVEL": "INFO",
        }
        base = {
            k: v for k, v in os.environ.items()
            if not k.startswith(("THROTTLE_", "CELERY_", "DATABASE_", "REDBEAT_", "HELPDESK_", "EMAIL_"))
            and k not in {"CACHE_URL", "LOG_FORMAT"}
        }  # fmt: skip
        return {**base, **ours}

    # -- processes -----------------------------------------------------------------------------

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def run(self, *command: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, *command], cwd=ROOT, env=self.environment, capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        with open(self.log("manage"), "a") as log:
            log.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}\n")
        assert result.returncode == 0, f"{command}: {result.stderr[-2000:]}"
        return result.stdout

    def spawn(self, name: str, command: list[str], **env: str) -> None:
        with open(self.log(name), "ab") as log:
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env={**self.environment, **env}, stdout=log, stderr=log,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None and not name.startswith("stopped:"):
                raise AssertionError(f"{name} exited with {process.returncode}; see {self.log(name)}")

    def stop(self, name: str, sig: int = signal.SIGTERM, grace: float = 20) -> None:
        """Signal the process (SIGKILL: its whole group) and wait for it to go."""
        process = self.processes.pop(name, None)
        if process is None:
            return
        self.processes[f"stopped:{name}"] = process
        if process.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: the group is its id
            else:
                process.send_signal(sig)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def tails(self, lines: int = 30) -> str:
        out = []
        for path in sorted(self.tmp.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"----- {path.name} (last {len(text)} lines) -----\n" + "\n".join(text))
        return "\n".join(out)

    # -- start and stop ------------------------------------------------------------------------

    def flush_redis(self) -> None:
        import redis

        for db in (BROKER_DB, CACHE_DB, BEAT_DB):
            redis.Redis.from_url(f"{REDIS}/{db}").flushdb()

    def admin_sql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def query(self, sql: str, *params: object) -> list[tuple]:
        import psycopg

        with psycopg.connect(f"{PG}/{self.database}", autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def start(self) -> None:
        self.flush_redis()
        self.admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self.admin_sql(f'CREATE DATABASE "{self.database}"')
        self.run("manage.py", "migrate", "--noinput")
        self.run("manage.py", "load_lab")
        self.run("manage.py", "collectstatic", "--noinput")
        self.api_key = self.run(
            "manage.py", "shell", "-c",
            "from django.contrib.auth import get_user_model; from tickets.apikeys import apikey_create; "
            "print(apikey_create(name='stack', owner=get_user_model().objects.get(username='admin'), "
            "rate_limit=100000)[1])",
        ).strip().splitlines()[-1]  # fmt: skip
        for node in WEB_NODES:
            self.start_web(node)
        self.start_haproxy()
        for worker in WORKERS:
            self.spawn(
                worker,
                [
                    sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "-n", f"{worker}@%h",
                    "--concurrency", "1", "-O", "fair", "--loglevel", "INFO",
                    "--without-gossip", "--without-mingle",
                ],
            )  # fmt: skip
        for beat in BEATS:
            self.spawn(
                beat,
                [
                    sys.executable, "-m", "celery", "-A", "helpdesk", "beat", "--loglevel", "INFO",
                    "--schedule", str(self.tmp / f"{beat}-schedule"),
                ],
            )  # fmt: skip
        for worker in WORKERS:
            log = self.log(worker)
            wait_for(lambda log=log: b" ready." in log.read_bytes(), f"worker {worker} ready", 60, self)
        wait_for(self.both_nodes_up, "HAProxy sees both web nodes up", 30, self)

    def start_web(self, node: str) -> None:
        self.spawn(
            node,
            [
                sys.executable, "-m", "gunicorn", "-c", "python:helpdesk.gunicorn_conf",
                "helpdesk.wsgi:application",
                "--bind", f"127.0.0.1:{self.ports[node]}", "--workers", "2", "--timeout", "60",
                "--graceful-timeout", "20", "--access-logfile", "-", "--no-control-socket",
            ],
            HELPDESK_NODE=node,
        )  # fmt: skip
        url = f"http://127.0.0.1:{self.ports[node]}/healthz"
        wait_for(lambda: http_status(url) == 200, f"{node} answers", 60, self)

    def start_haproxy(self) -> None:
        servers = "\n".join(f"    server {node} 127.0.0.1:{self.ports[node]} check" for node in WEB_NODES)
        config = self.tmp / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 512
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A request that could not reach its node (stopped, restarting), or that a stopping node cut
    # short (an incomplete answer), goes to another one.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response junk-response response-timeout
    # A retry sends the request again: HAProxy holds its whole body before the first try.
    option http-buffer-request

frontend helpdesk
    bind 127.0.0.1:{self.ports["haproxy"]}
    default_backend web
    # A write that may have reached a node is sent again only when it says it is safe to
    # (an API request with an Idempotency-Key); a refused connection is retried always.
    http-request disable-l7-retry if !METH_GET !METH_HEAD !{{ req.hdr(Idempotency-Key) -m found }}

backend web
    balance roundrobin
    option httpchk
    http-check send meth GET uri {self.health_path} ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
{servers}
"""
        )
        subprocess.run([HAPROXY, "-c", "-q", "-f", str(config)], check=True, timeout=30)
        self.spawn("haproxy", [HAPROXY, "-db", "-f", str(config)])

    def both_nodes_up(self) -> bool:
        seen = set()
        for _ in range(6):
            request = urllib.request.Request(f"{self.base}/agents/login/")
            try:
                with urllib.request.urlopen(request, timeout=3) as answer:
                    seen.add(answer.headers.get("X-Served-By"))
            except OSError:
                return False
        return seen >= set(WEB_NODES)

    def close(self) -> None:
        for name in [name for name in self.processes if not name.startswith("stopped:")]:
            self.stop(name, grace=15)
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        try:
            self.flush_redis()
        finally:
            self.admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            shutil.rmtree(self.tmp / "static", ignore_errors=True)
