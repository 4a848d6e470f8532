"""The periodic task that keeps the supervisors' dashboards fresh (Celery beat runs it every
REPORTS_REFRESH_SECONDS; ``manage.py run_timers --loop`` beside the dev server)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from tickets.reports import snapshots


@shared_task(name="tickets.tasks.refresh_reports", ignore_result=True)
def refresh_reports() -> dict[str, int]:
    return asdict(snapshots.refresh())
