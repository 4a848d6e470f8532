"""What bench/perf.py measures at one size: the floor, the pages people read, and creation.

Imported by perf.py after Django is set up (console.py does that on import).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis
from celery.signals import before_task_publish
from console import Page, build_pages, measure, pick_samples
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from seed_data import SUBJECT_WORD

from helpdesk.celery import app as celery_app
from tickets import accounts, apikeys, selectors, services
from tickets.models import ApiKey, Ticket

BROKER_URL = "redis://127.0.0.1:6379/11"
FLOOR_URL = "/bench/floor/"
API_LIST = "/api/v1/tickets/"
# Pages at most this many times the floor's median, with at most this many queries (issue 16).
MAX_RATIO = 10
MAX_QUERIES = 15
USERS = ("john", "jane", "karen@example.com")


@dataclass
class Size:
    """One size of the run: its pages in the order measured, the floor's passes apart."""

    tickets: int
    seed_s: float = 0.0
    measure_s: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    counts: dict[str, int] = field(default_factory=dict)
    floor_start: Page | None = None
    floor_between: Page = field(default_factory=lambda: Page("floor (between pages)", "john", FLOOR_URL))
    floor_end: Page | None = None
    pages: list[Page] = field(default_factory=list)
    # Creation: the subjects answered as expected (subject: page), the other answers by page
    # and status, and per page how many of the former are in the database exactly once.
    created: dict[str, str] = field(default_factory=dict)
    refused: Counter = field(default_factory=Counter)
    found_once: Counter = field(default_factory=Counter)
    tasks_queued: int = 0

    @property
    def floors(self) -> list[Page]:
        return [
            page for page in (self.floor_start, self.floor_between, self.floor_end) if page and page.times
        ]

    @property
    def floor_median(self) -> float:
        """The median of every floor request of this size: at the start, between pages, at the end."""
        return Page("floor", "john", FLOOR_URL, times=[t for page in self.floors for t in page.times]).median

    def ratio(self, page: Page) -> float:
        return page.median / self.floor_median

    def flags(self, page: Page) -> list[str]:
        marks = []
        if self.ratio(page) > MAX_RATIO:
            marks.append(f"> {MAX_RATIO}× floor")
        if page.queries > MAX_QUERIES:
            marks.append(f"> {MAX_QUERIES} queries")
        return marks


def signed_in_clients() -> dict[str, Client]:
    users = get_user_model().objects
    clients = {}
    for username in USERS:
        # A page that fails is reported with its status rather than ending the run.
        client = Client(raise_request_exception=False)
        client.force_login(users.get(username=username))
        clients[username.split("@")[0]] = client
    return clients


def ensure_karens_ticket() -> None:
    """Karen requests one seeded ticket in 20,000: below that size, open one for her page."""
    karen = get_user_model().objects.get(username="karen@example.com")
    if not Ticket.objects.filter(requester__user=karen).exists():
        services.ticket_create(
            requester=accounts.requester_for_user(karen),
            actor=karen,
            subject="The printer on floor 3 jams",
            body="It jams on every second page since Monday.",
        )


def read_pages() -> list[Page]:
    """console.py's pages, karen's "open a ticket" form, then the API's reads (john's session)."""
    samples = pick_samples()
    pages = build_pages(samples)
    pages += [
        Page("portal open a ticket (form)", "karen", "/tickets/new/", kind="page"),
        Page("API list", "john", API_LIST, kind="api"),
        Page("API search", "john", f"{API_LIST}?q={SUBJECT_WORD}", kind="api"),
        Page("API ticket", "john", f"{API_LIST}{samples['workspace']}/", kind="page"),
    ]
    return pages


def measure_floor(client: Client, runs: int, when: str) -> Page:
    page = Page(f"floor ({when})", "john", FLOOR_URL, kind="floor")
    measure(page, client, runs)
    return page


