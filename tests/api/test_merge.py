"""POST /api/v1/tickets/{number}/merge/: agents merge a true duplicate; the merged number then
answers for the survivor (reads, messages and moves)."""

import pytest

from tests.api.conftest import etag, url
from tests.factories import AgentFactory
from tickets.models import State, Ticket


@pytest.fixture
def pair(new_ticket):
    return new_ticket(subject="VPN drops"), new_ticket(subject="VPN drops again")


def test_an_agent_merges_and_gets_the_survivor(lab, api, pair):
    first, second = pair
    answer = api(lab.john).post(
        url(first.number, "merge"), {"into": second.number}, format="json", HTTP_IF_MATCH=etag(first.version)
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["number"] == second.number and answer["Location"] == url(second.number)
    merged = Ticket.objects.get(pk=first.pk)
    assert (merged.state, merged.merged_into_id) == (State.CLOSED, second.pk)
    assert answer["ETag"] == etag(Ticket.objects.get(pk=second.pk).version)


def test_the_merged_number_answers_for_the_survivor(lab, api, pair):
    first, second = pair
    api(lab.john).post(url(first.number, "merge"), {"into": second.number}, format="json")
    for who in (lab.john, lab.karen):
        assert api(who).get(url(first.number)).json()["number"] == second.number
    answer = api(lab.karen).post(url(first.number, "messages"), {"body": "Any news?"}, format="json")
    assert answer.status_code == 201
    assert answer.json()["ticket"]["number"] == second.number and answer.json()["follow_up"] is False
    assert Ticket.objects.get(pk=second.pk).thread.filter(kind="message", body="Any news?").exists()
    # Merging the merged number again is refused: it is closed (not its survivor merged instead).
    again = api(lab.john).post(url(first.number, "merge"), {"into": second.number}, format="json")
    assert again.status_code == 409 and "closed cannot merge" in again.json()["message"]


def test_other_requesters_need_confirmation(lab, api, new_ticket, other_requester):
    first = new_ticket(subject="VPN drops", requester=other_requester, actor=None)
    second = new_ticket(subject="VPN drops too")
    answer = api(lab.john).post(url(first.number, "merge"), {"into": second.number}, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "confirm_other_requester"
    assert "Mallory" in answer.json()["message"] and "Karen" in answer.json()["message"]
    assert Ticket.objects.get(pk=first.pk).merged_into_id is None
    body = {"into": second.number, "confirm_other_requester": True}
    assert api(lab.john).post(url(first.number, "merge"), body, format="json").status_code == 200


def test_who_may_merge(lab, api, pair, new_ticket):
    first, second = pair
    body = {"into": second.number}
    # A requester: not an agent's action.
    assert api(lab.karen).post(url(first.number, "merge"), body, format="json").status_code == 403
    # An agent outside the department sees neither ticket: the same 404 as for no ticket.
    outsider = AgentFactory(username="outsider", role="Agent", departments=[])
    assert api(outsider).post(url(first.number, "merge"), body, format="json").status_code == 404
    # Across departments: refused, even for an agent who sees both.
    elsewhere = new_ticket(subject="VPN for admins", department=lab.sysadmins)
    answer = api(lab.jane).post(url(first.number, "merge"), {"into": elsewhere.number}, format="json")
    assert answer.status_code == 409 and "different departments" in answer.json()["message"]
    # John cannot see the SysAdmins' ticket: 404 for the survivor he names.
    answer = api(lab.john).post(url(first.number, "merge"), {"into": elsewhere.number}, format="json")
    assert answer.status_code == 404
    bad = api(lab.john).post(url(first.number, "merge"), {"into": "nope"}, format="json")
    assert bad.status_code == 400 and "into" in bad.json()["fields"]
    assert Ticket.objects.filter(merged_into__isnull=False).count() == 0


def test_a_stale_if_match_is_refused(lab, api, pair):
    first, second = pair
    stale = etag(first.version - 1)
    body = {"into": second.number}
    answer = api(lab.john).post(url(first.number, "merge"), body, format="json", HTTP_IF_MATCH=stale)
    assert answer.status_code == 409 and answer.json()["code"] == "stale"
