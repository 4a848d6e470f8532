"""The periodic task: the SLA watch and the state timers (Celery beat runs it every minute)."""

from __future__ import annotations

from celery import shared_task

from tickets.sla import jobs


# The name it had in tickets.tasks: the beat schedule and queued messages still find it.
@shared_task(name="tickets.tasks.run_timers", ignore_result=True)
def run_timers() -> dict[str, int]:
    """The SLA watch and the state timers, once."""
    return jobs.run_timers().as_dict()
