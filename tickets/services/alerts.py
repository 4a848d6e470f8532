"""An agent's own alert settings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from tickets.models import (
    AgentProfile,
)
from tickets.services._common import TicketActionError

# -- agents' own settings ---------------------------------------------------------------------


@transaction.atomic
def agent_alerts_update(*, user: Any, alerts: dict[str, bool]) -> AgentProfile:
    """Turn an agent's e-mail alerts on or off (only their own: the caller passes them)."""
    if not (user.is_active and user.is_staff):
        raise PermissionDenied(_("Only agents have alerts."))
    unknown = set(alerts) - set(AgentProfile.ALERTS)
    if unknown:
        # Translators: %(names)s is a list of alert names (identifiers), e.g. "new_ticket, overdue".
        raise TicketActionError(_("No such alert: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    profile, _created = AgentProfile.objects.get_or_create(user=user)
    for name, value in alerts.items():
        setattr(profile, name, bool(value))
    profile.save(update_fields=list(alerts) or None)
    return profile
