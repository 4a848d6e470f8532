"""On PostgreSQL with 30,000 seeded tickets, no queue, sort or search of the console plans a
sequential scan of the ticket or thread table (issue 16, item 4).

A plan depends on the data: the lab's few tickets are read whole because that is cheapest.
So this test seeds its own database with bench/seed.py (the bench's mix of states,
departments, texts) and asks bench/plans.py for the plans of every list, as the selectors
build them for a page. A control query that no index answers must show a sequential scan,
or the data is too small for the rest to mean anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
WHOLE_TABLES = {"tickets_ticket", "tickets_threadentry"}

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="query plans are PostgreSQL's (CI runs this on PostgreSQL)"
)


@pytest.fixture
def seeded(tmp_path):
    import psycopg

    settings = connection.settings_dict
    name = f"plans_bench_{uuid.uuid4().hex[:8]}"
    admin = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{settings['USER']}{password}@{admin['host']}:{admin['port']}/{name}",
        "DEBUG": "1",
        "HELPDESK_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
    }
    env.pop("CELERY_BROKER_URL", None)
    try:
        subprocess.run(
            [sys.executable, "bench/seed.py", "30000"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )
        yield env
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_no_list_reads_the_ticket_or_thread_table_whole(seeded):
    result = subprocess.run(
        [sys.executable, "bench/plans.py"], cwd=ROOT, env=seeded, check=True, capture_output=True, timeout=300
    )
    plans = json.loads(result.stdout)
    assert plans.pop("control: subject ends with") == ["tickets_ticket"]
    assert len(plans) == 2 * (9 + 1 + 5 + 8)  # john and jane: queues, page 40, sorts, searches
    whole = {label: tables for label, tables in plans.items() if WHOLE_TABLES & set(tables)}
    assert not whole, whole
