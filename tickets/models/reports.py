"""The supervisors' dashboard as last computed, for each set of parameters someone looks at.

At a million tickets the dashboard takes about a second to compute from the tickets and their
transition log (``tickets.reports.figures``), far more than a page should. The periodic job
recomputes each dashboard a supervisor looked at in the last day, every few minutes, and the
page shows it with the moment it was computed (``tickets.reports.snapshots``). A row holds
figures only: nothing in it is the record of anything, and ``manage.py rebuild_reports``, or
deleting the rows, loses nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ReportSnapshot(models.Model):
    # What the figures are about, hashed: whose view (the tickets they may see), the period
    # asked (the last days, or a range of local days) and the filters.
    key = models.CharField(max_length=64, unique=True)
    # Who the figures were computed for; the job recomputes them as this user while their view
    # of the tickets stays the same (``scope``), and forgets them otherwise.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=200)
    days = models.PositiveSmallIntegerField(null=True, blank=True)
    first_day = models.DateField(null=True, blank=True)
    last_day = models.DateField(null=True, blank=True)
    filters = models.JSONField(default=dict)
    figures = models.JSONField()
    computed_at = models.DateTimeField()
    took_ms = models.PositiveIntegerField(default=0)
    # When a person last looked at them (None: computed ahead by the job, never asked for yet).
    viewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["computed_at"], name="report_snapshot_computed")]

    def __str__(self) -> str:
        return f"Report for {self.scope} computed {self.computed_at:%Y-%m-%d %H:%M}"
