# ruff: noqa: S603, S607, S608
# S603, S607: we start our own programs; S608: SQL built from our own constants and settings.
"""The reports served by a read replica: a streaming replica of the local PostgreSQL, made with
``pg_basebackup -R`` on another port, and the help desk pointed at it (DATABASE_REPLICA_URL).

    .venv/bin/python bench/replica.py --database helpdesk_bench_replica --tickets 100000

Runs as root (the server runs as the ``postgres`` OS user through ``runuser``). Seeds the bench
database on the primary (127.0.0.1:5432, bench/seed.py; ``--no-seed`` keeps what it holds),
makes the replica in a temporary folder (the whole cluster is copied: every database of the
local server, a few GB here), starts it, waits until it has replayed the seed, then shows:

- where each alias is: ``pg_is_in_recovery()`` and the port, through Django's connections;
- each page's queries counted per alias as they run (an execute wrapper on each connection),
  and the replica's own ``pg_stat_database`` (transactions, rows returned) moving;
- the timings of the reports page (afresh and as kept), its figures alone, the queue's CSV
  export and the API's dashboard, with the replica and with the primary (the router told
  there is no replica);
- how long a write on the primary takes to be readable on the replica.

The primary must accept replication connections from 127.0.0.1: if its pg_hba.conf has no such
rule, this script adds one (``host replication postgres 127.0.0.1/32 trust``), says so, reloads,
and removes it at the end. The replica is stopped and its folder removed at the end, also on
errors. Prints Markdown (bench/results-replica.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak_stack import free_port, pg_bin, say  # noqa: E402 (stdlib only: no Django yet)

PRIMARY = ("127.0.0.1", 5432)
HBA_RULE = "host replication postgres 127.0.0.1/32 trust"
HBA_MARK = "# added by bench/replica.py, removed when it ends"
# Settings the replica takes from the primary: a hot standby needs the first five at least as
# high as the primary's; the others make the two answer the same queries the same way.
COPIED = (
    "max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
    "max_locks_per_transaction", "shared_buffers", "work_mem", "effective_cache_size",
    "random_page_cost", "default_text_search_config", "TimeZone", "DateStyle",
    "lc_monetary", "lc_numeric", "lc_time",
)  # fmt: skip


def connect(port: int, dbname: str = "postgres") -> Any:
    import psycopg

    return psycopg.connect(host=PRIMARY[0], port=port, user="postgres", dbname=dbname, autocommit=True)


class Replica:
    """The replica's cluster in a temporary folder, as the postgres user; ``close`` stops it and
    removes the folder (and the pg_hba.conf rule this run added)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.tmp = Path(tempfile.mkdtemp(prefix="helpdesk-replica-"))
        self.tmp.chmod(0o711)  # the postgres user reaches its cluster below
        (self.tmp / "pg").mkdir()
        shutil.chown(self.tmp / "pg", "postgres", "postgres")
        self.data = self.tmp / "pg" / "data"
        self.bin = pg_bin()
        self.started = False
        self.hba_added: Path | None = None

    def as_postgres(self, *command: str, timeout: float = 1800) -> None:
        with open(self.tmp / "pg.log", "ab") as log:
            subprocess.run(
                ["runuser", "-u", "postgres", "--", *command],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, check=True, timeout=timeout,
            )  # fmt: skip

    def allow_replication(self) -> None:
        with connect(PRIMARY[1]) as conn:
            rules = conn.execute(
                "SELECT count(*) FROM pg_hba_file_rules WHERE type = 'host' AND auth_method = 'trust' "
                "AND 'replication' = ANY(database) AND address = '127.0.0.1'"
            ).fetchone()[0]
            if rules:
                return
            hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
            say(f"The primary refuses replication connections: adding '{HBA_RULE}' to {hba} for this run.")
            with open(hba, "a", encoding="utf-8") as file:
                file.write(f"\n{HBA_MARK}\n{HBA_RULE}\n")
            self.hba_added = hba
            conn.execute("SELECT pg_reload_conf()")
            time.sleep(1)

    def start(self) -> None:
        self.allow_replication()
        say(f"pg_basebackup -R of {PRIMARY[0]}:{PRIMARY[1]} into {self.data} (the whole cluster)")
        started = time.perf_counter()
        self.as_postgres(
            str(self.bin / "pg_basebackup"), "-h", PRIMARY[0], "-p", str(PRIMARY[1]), "-U", "postgres",
            "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        self.copy_seconds = time.perf_counter() - started
        with connect(PRIMARY[1]) as conn:
            query = "SELECT current_setting(%s)"
            settings = {name: conn.execute(query, [name]).fetchone()[0] for name in COPIED}
        # A Debian cluster keeps its configuration under /etc: the copy gets its own.
        conf = [f"{name} = '{value}'" for name, value in settings.items()]
        conf += [
            f"port = {self.port}", "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.tmp / 'pg'}'", "hot_standby = on", "fsync = off",
            "logging_collector = on", "log_directory = 'log'",
        ]  # fmt: skip
        for name, text in {
            "postgresql.conf": "\n".join(conf) + "\n",
            "pg_hba.conf": "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        }.items():
            (self.data / name).write_text(text, encoding="utf-8")
            shutil.chown(self.data / name, "postgres", "postgres")
        ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "120"]
        self.as_postgres(*ctl, "start", timeout=180)
        self.started = True
        say(f"replica started on port {self.port} (copy: {self.copy_seconds:.0f} s)")

    def caught_up(self, dbname: str, seconds: float = 300) -> float:
        """Waits until the replica has replayed everything the primary wrote so far; how long."""
        started = time.perf_counter()
        with connect(PRIMARY[1], dbname) as primary, connect(self.port, dbname) as replica:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
            while time.perf_counter() - started < seconds:
                replayed = "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"
                if replica.execute(replayed, [target]).fetchone()[0]:
                    return time.perf_counter() - started
                time.sleep(0.005)
        raise RuntimeError(f"the replica did not catch up in {seconds} s")

    def close(self) -> None:
        try:
            if self.started:
                ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "stop"]
                try:
                    self.as_postgres(*ctl, "-m", "fast", timeout=90)
                except Exception:  # noqa: BLE001 - then without waiting for anyone
                    self.as_postgres(*ctl, "-m", "immediate", timeout=90)
        finally:
            if self.hba_added is not None:
                text = self.hba_added.read_text(encoding="utf-8")
                self.hba_added.write_text(text.replace(f"\n{HBA_MARK}\n{HBA_RULE}\n", ""), encoding="utf-8")
                with connect(PRIMARY[1]) as conn:
                    conn.execute("SELECT pg_reload_conf()")
                say(f"removed the replication rule from {self.hba_added}")
            shutil.rmtree(self.tmp, ignore_errors=True)
            say(f"replica stopped, {self.tmp} removed")


@contextmanager
def replica_running(port: int) -> Iterator[Replica]:
    replica = Replica(port)
    # A terminated run cleans up as an interrupted one does.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield replica
    finally:
        replica.close()
        signal.signal(signal.SIGTERM, previous)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database", default="helpdesk_bench_replica", help="The bench database (its name has 'bench')."
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--no-seed", action="store_true", help="Measure the database as it is.")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    port = free_port(55532)
    # The settings are read once, at import: the replica's address first, then Django.
    os.environ.update(
        DATABASE_URL=f"postgres://postgres@{PRIMARY[0]}:{PRIMARY[1]}/{args.database}",
        DATABASE_REPLICA_URL=f"postgres://postgres@{PRIMARY[0]}:{port}/{args.database}",
        DEBUG="1",
    )
    var = tempfile.mkdtemp(prefix="helpdesk-replica-var-")  # the file cache, the media
    os.environ.setdefault("HELPDESK_VAR_DIR", var)
    with connect(PRIMARY[1]) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone():
            conn.execute(f'CREATE DATABASE "{args.database}"')
    import replica_measure  # Django starts here

    replica_measure.prepare(args)
    try:
        with replica_running(port) as replica:
            replica.start()
            print(replica_measure.report(args, replica))
    finally:
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
