"""The cache when no CACHE_URL names Redis: Django's file cache, made safe for counting.

Every process of the machine (web workers, ``run_timers``, management commands) reads the same
files, so the throttles' counts are one count. Django's file cache reads and writes a value in
two steps, though, and its ``incr`` gives the key a fresh default timeout: two processes
counting at once would lose a count, and a throttle window would end early or late. Here
``add`` and ``incr`` hold a lock file while they read and write, and ``incr`` keeps the
key's expiry.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.files import locks
from django.core.files.move import file_move_safe


class FileCache(FileBasedCache):
    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self._createdir()
        # Not a cache file (no .djcache suffix): clear() and culling leave it alone.
        with open(os.path.join(self._dir, "counters.lock"), "ab") as lock:
            locks.lock(lock, locks.LOCK_EX)
            try:
                yield
            finally:
                locks.unlock(lock)

    def add(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        with self._exclusive():
            return super().add(key, value, timeout, version)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> Any:
        with self._exclusive():
            fname = self._key_to_file(key, version)
            try:
                # Our own files in a folder only we may read (0700), read as Django's file cache
                # reads them.
                with open(fname, "rb") as f:
                    expiry = pickle.load(f)  # noqa: S301
                    value = pickle.loads(zlib.decompress(f.read()))  # noqa: S301
            except (FileNotFoundError, EOFError):
                raise ValueError(f"Key '{key}' not found") from None
            if expiry is not None and expiry < time.time():
                self._delete(fname)
                raise ValueError(f"Key '{key}' not found")
            value += delta
            # Written beside it and moved into place, as set() does: a reader never sees half.
            fd, tmp_path = tempfile.mkstemp(dir=self._dir)
            try:
                with open(fd, "wb") as f:
                    f.write(pickle.dumps(expiry, self.pickle_protocol))
                    f.write(zlib.compress(pickle.dumps(value, self.pickle_protocol)))
                file_move_safe(tmp_path, fname, allow_overwrite=True)
            except BaseException:
                if os.path.exists(tmp_path):
                    os.remove(tmp_path)
                raise
            return value
