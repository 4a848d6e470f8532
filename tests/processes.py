"""What the tests that start our own programs in other processes share."""

from __future__ import annotations

import socket

from django.db import connection

REDIS = ("127.0.0.1", 6379)


def redis_answers() -> bool:
    """Does a Redis answer on 127.0.0.1:6379 (the machine's; tests skip without one)?"""
    try:
        with socket.create_connection(REDIS, timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def database_url() -> str:
    """The test database as a DATABASE_URL, for a process of ours to open (PostgreSQL)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