def floor_sample(page: Page, client: Client) -> None:
    """One more timed floor request, between two pages: the floor follows the machine's load
    through the whole size, not only at its ends."""
    started = time.perf_counter()
    response = client.get(page.url)
    page.times.append((time.perf_counter() - started) * 1000)
    page.status = page.status if page.status not in (0, 200) else response.status_code
    page.queries = 2


def measure_create(
    page: Page, send: Callable[[str], HttpResponse], expected: int, runs: int, size: Size
) -> None:
    """As console.measure, but each request opens a ticket with a subject of its own: a warm-up,
    one under CaptureQueriesContext, ``runs`` timed. The subjects answered ``expected`` go into
    ``size.created``, to be looked for in the database afterwards; the others are counted."""

    def one() -> HttpResponse:
        subject = f"Bench {page.label} {uuid.uuid4().hex[:12]}"
        response = send(subject)
        if response.status_code == expected:
            size.created[subject] = page.label
        else:
            size.refused[page.label, response.status_code] += 1
            print(f"{page.label}: {response.status_code} {response.content[:300]!r}", file=sys.stderr)
        return response

    one()
    page.status = expected
    with CaptureQueriesContext(connection) as captured:
        one()
    page.queries = len(captured.captured_queries)
    timed = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    page.sql_ms = sum(ms for ms, _ in timed)
    if timed:
        page.slowest_sql_ms, page.slowest_sql = max(timed, key=lambda item: item[0])
    for _ in range(runs):
        started = time.perf_counter()
        one()
        page.times.append((time.perf_counter() - started) * 1000)


@contextmanager
def with_broker(url: str = BROKER_URL) -> Iterator[Counter]:
    """Tasks (mail, webhooks) published to Redis instead of run inline, as in production; the
    Redis database is emptied afterwards (no worker reads it). Yields the tasks published."""
    published: Counter = Counter()

    def count(sender: str | None = None, **_: Any) -> None:
        published[sender] += 1

    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, url
    before_task_publish.connect(count, weak=False)
    try:
        yield published
    finally:
        before_task_publish.disconnect(count)
        conf.task_always_eager, conf.broker_url = saved
        redis.Redis.from_url(url).flushdb()


def creation_pages(client: Client, runs: int, size: Size) -> list[Page]:
    """Karen's portal form (GET it once, then POST it) and an integration's API POST; counts
    the tasks published to the broker in ``size.tasks_queued``."""
    topic = selectors.help_topics_public()[0].pk
    owner = get_user_model().objects.get(username="admin")
    _, raw = apikeys.apikey_create(
        name=f"bench perf {uuid.uuid4().hex[:6]}", owner=owner, scope=ApiKey.Scope.CREATE, rate_limit=10**6
    )
    integration = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/tickets/new/").status_code == 200

    def portal(subject: str) -> HttpResponse:
        body = "The printer on floor 3 jams on every second page."
        return client.post("/tickets/new/", {"subject": subject, "body": body, "help_topic": topic})

    def api(subject: str) -> HttpResponse:
        body = {
            "requester_email": "monitoring@example.org",
            "requester_name": "Monitoring",
            "subject": subject,
            "body": "Health check failed on 3 of 3 nodes.",
        }
        return integration.post(API_LIST, body, content_type="application/json")

    pages = [
        Page("portal open a ticket (POST)", "karen", "/tickets/new/", kind="create"),
        Page("API create a ticket", "integration", API_LIST, kind="create"),
    ]
    with with_broker() as published:
        measure_create(pages[0], portal, 302, runs, size)
        measure_create(pages[1], api, 201, runs, size)
    size.tasks_queued = sum(published.values())
    return pages


def check_created(size: Size) -> None:
    """Count, per creation page, the tickets answered as made that are in the database once."""
    subjects = list(size.created)
    found = Counter(Ticket.objects.filter(subject__in=subjects).values_list("subject", flat=True))
    for subject, label in size.created.items():
        size.found_once[label] += found[subject] == 1
