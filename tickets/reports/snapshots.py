"""The dashboard as last computed: what the console's page, its CSV exports and the API show.

Computing the dashboard reads the period's tickets and moves (``figures.dashboard``): about a
second at a million tickets, where a page should answer within 100 ms. So each dashboard a
person asks for is kept (``ReportSnapshot``, keyed by whose view of the tickets, the period as
asked and the filters) and shown again while it is younger than ``REPORTS_MAX_AGE_SECONDS``,
with the moment it was computed; the periodic job (``refresh``) recomputes, every
``REPORTS_REFRESH_SECONDS``, each one looked at in the last day, and computes ahead the default
view (the last 30 days, no filter) of everyone who may read the reports. Asking with ``fresh``
computes it now. A row is the figures ``figures.dashboard`` returned, exactly: the snapshot
only decides when they are computed.

The figures keep their labels (stages, SLA targets, rates) in English, whoever's request computed
them: ``dashboard`` gives them in the reader's language (``localized``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import types
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Union, get_args, get_origin, get_type_hints

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext

from tickets import selectors
from tickets.models import ReportSnapshot, State
from tickets.reports import figures
from tickets.reports.types import Dashboard, PeriodAsked, ReportFilters

logger = logging.getLogger(__name__)

PERMISSION = "tickets.view_reports"
# A look at the dashboard keeps it refreshed this long; one nobody looked at for KEPT is deleted.
WATCHED = timedelta(days=1)
KEPT = timedelta(days=7)
# The viewing time is written at most this often per dashboard (not on every page view).
VIEW_MARK = timedelta(minutes=1)


def may_read_reports(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.has_perm(PERMISSION))


def scope_of(user: Any) -> str:
    """Which tickets ``user`` sees, as a word: ``all``, or their departments, teams and own id
    (``selectors.tickets_visible_to``); users with the same word see the same dashboards."""
    if not (user.is_active and user.is_staff and user.has_perm("tickets.view_ticket")):
        return "none"
    departments, teams = selectors.scope_of_agent(user)
    if departments is None:
        return "all"
    return f"d{','.join(map(str, departments))};t{','.join(map(str, teams))};u{user.pk}"


def key_of(scope: str, asked: PeriodAsked, filters: ReportFilters) -> str:
    named = [scope, encode(asked), encode(filters)]
    return hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()


# -- the figures as JSON, exactly ----------------------------------------------------------------


def encode(value: Any) -> Any:
    """A report's value as JSON: dataclasses as objects, durations in microseconds, times and
    days in ISO 8601 (``decode`` gives back an equal value)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, Promise):
        return str(value)  # a lazy label (a stage's name), in the language active now
    return value


