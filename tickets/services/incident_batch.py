"""A major incident's reports written in batches: resolving them with the incident, and its
public updates (``tickets.services.incidents``).

Each report still makes its own move through the state machine (``Ticket.resolve``, decided
in memory on a copy read under its row lock) and gets the same fields, log row, thread
entries, mail, webhook events and metrics as ``_common._run`` and ``_add_entry`` would give
it one by one; only the writing is gathered: the reports' rows are locked and read in one
query, their logs for the SLA clock in one, and each batch of up to ``BATCH`` reports is written
in a few statements whatever its size (the rows, the log rows, the entries). The caller holds
the locks in its transaction, so no report changes meanwhile. The mail is queued on commit,
one task per message as before (the resolution mails are not sent in the request).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from tickets import markup
from tickets.mailout import tasks
from tickets.models import ThreadEntry, Ticket, TicketTransition
from tickets.services import checks
from tickets.services._common import (
    _actor_label,
    _mark_first_response,
    _mark_resolution,
    _new_entry,
    _retarget,
    _system_name,
)
from tickets.sla import clock
from tickets.webhooks import events as webhooks

# Reports written per statement: a batch's rows, logs and entries are held in memory.
BATCH = 500

# What a resolve may change on a report besides its state (``_mark_*``, ``_retarget``).
RESOLVED_FIELDS = [
    "resolved_at",
    "first_responded_at",
    "first_response_met",
    "first_response_due",
    "resolution_due",
    "resolution_met",
    "first_response_breached_at",
    "resolution_breached_at",
    "state_changed_at",
    "reminded_at",
]
# What a public update may change on a report (``_mark_first_response``).
ANSWERED_FIELDS = ["first_responded_at", "first_response_met", "first_response_due"]


def locked_reports(incident: Ticket, states: Sequence[str], *, for_clock: bool = False) -> list[Ticket]:
    """The incident's reports in ``states``, locked for the rest of the transaction; ``for_clock``
    reads what the SLA clock reads of each (its plan's targets and calendar) too, in a few
    queries in all."""
    reports: QuerySet[Ticket] = (
        Ticket.objects.select_for_update(of=("self",))
        .filter(incident=incident, state__in=states)
        .select_related("requester")
        .order_by("id")
    )
    if for_clock:
        reports = reports.select_related("priority", "sla__business_hours").prefetch_related(
            "sla__targets", "sla__business_hours__windows", "sla__business_hours__holidays"
        )
    return list(reports)


def _batches(reports: list[Ticket]) -> Iterable[list[Ticket]]:
    for start in range(0, len(reports), BATCH):
        yield reports[start : start + BATCH]


def _logs(reports: list[Ticket]) -> dict[int, list[clock.Move]]:
    """Each report's transition log as the SLA clock reads it (``_retarget``), in one query."""
    moves: dict[int, list[clock.Move]] = defaultdict(list)
    rows = (
        TicketTransition.objects.filter(ticket__in=[r.pk for r in reports])
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "name", "target", "created_at")
    )
    for ticket_id, name, target, at in rows:
        moves[ticket_id].append(clock.Move(name, target, at))
    return moves


def _values(report: Ticket, fields: list[str]) -> dict[str, Any]:
    return {name: getattr(report, name) for name in fields}


def _write(reports: list[Ticket], was: list[dict[str, Any]], fields: list[str], now: Any) -> None:
    """Store what changed of ``fields`` on each report since ``was`` (its ``_values`` when read),
    saved as ``Ticket.save`` would (its activity time, its version raised by one): one statement
    per distinct set of changes, as ``timers.tickets_mark_overdue`` writes (few: most reports
    of a batch change alike). The caller holds the rows' locks, read them under those locks, and
    wrote their states (``bulk_update``: a state is only written as its move set it)."""
    batches: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for report, old in zip(reports, was, strict=True):
        now_values = _values(report, fields)
        changes = tuple((name, value) for name, value in now_values.items() if value != old[name])
        batches[changes].append(report.pk)
    for changes, ids in batches.items():
        stored = Ticket.objects.filter(pk__in=ids)
        stored.update(version=F("version") + 1, last_activity_at=now, **dict(changes))
    for report in reports:
        report.stored_as(last_activity_at=now)
        report._update_initial_state()


class _Rendered(dict[str, str]):
    """Thread entries' stored HTML, rendered once per body (bulk_create skips ThreadEntry.save)."""

    def __missing__(self, body: str) -> str:
        html = self[body] = markup.render_markdown(body)
        return html


@dataclass
class Resolved:
    resolved: list[Ticket]
    refused: list[tuple[Ticket, str]]


