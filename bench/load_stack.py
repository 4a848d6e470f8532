# ruff: noqa: S603
# S603: we start our own programs (manage.py, seed.py, gunicorn, celery).
"""bench/load.py's stack: the shared PostgreSQL (database ``helpdesk_bench_load``, seeded),
gunicorn with the bench's settings (the floor view), a Celery worker on Redis db 12, the
throttle counters in Redis db 13; started in a temporary folder, stopped and removed at the end.

Built on the soak's ``Stack`` (bench/soak_stack.py) for starting, watching and stopping
processes; the soak's own cluster is not used.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from soak_stack import ROOT, Stack, free_port, say

DATABASE = "helpdesk_bench_load"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
BROKER_URL = "redis://127.0.0.1:6379/12"
CACHE_URL = "redis://127.0.0.1:6379/13"
BENCH = Path(__file__).resolve().parent
# Throttles an honest load from one address and one account would trip: raised, not removed
# (the counting still runs, in Redis, as in production).
RAISED = "1000000"


class LoadStack(Stack):
    def __init__(self, args: argparse.Namespace) -> None:  # the dataclass's fields, set by hand
        self.args = args
        self.tag = uuid.uuid4().hex[:8]
        self.processes = {}
        self.pg_port = 5432
        self.web_port = 0
        self.pg_started = False  # the shared server: never stopped by us
        self.tmp = Path(tempfile.mkdtemp(prefix="helpdesk-load-"))
        self.queue = f"load-{self.tag}"

    def env(self) -> dict[str, str]:
        ours = {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": DATABASE_URL,
            "DATABASE_CONN_MAX_AGE": str(self.args.conn_max_age),
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_QUEUE": self.queue,
            "CACHE_URL": CACHE_URL,
            "EMAIL_URL": "locmem:",  # the worker renders every mail and keeps it in memory
            "HELPDESK_VAR_DIR": str(self.tmp / "var"),
            "STATIC_ROOT": str(self.tmp / "static"),
            "HELPDESK_BASE_URL": f"http://127.0.0.1:{self.web_port}",
            "LOG_LEVEL": "WARNING",
            "THROTTLE_GUEST_TICKETS_PER_IP": RAISED,
            "THROTTLE_GUEST_TICKETS_PER_EMAIL": RAISED,
            "THROTTLE_LOGIN_FAILURES": RAISED,
            "API_SESSION_RATE_LIMIT": RAISED,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH}",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "benchsettings",
        }
        dropped = {"CACHE_URL", "DJANGO_SETTINGS_MODULE", "TIMERS_EVERY_SECONDS", "DATABASE_URL"}
        base = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("THROTTLE_")}
        return {**base, **ours}

    # -- the database --------------------------------------------------------------------------

    def prepare_app(self) -> None:
        """Create the database if need be, seed it (seed.py migrates and loads the lab), make
        the API key, collect the static files (the manifest the pages' {% static %} needs)."""
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone() is None:
                conn.execute(f"CREATE DATABASE {DATABASE}")
        self.web_port = free_port(18700)
        self.environment = self.env()
        say(f"seed {self.args.seed:,} tickets into {DATABASE}")
        # Seeded with tasks run inline (no broker): nothing of the seed's lands in our queue.
        seed_env = {k: v for k, v in self.environment.items() if k != "CELERY_BROKER_URL"}
        with open(self.tmp / "seed.log", "ab") as log:
            subprocess.run(
                [sys.executable, str(BENCH / "seed.py"), str(self.args.seed)],
                cwd=ROOT, env=seed_env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, check=True,
                timeout=600,
            )  # fmt: skip
        self.manage("collectstatic", "--noinput")
        self.api_key = self.make_key()

    def make_key(self) -> str:
        """An integration's key (scope create, owned by john) with a rate limit it never meets."""
        code = (
            "from django.contrib.auth import get_user_model; from tickets import apikeys; "
            "from tickets.models import ApiKey; "
            "ApiKey.objects.filter(name__startswith='bench-load').delete(); "
            "_, raw = apikeys.apikey_create(name='bench-load', "
            "owner=get_user_model().objects.get(username='john'), rate_limit=10**9); print(raw)"
        )
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT, env=self.environment, capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        return out.stdout.strip().splitlines()[-1]

    def connect_db(self):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(DATABASE_URL, autocommit=True)

    # -- the processes -------------------------------------------------------------------------

    def start_web(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "helpdesk.wsgi:application",
            "--bind", f"127.0.0.1:{self.web_port}", "--workers", str(self.args.workers),
            "--worker-class", self.args.worker_class, "--no-control-socket",
        ]  # fmt: skip
        if self.args.worker_class == "gthread":
            command += ["--threads", str(self.args.threads)]
        self.spawn("gunicorn", command)
        self.wait_for(lambda: self.answers("/"), "gunicorn")

    def answers(self, path: str) -> bool:
        import http.client

        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=5)
            conn.request("GET", path)
            return conn.getresponse().status == 200
        except OSError:
            return False

    def redis(self, url: str = BROKER_URL):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis.from_url(url)

    def queue_length(self) -> int:
        """Tasks waiting in our queue plus those a worker took and has not acknowledged."""
        client = self.redis()
        return int(client.llen(self.queue)) + int(client.hlen("unacked"))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of each started program with its children (its session)."""
        tick = os.sysconf("SC_CLK_TCK")
        sessions = {process.pid: name for name, process in self.processes.items()}
        used = dict.fromkeys(self.processes, 0.0)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            name = sessions.get(int(fields[3]))  # field 6 of stat: the session id
            if name is not None:
                used[name] += (int(fields[11]) + int(fields[12])) / tick
        # The whole machine's busy time (all cores, every process: others' too).
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
        used["machine"] = (sum(ticks) - ticks[3] - ticks[4]) / tick  # less idle and iowait
        return used

    def forget_queue(self) -> None:
        """Redis dbs 12 and 13 are this benchmark's alone: emptied at the start and the end."""
        for url in (BROKER_URL, CACHE_URL):
            try:
                self.redis(url).flushdb()
            except Exception as exc:  # noqa: BLE001 - clean-up goes on
                say(f"could not empty {url}: {exc}")

    def close(self, keep: bool) -> None:
        for name, grace in (("gunicorn", 20), ("worker", 30)):
            try:
                self.stop(name, grace)
            except Exception as exc:  # noqa: BLE001 - stop the other all the same
                say(f"could not stop {name}: {exc}")
        self.forget_queue()
        if keep:
            say(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