def decode(kind: Any, value: Any) -> Any:
    """``value`` (from ``encode``) as a ``kind``: a dataclass, or a type hint of its fields."""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        (kind,) = [arg for arg in get_args(kind) if arg is not type(None)]
        return decode(kind, value)
    if origin is list:
        (item,) = get_args(kind)
        return [decode(item, v) for v in value]
    if origin is tuple:
        return tuple(decode(item, v) for item, v in zip(get_args(kind), value, strict=True))
    if is_dataclass(kind):
        hints = get_type_hints(kind)
        return kind(**{f.name: decode(hints[f.name], value[f.name]) for f in fields(kind) if f.name in value})
    if kind is timedelta:
        return timedelta(microseconds=value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    return value


# -- the dashboard, as kept or computed now ---------------------------------------------------------


def dashboard(
    user: Any,
    asked: PeriodAsked,
    filters: ReportFilters,
    *,
    fresh: bool = False,
    now: datetime | None = None,
) -> Dashboard:
    """The dashboard for ``user`` (who may read the reports): as computed at most
    ``REPORTS_MAX_AGE_SECONDS`` ago (one query), else, or with ``fresh``, computed now and kept.
    Its ``computed_at`` says when."""
    now = now or timezone.now()
    scope = scope_of(user)
    key = key_of(scope, asked, filters)
    if not fresh:
        max_age = timedelta(seconds=settings.REPORTS_MAX_AGE_SECONDS)
        row = (
            ReportSnapshot.objects.filter(key=key, computed_at__gt=now - max_age)
            .values("pk", "figures", "viewed_at")
            .first()
        )
        if row is not None:
            if row["viewed_at"] is None or row["viewed_at"] < now - VIEW_MARK:
                ReportSnapshot.objects.filter(pk=row["pk"]).update(viewed_at=now)
            return localized(decode(Dashboard, row["figures"]))
    return localized(_compute(user, scope, key, asked, filters, now=now, viewed=True))


def _stage_label(state: str, label: str) -> str:
    return str(State(state).label) if state in State.values else label


def _translated(text: str) -> str:
    """An English text the figures keep (marked for translation where it is written), in the
    active language; as it is when the catalogue lacks it (gettext("") would be the header)."""
    return gettext(text) if text else text


def localized(found: Dashboard) -> Dashboard:
    """The dashboard with its labels in the active language (the figures keep them in English:
    ``figures.RATE_TEXTS``, ``sla.LABELS``, the stages' labels)."""
    return replace(
        found,
        funnel=[(state, _stage_label(state, label), count) for state, label, count in found.funnel],
        stage_times=[
            replace(stage, label=_stage_label(stage.state, stage.label)) for stage in found.stage_times
        ],
        attainment=[replace(target, label=_translated(target.label)) for target in found.attainment],
        rates=[
            replace(rate, label=_translated(rate.label), explained=_translated(rate.explained))
            for rate in found.rates
        ],
    )


def _compute(
    user: Any,
    scope: str,
    key: str,
    asked: PeriodAsked,
    filters: ReportFilters,
    *,
    now: datetime,
    viewed: bool,
) -> Dashboard:
    started = time.perf_counter()
    found = figures.dashboard(user, asked.period(now), filters, now=now)
    row = ReportSnapshot(
        key=key,
        user=user,
        scope=scope,
        days=asked.days,
        first_day=asked.first,
        last_day=asked.last,
        filters=encode(filters),
        figures=encode(found),
        computed_at=now,
        took_ms=round((time.perf_counter() - started) * 1000),
        viewed_at=now if viewed else None,
    )
    # One statement, whoever kept the same figures before (or at the same moment, elsewhere).
    written = ["user", "figures", "computed_at", "took_ms", *(["viewed_at"] if viewed else [])]
    ReportSnapshot.objects.bulk_create(
        [row], update_conflicts=True, unique_fields=["key"], update_fields=written
    )
    return found


# -- the periodic job -------------------------------------------------------------------------------


@dataclass
class Refreshed:
    computed: int = 0
    forgotten: int = 0
    left: int = 0  # due, but the run's time was up: the next run takes them first


def readers() -> list[Any]:
    """Everyone who may read the reports now (a few supervisors): one query, and their
    permissions from the cache."""
    named = Q(groups__permissions__codename="view_reports") | Q(user_permissions__codename="view_reports")
    staff = get_user_model().objects.filter(is_active=True, is_staff=True)
    users = staff.filter(named | Q(is_superuser=True))
    return [user for user in users.distinct().order_by("pk") if may_read_reports(user)]


def refresh(now: datetime | None = None, *, budget_seconds: float | None = None) -> Refreshed:
    """Compute ahead each reader's default view that is not kept yet, recompute the kept
    dashboards looked at in the last day (or computed ahead) that are older than
    ``REPORTS_REFRESH_SECONDS``, oldest first, for ``budget_seconds`` at most, and forget those
    of users who may no longer read them (or see other tickets now) and those nobody looked at
    for a week. Safe to run twice or side by side: each dashboard is computed from the log and
    written whole."""
    now = now or timezone.now()
    budget = settings.REPORTS_REFRESH_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    started = time.monotonic()
    done = Refreshed()
    done.forgotten += ReportSnapshot.objects.filter(viewed_at__lt=now - KEPT).delete()[0]
    default, no_filter = PeriodAsked(), ReportFilters()
    kept = set(ReportSnapshot.objects.values_list("key", flat=True))
    for user in readers():
        scope = scope_of(user)
        key = key_of(scope, default, no_filter)
        if key not in kept:
            kept.add(key)
            _compute(user, scope, key, default, no_filter, now=now, viewed=False)
            done.computed += 1
    # Due a little early, so that a run every REPORTS_REFRESH_SECONDS finds what the last one did.
    due_before = now - timedelta(seconds=settings.REPORTS_REFRESH_SECONDS * 0.9)
    watched = Q(viewed_at__gte=now - WATCHED) | Q(viewed_at__isnull=True)
    due = ReportSnapshot.objects.filter(watched, computed_at__lte=due_before).select_related("user")
    due = due.defer("figures")
    for row in due.order_by("computed_at", "pk"):
        if time.monotonic() - started > budget:
            done.left += 1
            continue
        user = row.user
        if not may_read_reports(user) or scope_of(user) != row.scope:
            row.delete()
            done.forgotten += 1
            continue
        asked = PeriodAsked(days=row.days, first=row.first_day, last=row.last_day)
        _compute(user, row.scope, row.key, asked, decode(ReportFilters, row.filters), now=now, viewed=False)
        done.computed += 1
    if done.computed or done.forgotten or done.left:
        logger.info("Reports refreshed: %s", done)
    return done
