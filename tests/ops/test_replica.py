"""The read replica: the router (helpdesk/routers.py), the "replica reads" scope
(tickets/replica.py) and the settings of DATABASE_REPLICA_URL. Where the pages' queries go:
test_replica_pages.py."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from helpdesk.routers import REPLICA, ReplicaRouter
from tickets import replica
from tickets.models import ReportSnapshot, Ticket

ROOT = Path(__file__).resolve().parent.parent.parent
router = ReplicaRouter()


@pytest.fixture
def with_replica_alias(monkeypatch):
    """A ``replica`` alias in the settings, for the router to see (no connection is opened)."""
    monkeypatch.setitem(connections.settings, REPLICA, copy.deepcopy(connections.settings[DEFAULT_DB_ALIAS]))


def obj(alias: str) -> SimpleNamespace:
    return SimpleNamespace(_state=SimpleNamespace(db=alias))


# -- the router -------------------------------------------------------------------------------------


def test_without_a_replica_everything_goes_to_the_primary():
    assert REPLICA not in connections.settings
    with replica.reading_from_replica():
        assert replica.wants_replica()
        assert router.db_for_read(Ticket) == DEFAULT_DB_ALIAS
        assert router.db_for_write(Ticket) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Ticket) == DEFAULT_DB_ALIAS


def test_reads_go_to_the_replica_inside_the_scope_only(with_replica_alias):
    assert not replica.wants_replica()
    assert router.db_for_read(Ticket) == DEFAULT_DB_ALIAS
    with replica.reading_from_replica():
        assert router.db_for_read(Ticket) == REPLICA
        assert router.db_for_read(ReportSnapshot, instance=obj(DEFAULT_DB_ALIAS)) == REPLICA
    assert router.db_for_read(Ticket) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Ticket, instance=obj(REPLICA)) == DEFAULT_DB_ALIAS


def test_writes_go_to_the_primary_and_keep_the_rest_of_the_scope_there(with_replica_alias):
    assert router.db_for_write(Ticket) == DEFAULT_DB_ALIAS
    with replica.reading_from_replica():
        assert router.db_for_read(Ticket) == REPLICA
        assert router.db_for_write(ReportSnapshot, instance=obj(REPLICA)) == DEFAULT_DB_ALIAS
        # Sticky: the page would not see its own write on the replica yet.
        assert router.db_for_read(Ticket) == DEFAULT_DB_ALIAS
        with replica.reading_from_replica():  # a scope inside is the same scope
            assert router.db_for_read(Ticket) == DEFAULT_DB_ALIAS
    with replica.reading_from_replica():  # the next request starts afresh
        assert router.db_for_read(Ticket) == REPLICA


def test_a_write_outside_the_scope_marks_nothing(with_replica_alias):
    router.db_for_write(Ticket)
    with replica.reading_from_replica():
        assert router.db_for_read(Ticket) == REPLICA


def test_the_scope_is_a_decorator_too(with_replica_alias):
    @replica.reading_from_replica()
    def page():
        return router.db_for_read(Ticket)

    assert page() == REPLICA
    assert page() == REPLICA  # each call its own scope
    assert router.db_for_read(Ticket) == DEFAULT_DB_ALIAS


def test_migrations_run_on_the_primary_only():
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "tickets", "ticket") is True
    assert router.allow_migrate(REPLICA, "tickets", "ticket") is False
    assert router.allow_migrate(REPLICA, "auth") is False


def test_rows_of_the_primary_and_the_replica_may_be_related():
    assert router.allow_relation(obj(DEFAULT_DB_ALIAS), obj(REPLICA)) is True
    assert router.allow_relation(obj(REPLICA), obj(REPLICA)) is True
    assert router.allow_relation(obj(DEFAULT_DB_ALIAS), obj("elsewhere")) is None


def test_a_streamed_download_reads_each_row_in_the_scope_and_leaves_none_open(with_replica_alias):
    def rows():
        for number in range(3):
            yield number, router.db_for_read(Ticket)

    seen = []
    for number, alias in replica.each_from_replica(rows()):
        seen.append(alias)
        # Between two rows, the code reading them is outside the scope.
        assert not replica.wants_replica(), number
    assert seen == [REPLICA] * 3


def test_a_streamed_download_cut_short_closes_its_rows(with_replica_alias):
    closed = []

    def rows():
        try:
            yield 1
            yield 2
        finally:
            closed.append(replica.wants_replica())

    stream = replica.each_from_replica(rows())
    assert next(stream) == 1
    stream.close()
    assert closed == [True]
    assert not replica.wants_replica()


# -- the settings -----------------------------------------------------------------------------------


def _databases(**env: str) -> dict:
    """DATABASES as the production settings read them from this environment (a fresh process:
    they are read once, at import)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URL")}
    clean.update(DEBUG="1", DJANGO_SETTINGS_MODULE="helpdesk.settings", **env)
    code = "import json; from django.conf import settings; print(json.dumps(settings.DATABASES, default=str))"
    args = [sys.executable, "-c", code]
    done = subprocess.run(args, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_without_the_variable_there_is_one_database():
    assert list(_databases()) == [DEFAULT_DB_ALIAS]


def test_the_replica_url_makes_a_second_alias_the_tests_see_as_the_primary():
    databases = _databases(
        DATABASE_URL="postgres://app@db.example:5432/helpdesk",
        DATABASE_REPLICA_URL="postgres://reader@replica.example:5433/helpdesk",
    )
    primary, second = databases[DEFAULT_DB_ALIAS], databases[REPLICA]
    assert (second["HOST"], second["PORT"], second["USER"]) == ("replica.example", 5433, "reader")
    assert second["TEST"]["MIRROR"] == DEFAULT_DB_ALIAS
    assert second["OPTIONS"] == primary["OPTIONS"]  # no parallel workers, no JIT, as the primary
    assert second["CONN_HEALTH_CHECKS"] is True
