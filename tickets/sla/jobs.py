"""The periodic job: the SLA watch and the timers on waiting states.

Run every minute (Celery beat in production, ``manage.py run_timers`` beside the dev
server). Each part finds its tickets through a partial index, never by reading all tickets,
and acts on each ticket in its own transaction after locking it and checking again that it
still qualifies, so a run that overlaps another, or runs twice, acts once. Every move is a
normal transition through ``tickets.services``, logged with the timer or rule that fired.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from tickets import catalog, idempotency, locales, metrics, services
from tickets.models import ACTIVE_STATES, LifecycleTimers, State, Ticket

logger = logging.getLogger(__name__)

# Tickets one part of the job takes on in a run; the rest wait for the next minute.
BATCH = 2_000
# Tickets the SLA watch marks in one transaction (their row locks are held until it commits).
CHUNK = 100

# Where the end of the last run is noted (a Unix time), for /readyz: the cache, which every
# process shares (Redis in production), so any web node can tell whether the job still runs.
LAST_RUN_KEY = "tickets:sla:jobs:last-run"

REMINDER_TIMER = "timer “awaiting-user reminder”"
EXPIRY_TIMER = "timer “awaiting-user expiry”"
AUTO_CLOSE_TIMER = "timer “auto-close”"

# What the help desk writes to the requester itself: kept in their thread and mailed, in their
# language (``_to_requester``).
REMINDER_TEXT = gettext_lazy(
    "We are still waiting for your answer to our question above, and cannot go on without it. "
    "Please reply when you can."
)
EXPIRY_TEXT = gettext_lazy(
    "We have not heard back from you, so we are resolving this ticket. If the problem is still "
    "there, reopen the ticket or write to us and we will pick it up again."
)


def _to_requester(ticket: Ticket, text: Any) -> str:
    """``text`` in the ticket's requester's language, as the entry written to them keeps it."""
    with translation.override(locales.language_or_default(ticket.requester.language)):
        return str(text)


@dataclass
class Report:
    overdue: int = 0
    escalated: int = 0
    reminded: int = 0
    expired: int = 0
    closed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _overdue(target: str, now: datetime) -> Q:
    return Q(
        state__in=ACTIVE_STATES,
        **{f"{target}_breached_at__isnull": True, f"{target}_due__isnull": False, f"{target}_due__lte": now},
    )


def _candidates(condition: Q, order: str) -> list[int]:
    """The ids a part of the job takes on, read from its partial index in its order."""
    return list(Ticket.objects.filter(condition).order_by(order, "pk").values_list("pk", flat=True)[:BATCH])


def _each(ids: list[int], condition: Q, act: Callable[[Ticket], Any]) -> int:
    """Run ``act`` on each ticket that still meets ``condition``, one transaction each, with
    the ticket locked and the condition checked again; a ticket another run holds is skipped."""
    done = 0
    for pk in ids:
        try:
            with transaction.atomic():
                ticket = (
                    Ticket.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(condition, pk=pk)
                    .select_related("requester", "sla", "department", "team")
                    .first()
                )
                if ticket is None:
                    continue
                act(ticket)
                done += 1
        except (services.TicketActionError, PermissionDenied) as exc:
            logger.warning("Timer job: ticket %s not changed: %s", pk, exc)
        except Exception:
            # One ticket's failure must not stop the others; the next run tries it again.
            logger.exception("Timer job: ticket %s failed", pk)
    return done


@dataclass(frozen=True)
class Part:
    """One part of the job: the tickets it takes on, in which order, and what it does."""

    name: str
    condition: Q
    order: str
    act: Callable[[Ticket], Any]

    def candidates(self) -> list[int]:
        return _candidates(self.condition, self.order)


def sla_parts(now: datetime, report: Report) -> list[Part]:
    def mark(ticket: Ticket) -> None:
        if services.ticket_mark_overdue(ticket=ticket, now=now) is not None:
            report.escalated += 1

    return [
        Part("first response", _overdue("first_response", now), "first_response_due", mark),
        Part("resolution", _overdue("resolution", now), "resolution_due", mark),
    ]


def sla_watch(now: datetime, report: Report) -> None:
    """Tickets that missed a target; a ticket that missed both is marked (and alerted) once.

    The tickets are marked ``CHUNK`` at a time, each chunk in one transaction that locks its
    tickets (in id order; those another run or an agent holds are skipped and wait for the
    next run) and checks again that they are overdue. A chunk that fails is rolled back and
    its tickets are marked one by one, so one bad ticket holds up no other."""
    first, resolution = sla_parts(now, report)
    condition = first.condition | resolution.condition
    ids = sorted(set(first.candidates()) | set(resolution.candidates()))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        try:
            with transaction.atomic():
                locked = (
                    Ticket.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(condition, pk__in=chunk)
                    .select_related("requester")
                    .order_by("pk")
                )
                tickets = catalog.attach_related(list(locked))
                marks = services.tickets_mark_overdue(tickets=tickets, now=now)
        except Exception:
            logger.exception("SLA watch: a batch of %s tickets failed; marking them one by one", len(chunk))
            report.overdue += _each(chunk, condition, first.act)
            continue
        report.overdue += len(marks)
        report.escalated += sum(mark.escalation is not None for mark in marks)


def timer_parts(timers: LifecycleTimers, now: datetime) -> dict[str, Part]:
    """The lifecycle timers that are switched on, as parts of the job."""
    parts = {}
    waiting = Q(state=State.AWAITING_USER)
    if timers.remind_after_days is not None:
        parts["reminded"] = Part(
            REMINDER_TIMER,
            waiting
            & Q(
                reminded_at__isnull=True, state_changed_at__lte=now - timedelta(days=timers.remind_after_days)
            ),
            "state_changed_at",
            lambda t: services.ticket_remind_requester(
                ticket=t, message=_to_requester(t, REMINDER_TEXT), timer=REMINDER_TIMER, now=now
            ),
        )
    if timers.expire_after_days is not None:
        cutoff = now - timedelta(days=timers.expire_after_days)

        def expire(ticket: Ticket) -> None:
            message = _to_requester(ticket, EXPIRY_TEXT)
            services.ticket_resolve(ticket=ticket, actor=None, message=message, system_rule=EXPIRY_TIMER)
            if timers.expire_action == LifecycleTimers.Expiry.CLOSE:
                services.ticket_close(
                    ticket=ticket,
                    actor=None,
                    system_rule=EXPIRY_TIMER,
                    reason="No answer from the requester.",
                )

        # M days after the reminder; with reminders off, M days after the ticket began waiting.
        if timers.remind_after_days is not None:
            parts["expired"] = Part(EXPIRY_TIMER, waiting & Q(reminded_at__lte=cutoff), "reminded_at", expire)
        else:
            parts["expired"] = Part(
                EXPIRY_TIMER,
                waiting & Q(reminded_at__isnull=True, state_changed_at__lte=cutoff),
                "state_changed_at",
                expire,
            )
    if timers.close_resolved_after_days is not None:
        days = timers.close_resolved_after_days
        parts["closed"] = Part(
            AUTO_CLOSE_TIMER,
            Q(state=State.RESOLVED, state_changed_at__lte=now - timedelta(days=days)),
            "state_changed_at",
            lambda t: services.ticket_close(
                ticket=t,
                actor=None,
                system_rule=AUTO_CLOSE_TIMER,
                reason=f"Resolved for {days} days without a reopen.",
            ),
        )
    return parts


def state_timers(now: datetime, report: Report) -> None:
    for counter, part in timer_parts(LifecycleTimers.load(), now).items():
        setattr(
            report, counter, getattr(report, counter) + _each(part.candidates(), part.condition, part.act)
        )


def run_timers(now: datetime | None = None) -> Report:
    """One run of the job (``manage.py run_timers`` and the Celery task both come here); its
    duration is measured and its end noted for /readyz only when it got to the end."""
    started = time.monotonic()
    now = now or timezone.now()
    report = Report()
    sla_watch(now, report)
    state_timers(now, report)
    if any(report.as_dict().values()):
        logger.info("Timer job: %s", report.as_dict())
    # The API's stored answers to idempotent requests, once their window has passed.
    idempotency.purge_expired(now)
    metrics.TIMERS_RUN_SECONDS.observe(time.monotonic() - started)
    _note_finished()
    return report


def _note_finished() -> None:
    try:
        cache.set(LAST_RUN_KEY, time.time(), None)
    except Exception:
        # The work is done; a cache that is away only makes /readyz say so.
        logger.warning("Timer job: could not note the end of the run in the cache", exc_info=True)


def last_finished() -> float | None:
    """When a run of the job last got to the end (a Unix time), from any process; None if
    none did since the cache was emptied. Errors of the cache are the caller's."""
    value = cache.get(LAST_RUN_KEY)
    return float(value) if value is not None else None
