"""A webhook's payload carries the ticket exactly as the API shows it to an agent: the same keys
in the same order, the same values (``tickets/webhooks/payload.py`` and ``api/serializers``)."""

from __future__ import annotations

import pytest

from api.serializers.tickets import AGENT_TICKET_FIELDS
from tickets import services
from tickets.webhooks import payload

pytestmark = pytest.mark.django_db


def test_the_payloads_ticket_is_the_api_agent_representation(lab, api, ticket):
    services.ticket_assign(ticket=ticket, actor=lab.john, team=lab.online_banking)
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    shown = api(lab.jane).get(f"/api/v1/tickets/{ticket.number}/").json()
    ticket.refresh_from_db()
    sent = payload.ticket_representation(ticket)
    assert list(sent) == list(AGENT_TICKET_FIELDS)
    assert sent == {name: shown[name] for name in AGENT_TICKET_FIELDS}
    assert sent["assignee"] == {"id": lab.jane.pk, "name": "Jane Doe"}
