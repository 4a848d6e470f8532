"""What the tests that start our own programs in other processes share."""

from __future__ import annotations

from django.db import connection


def database_url() -> str:
    """The test database as a DATABASE_URL, for a process of ours to open (PostgreSQL)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
