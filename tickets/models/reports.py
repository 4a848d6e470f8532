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
from django.utils.translation import gettext_lazy


class ReportSnapshot(models.Model):
    # What the figures are about, hashed: whose view (the tickets they may see), the period
    # asked (the last days, or a range of local days) and the filters.
    key = models.CharField(max_length=64, unique=True, verbose_name=gettext_lazy("key"))
    # Who the figures were computed for; the job recomputes them as this user while their view
    # of the tickets stays the same (``scope``), and forgets them otherwise.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=gettext_lazy("user"),
    )
    scope = models.CharField(max_length=200, verbose_name=gettext_lazy("scope"))
    days = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=gettext_lazy("days"))
    first_day = models.DateField(null=True, blank=True, verbose_name=gettext_lazy("first day"))
    last_day = models.DateField(null=True, blank=True, verbose_name=gettext_lazy("last day"))
    filters = models.JSONField(default=dict, verbose_name=gettext_lazy("filters"))
    figures = models.JSONField(verbose_name=gettext_lazy("figures"))
    computed_at = models.DateTimeField(verbose_name=gettext_lazy("computed at"))
    took_ms = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("took ms"))
    # When a person last looked at them (None: computed ahead by the job, never asked for yet).
    viewed_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("viewed at"))

    class Meta:
        verbose_name = gettext_lazy("report snapshot")
        verbose_name_plural = gettext_lazy("report snapshots")
        indexes = [models.Index(fields=["computed_at"], name="report_snapshot_computed")]

    def __str__(self) -> str:
        return f"Report for {self.scope} computed {self.computed_at:%Y-%m-%d %H:%M}"
