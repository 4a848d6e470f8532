"""Where a page's reads may go: the "replica reads" scope.

With a read replica configured (``DATABASE_REPLICA_URL``), the project's database router
(``helpdesk.routers``) sends a read to the replica only inside this scope, which the heavy
read-only pages open (the reports, their CSV exports, a queue's export). Everything else reads
the primary, and every write goes to the primary. The scope lives here, in the domain, so that
each door can open it without importing the project or another door; it knows nothing of
databases, it only answers "may this read go to the replica?".

Sticky primary: once something is written inside the scope (the router calls ``note_write``),
the rest of the scope reads the primary, so a page never misses its own write behind the
replica's lag. A scope is a context variable: each request (each thread) has its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass
class _Scope:
    wrote: bool = False


_current: ContextVar[_Scope | None] = ContextVar("replica_reads", default=None)


@contextmanager
def reading_from_replica(scope: _Scope | None = None) -> Iterator[None]:
    """Reads inside may be served by the replica (a moment behind the primary). Also a view
    decorator: ``@reading_from_replica()``. A scope opened inside another is the same scope."""
    token = _current.set(scope or _current.get() or _Scope())
    try:
        yield
    finally:
        _current.reset(token)


def wants_replica() -> bool:
    """Whether a read now may go to the replica: inside the scope, and nothing written in it yet."""
    scope = _current.get()
    return scope is not None and not scope.wrote


def note_write() -> None:
    """Something is written now: the rest of the scope reads the primary."""
    scope = _current.get()
    if scope is not None:
        scope.wrote = True


def each_from_replica(items: Iterable[T]) -> Iterator[T]:
    """``items`` (a generator over a cursor, the rows of a streamed download), each taken inside
    the scope. A streamed response is read after its view has returned, so the view's own scope
    is closed by then; and a generator must not leave a context variable set between two
    items (the code that reads it would run inside the scope), so the scope is opened around
    each step only. The steps share one scope: a write in one keeps the next on the primary."""
    scope = _Scope()
    iterator = iter(items)
    try:
        while True:
            with reading_from_replica(scope):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item
    finally:
        # A download cut short (the client left) closes its cursor now, not when collected.
        close = getattr(iterator, "close", None)
        if close is not None:
            with reading_from_replica(scope):
                close()