def resolve_batch(
    incident: Ticket, reports: list[Ticket], *, message: str, actor: Any, at: Any, rule: str
) -> Resolved:
    """Resolve ``reports`` (locked by ``locked_reports``) with the incident's ``message``, each as
    ``_run(report, "resolve", actor=None, system_rule=rule, ...)`` then ``_add_entry`` of the
    message as a resolution reply would. A report whose move is refused is left as it is."""
    label = _actor_label(None, rule)
    event_text = f"Resolved with major incident #{incident.number}"
    author_name = _system_name(actor)
    rendered = _Rendered()
    done = Resolved([], [])
    for batch in _batches(reports):
        logs = _logs(batch)
        now = timezone.now()
        moved, was, transitions = [], [], []
        for report in batch:
            report.incident = incident
            source, old = report.state, _values(report, RESOLVED_FIELDS)
            # The same refusal _run raises (for the system: only the state decides).
            refusal = checks.move_refusal(report, "resolve", None)
            if refusal is not None:
                done.refused.append((report, refusal.message))
                continue
            try:
                report.resolve(at=at)
            except (TransitionNotAllowed, ValueError) as exc:
                done.refused.append((report, str(exc)))
                continue
            _mark_first_response(report, at=at)
            _mark_resolution(report, at=now)
            report.state_changed_at = now
            report.reminded_at = None
            pending = clock.Move("resolve", report.state, now)
            _retarget(report, now=now, pending=pending, log=logs[report.pk])
            moved.append(report)
            was.append(old)
            transitions.append(
                TicketTransition(
                    ticket=report,
                    name="resolve",
                    source=source,
                    target=report.state,
                    actor=None,
                    actor_label=label,
                    reason="",
                    created_at=now,
                )
            )
        if not moved:
            continue
        Ticket.objects.bulk_update(moved, ["state"])
        _write(moved, was, RESOLVED_FIELDS, now)
        TicketTransition.objects.bulk_create(transitions)
        entries = []
        for report in moved:
            event = _new_entry(
                report, kind=ThreadEntry.Kind.EVENT, body=event_text, actor=None, author_name=label
            )
            reply = _new_entry(
                report, kind=ThreadEntry.Kind.REPLY, body=message, actor=actor, author_name=author_name
            )
            entries += [event, reply]
        for entry in entries:
            entry.body_html = rendered[entry.body]
        # In thread order: each report's event, then its reply.
        ThreadEntry.objects.bulk_create(entries)
        replies = entries[1::2]
        _check_saved(transitions, entries)
        emitted: list[tuple[str, Ticket, TicketTransition | ThreadEntry]] = []
        for report, log, reply in zip(moved, transitions, replies, strict=True):
            _queue_resolution_mail(log.pk, reply.pk)
            emitted.append((webhooks.Event.TRANSITION, report, log))
            emitted.append((webhooks.Event.PUBLIC_REPLY, report, reply))
        webhooks.emit_many(emitted)
        done.resolved += moved
    return done


def _queue_resolution_mail(log_id: int, reply_id: int) -> None:
    # What _run and _add_entry queue: the move's mail (requester and agents), the reply's.
    transaction.on_commit(
        lambda: tasks.notify_transition.delay(log_id, requester=True, agents=True), robust=True
    )
    transaction.on_commit(lambda: tasks.notify_entry.delay(reply_id, "resolution"), robust=True)


def post_update_batch(reports: list[Ticket], *, body: str, actor: Any) -> None:
    """A public update from ``actor`` on each of ``reports`` (locked by ``locked_reports``), as
    ``_add_entry(..., notify="reply")`` then ``_mark_first_response`` and the save would."""
    rendered = _Rendered()
    for batch in _batches(reports):
        replies = [
            _new_entry(report, kind=ThreadEntry.Kind.REPLY, body=body, actor=actor) for report in batch
        ]
        for reply in replies:
            reply.body_html = rendered[reply.body]
        ThreadEntry.objects.bulk_create(replies)
        _check_saved([], replies)
        # One update, posted at one moment: the insert stamped each reply as it went, and a
        # report's first response is its reply's time (so the reports change alike).
        posted = replies[0].created_at
        ThreadEntry.objects.filter(pk__in=[reply.pk for reply in replies]).update(created_at=posted)
        was = [_values(report, ANSWERED_FIELDS) for report in batch]
        for report, reply in zip(batch, replies, strict=True):
            reply.created_at = posted
            _mark_first_response(report, at=posted)
        _write(batch, was, ANSWERED_FIELDS, timezone.now())
        for reply in replies:
            _queue_reply_mail(reply.pk)
        webhooks.emit_many([(webhooks.Event.PUBLIC_REPLY, r, e) for r, e in zip(batch, replies, strict=True)])


def _queue_reply_mail(reply_id: int) -> None:
    # What _add_entry(..., notify="reply") queues.
    transaction.on_commit(lambda: tasks.notify_entry.delay(reply_id, "reply"), robust=True)


def _check_saved(transitions: list[TicketTransition], entries: list[ThreadEntry]) -> None:
    # The mail and the webhooks name the rows by id: the database must return them on insert
    # (PostgreSQL does, SQLite since 3.35).
    if any(row.pk is None for row in (*transitions, *entries)):
        raise RuntimeError("The database did not return the ids of the rows inserted in bulk.")
