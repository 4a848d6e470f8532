"""Related tickets through the API: listed, related and taken back by agents who see both."""

import pytest

from tests.api.conftest import url
from tickets import services
from tickets.models import RelatedLink


@pytest.fixture
def pair(new_ticket):
    return new_ticket(subject="VPN drops"), new_ticket(subject="VPN slow")


def test_an_agent_relates_lists_and_takes_back(lab, api, pair):
    first, second = pair
    john = api(lab.john)
    answer = john.post(url(first.number, "related"), {"ticket": second.number}, format="json")
    assert answer.status_code == 201, answer.json()
    assert [row["number"] for row in answer.json()["results"]] == [second.number]
    listed = john.get(url(second.number, "related")).json()["results"]
    assert listed == [{"number": first.number, "subject": "VPN drops", "state": "open", "requester": "Karen"}]
    again = john.post(url(first.number, "related"), {"ticket": second.number}, format="json")
    assert again.status_code == 400
    assert "already related" in again.json()["fields"]["ticket"][0]
    gone = john.delete(url(second.number, "related", first.number))
    assert gone.status_code == 200 and gone.json()["results"] == []
    assert not RelatedLink.objects.exists()


def test_related_links_are_for_agents_who_see_both(lab, api, pair, stranger):
    first, second = pair
    # A ticket the caller does not see is the same 404 as one that does not exist.
    assert api(stranger).get(url(first.number, "related")).status_code == 404
    unknown = api(lab.john).post(url(first.number, "related"), {"ticket": "999999"}, format="json")
    assert unknown.status_code == 404
    # Karen, the requester, sees her tickets but is no agent.
    refused = api(lab.karen).post(url(first.number, "related"), {"ticket": second.number}, format="json")
    assert refused.status_code == 403
    assert not RelatedLink.objects.exists()


def test_the_list_shows_only_what_the_caller_sees(lab, api, pair):
    first, second = pair
    services.ticket_relate(ticket=first, other=second, actor=lab.jane)
    services.ticket_assign(ticket=second, actor=lab.jane, team=lab.online_banking, department=lab.sysadmins)
    # John (Support) no longer sees the second ticket: it is not listed to him.
    assert api(lab.john).get(url(first.number, "related")).json()["results"] == []
    assert len(api(lab.jane).get(url(first.number, "related")).json()["results"]) == 1
