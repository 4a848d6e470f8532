"""A ticket's thread in pages, as mail clients show a long conversation: the opening entry, the
newest entries, and between them a count of the older ones, loaded a batch at a time.

Who sees which entries is the selectors' (``thread_for_agent``, ``thread_for_requester``); this
module only cuts what they return into pages. A page costs the same queries however long the
thread is: one count and one read of its entries (with the selectors' prefetches), both on the
entries' (ticket, created_at, id) index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from tickets import selectors
from tickets.models import ThreadEntry, Ticket

PAGE_SIZE = 20
ORDER = ("created_at", "id")
NEWEST_FIRST = ("-created_at", "-id")


@dataclass(frozen=True)
class ThreadPage:
    """Entries in the thread's order: ``head`` (the opening entry, on a ticket's page), then
    ``older`` entries not shown, then ``tail``. Older entries load before ``tail[0]``."""

    head: list[ThreadEntry] = field(default_factory=list)
    tail: list[ThreadEntry] = field(default_factory=list)
    older: int = 0
    limit: int = PAGE_SIZE

    @property
    def entries(self) -> list[ThreadEntry]:
        return [*self.head, *self.tail]

    @property
    def before(self) -> int | None:
        """The entry the next older batch ends before (None when nothing is hidden)."""
        return self.tail[0].pk if self.older and self.tail else None

    @property
    def batch(self) -> int:
        """How many entries the next "show older" brings."""
        return min(self.older, self.limit)


def _opening(entries: QuerySet[ThreadEntry]) -> QuerySet[ThreadEntry]:
    return entries.order_by(*ORDER).values("pk")[:1]


def _page(entries: QuerySet[ThreadEntry], *, before: int | None, limit: int | None) -> ThreadPage:
    if limit is None:
        return ThreadPage(head=list(entries.order_by(*ORDER)), limit=0)
    if before is None:
        # The opening entry and the newest ones in one read (the two overlap on a short thread).
        newest = entries.order_by(*NEWEST_FIRST).values("pk")[:limit]
        total = entries.count()
        shown = list(entries.filter(Q(pk__in=_opening(entries)) | Q(pk__in=newest)).order_by(*ORDER))
        return ThreadPage(head=shown[:1], tail=shown[1:], older=total - len(shown), limit=limit)
    anchor = entries.filter(pk=before).values_list("created_at", flat=True).first()
    if anchor is None:
        raise ThreadEntry.DoesNotExist(f"No entry {before} in this thread.")
    earlier = entries.exclude(pk__in=_opening(entries)).filter(
        Q(created_at__lt=anchor) | Q(created_at=anchor, pk__lt=before)
    )
    remaining = earlier.count()
    batch = list(earlier.order_by(*NEWEST_FIRST)[:limit])[::-1]
    return ThreadPage(tail=batch, older=remaining - len(batch), limit=limit)


def thread_page_for_agent(
    ticket: Ticket, *, before: int | None = None, limit: int | None = PAGE_SIZE
) -> ThreadPage:
    """Every kind of entry. Without ``before``: the opening entry and the newest ``limit``;
    with it: the ``limit`` entries before that one (after the opening entry), raising
    ``ThreadEntry.DoesNotExist`` if it is not in this thread. ``limit=None``: the whole thread."""
    return _page(selectors.thread_for_agent(ticket), before=before, limit=limit)


def thread_page_for_requester(
    ticket: Ticket, *, before: int | None = None, limit: int | None = PAGE_SIZE
) -> ThreadPage:
    """The same over what the requester may read: public entries only, never internal notes or
    events (an internal entry's id as ``before`` is not in this thread)."""
    return _page(selectors.thread_for_requester(ticket), before=before, limit=limit)
