"""The database router: the primary (``default``) for everything, a read replica (``replica``,
from ``DATABASE_REPLICA_URL``) for the reads of the heavy read-only pages.

A read goes to the replica only when the alias is configured and the page opened the "replica
reads" scope (``tickets.replica.reading_from_replica``) and has written nothing in it yet. The
replica is a streaming copy a moment behind the primary, so a read that must see what was just
written (the workspace after an action, anything in a request that writes) stays on the
primary. Writes always go to the primary (a hot standby refuses them anyway), and mark the
scope, so the rest of that request reads the primary too. Migrations run on the primary only:
the replica receives them through replication. Rows of the two aliases may be related: they are
the same database.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from tickets import replica

REPLICA = "replica"
SAME_DATA = {DEFAULT_DB_ALIAS, REPLICA}


def replica_configured() -> bool:
    return REPLICA in connections.settings


class ReplicaRouter:
    def db_for_read(self, model: type, **hints: Any) -> str:
        if replica.wants_replica() and replica_configured():
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type, **hints: Any) -> str:
        replica.note_write()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        if obj1._state.db in SAME_DATA and obj2._state.db in SAME_DATA:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
