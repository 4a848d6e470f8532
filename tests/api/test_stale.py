"""If-Match on every write to a ticket: a change decided on an older version is refused with
409 ``stale`` and the ticket as it is now, and nothing is done."""

import pytest
from django.db.models import F

from tests.api.conftest import etag, url
from tickets import services
from tickets.models import ThreadEntry, Ticket

# (who, method, path under the ticket, body)
WRITES = {
    "patch": ("john", "patch", (), {"priority": None}),
    "reply": ("john", "post", ("replies",), {"body": "On it"}),
    "note": ("john", "post", ("notes",), {"body": "Balancer?"}),
    "message": ("karen", "post", ("messages",), {"body": "Since 9:00"}),
    "transition": ("john", "post", ("transitions", "claim"), {}),
}


def write(lab, api, ticket, name, if_match):
    who, method, path, body = WRITES[name]
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    return getattr(api(getattr(lab, who)), method)(url(ticket.number, *path), body, format="json", **headers)


def entries(ticket):
    return ThreadEntry.objects.filter(ticket=ticket).count()


@pytest.mark.parametrize("name", list(WRITES))
@pytest.mark.parametrize("if_match", ["{v}", 'W/"{n}"', "*", None])
def test_a_write_on_the_current_version_is_done(lab, api, ticket, name, if_match):
    header = None if if_match is None else if_match.format(v=etag(ticket.version), n=ticket.version)
    answer = write(lab, api, ticket, name, header)
    assert answer.status_code in (200, 201), answer.json()
    assert Ticket.objects.get(pk=ticket.pk).version > ticket.version


@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_on_an_older_version_is_409_stale_with_the_ticket_now(lab, api, ticket, name):
    seen = ticket.version
    services.ticket_note(ticket=ticket, actor=lab.jane, body="Meanwhile")
    before = entries(ticket), Ticket.objects.get(pk=ticket.pk).version

    answer = write(lab, api, ticket, name, etag(seen))

    assert answer.status_code == 409
    data = answer.json()
    assert data["code"] == "stale" and "changed since" in data["message"]
    assert data["ticket"]["version"] == before[1] > seen and data["ticket"]["number"] == ticket.number
    assert (entries(ticket), Ticket.objects.get(pk=ticket.pk).version) == before


def test_the_requester_gets_the_ticket_in_their_form(lab, api, ticket):
    seen = ticket.version
    services.ticket_note(ticket=ticket, actor=lab.jane, body="Internal meanwhile")
    data = write(lab, api, ticket, "message", etag(seen)).json()
    assert "assignee" not in data["ticket"] and "Internal" not in str(data)


@pytest.mark.parametrize("header", ["7", '"seven"', 'W/"', '"1", "2"', ""])
def test_a_malformed_if_match_is_400(lab, api, ticket, header):
    answer = write(lab, api, ticket, "reply", header)
    assert answer.status_code == 400 and "If-Match" in answer.json()["fields"]


def test_a_change_made_while_the_write_runs_is_409_stale_too(lab, api, ticket, monkeypatch):
    """Another agent saves the ticket between the API's read and the service's lock."""
    claim = services.ticket_claim

    def claim_after_someone_else(*, ticket, actor):
        Ticket.objects.filter(pk=ticket.pk).update(version=F("version") + 1)
        return claim(ticket=ticket, actor=actor)

    monkeypatch.setattr(services, "ticket_claim", claim_after_someone_else)
    answer = write(lab, api, ticket, "transition", None)
    assert answer.status_code == 409 and answer.json()["code"] == "stale"
    assert answer.json()["ticket"]["version"] == ticket.version + 1
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
