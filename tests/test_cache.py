"""The cache that holds the web throttles' counts (sign-in failures, guest tickets, mail
requests) is one for every process: Redis when CACHE_URL names it, otherwise files under
var/cache (helpdesk.cache.FileCache), never a process's own memory. Counted at once by several
processes, no count is lost, and a count keeps the end of its window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import time_machine
from django.conf import settings

from helpdesk.cache import FileCache

ROOT = Path(__file__).resolve().parent.parent
# One window for the whole test, whenever it runs: a count never straddles two.
WINDOW = 10**9


def in_a_process_of_its_own(code: str, var: Path, **env: str) -> object:
    """Run ``code`` with the production settings in a new interpreter; what it prints, as JSON."""
    environ = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    environ.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings",
        DEBUG="0",
        SECRET_KEY=settings.SECRET_KEY,
        HELPDESK_VAR_DIR=str(var),
        **env,
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-c", "import django, json; django.setup()\n" + code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


WHICH = """
from django.core.cache import caches
print(json.dumps([type(caches["default"]).__module__ + "." + type(caches["default"]).__name__,
                  getattr(caches["default"], "_dir", None)]))
"""


def test_without_cache_url_the_cache_is_files_under_var_not_a_process_memory(tmp_path):
    assert in_a_process_of_its_own(WHICH, tmp_path) == ["helpdesk.cache.FileCache", str(tmp_path / "cache")]
    with_redis = in_a_process_of_its_own(WHICH, tmp_path, CACHE_URL="redis://127.0.0.1:6379/1")
    assert with_redis[0] == "django.core.cache.backends.redis.RedisCache"


def attempts(n: int) -> str:
    return f"""
from tickets import throttle
allowed = [throttle.allow("login", "karen@example.com", limit=3, window={WINDOW}) for _ in range({n})]
print(json.dumps(allowed))
"""


def test_a_count_made_in_one_process_holds_in_the_next(tmp_path):
    assert in_a_process_of_its_own(attempts(3), tmp_path) == [True, True, True]
    assert in_a_process_of_its_own(attempts(1), tmp_path) == [False]


def test_processes_counting_at_once_lose_no_count(tmp_path):
    count = f"""
from django.core.cache import cache
from tickets import throttle
for _ in range(50):
    throttle.allow("guest-ticket", "203.0.113.9", limit=10**6, window={WINDOW})
print(json.dumps(cache.get(throttle._key("guest-ticket", "203.0.113.9", {WINDOW}))))
"""
    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = list(pool.map(lambda _: in_a_process_of_its_own(count, tmp_path), range(4)))
    assert max(seen) == 200


def test_a_count_keeps_the_end_of_its_window(tmp_path):
    """Django's own file cache gives a key its default timeout (5 minutes) again on each
    ``incr``: a 15-minute sign-in window would forget its failures 5 minutes after the last."""
    cache = FileCache(str(tmp_path), {})
    with time_machine.travel(datetime(2026, 12, 1, 9, 0), tick=False) as clock:
        cache.add("failures", 0, timeout=900)
        clock.shift(timedelta(minutes=14))
        assert cache.incr("failures") == 1
        clock.shift(timedelta(minutes=0.9))
        assert cache.get("failures") == 1  # still within the window
        clock.shift(timedelta(minutes=0.2))
        assert cache.get("failures") is None
        assert cache.add("failures", 0, timeout=900)  # a new window starts from nothing


def test_incr_of_a_missing_or_expired_key_says_so_as_django_does(tmp_path):
    cache = FileCache(str(tmp_path), {})
    for key in ("never-set", "expired"):
        if key == "expired":
            cache.set(key, 1, timeout=-1)
        try:
            cache.incr(key)
        except ValueError as exc:
            assert key in str(exc)
        else:  # pragma: no cover - the assertion that follows explains
            raise AssertionError(f"incr({key!r}) did not raise")
