# ruff: noqa: S310, S603, S607
# S310: http to our own server only; S603, S607: we start our own programs.
"""The soak's stack (bench/soak.py): a throwaway PostgreSQL cluster, gunicorn and a Celery
worker, started in a temporary folder and removed with everything in it at the end."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("BENCH_SRC") or Path(__file__).resolve().parent.parent)
PG_ROOT = Path("/usr/lib/postgresql")
REDIS_URL = "redis://127.0.0.1:6379/7"


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
