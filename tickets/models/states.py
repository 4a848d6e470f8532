"""The eight states of a ticket, what the requester is told of each, and which are active."""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class State(models.TextChoices):
    """The eight stages, with what the requester is told (docs/lifecycle.md)."""

    NEW = "new", pgettext_lazy("ticket state", "New")
    OPEN = "open", pgettext_lazy("ticket state", "Open")
    ASSIGNED = "assigned", pgettext_lazy("ticket state", "Assigned")
    AWAITING_USER = "awaiting_user", _("Awaiting user")
    IN_PROGRESS = "in_progress", _("In progress")
    ESCALATED = "escalated", pgettext_lazy("ticket state", "Escalated")
    RESOLVED = "resolved", pgettext_lazy("ticket state", "Resolved")
    CLOSED = "closed", pgettext_lazy("ticket state", "Closed")


# Eight distinct names: the stage strip shows all of them side by side.
PUBLIC_STAGE_LABELS: dict[str, Promise] = {
    State.NEW: _("Submitted"),
    State.OPEN: _("Received"),
    State.ASSIGNED: _("Assigned to our team"),
    State.AWAITING_USER: _("Waiting for your reply"),
    State.IN_PROGRESS: _("Being worked on"),
    State.ESCALATED: _("With a specialist team"),
    State.RESOLVED: _("Resolved: please confirm"),
    State.CLOSED: pgettext_lazy("ticket state", "Closed"),
}

ACTIVE_STATES = (
    State.OPEN,
    State.ASSIGNED,
    State.AWAITING_USER,
    State.IN_PROGRESS,
    State.ESCALATED,
)
