"""Replies, notes, messages and transitions: each calls its service as the console and the
portal do; refusals are 400 (fields), 403 (permission), 404 (name or ticket), 409 (state)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from api.serializers.tickets import REQUESTER_TICKET_FIELDS
from api.views.actions import AGENT_MOVES
from tests.api.conftest import etag, url
from tests.factories import AgentFactory
from tickets import services
from tickets.models import ApiKey, State, ThreadEntry, Ticket


def txt(name="log.txt", text=b"error at 09:00\n"):
    return SimpleUploadedFile(name, text, content_type="text/plain")


def test_an_agent_replies_with_files_and_the_answer_is_the_entry_and_the_ticket(lab, api, ticket):
    answer = api(lab.john).post(
        url(ticket.number, "replies"), {"body": "We are **on it**.", "attachments": [txt(), txt("b.txt")]}
    )

    assert answer.status_code == 201, answer.json()
    data = answer.json()
    assert set(data) == {"entry", "ticket", "follow_up"} and data["follow_up"] is False
    entry = data["entry"]
    assert (entry["kind"], entry["is_public"], entry["author"]) == ("reply", True, "John Doe")
    assert entry["body_html"] == "<p>We are <strong>on it</strong>.</p>\n"
    assert sorted(f["filename"] for f in entry["attachments"]) == ["b.txt", "log.txt"]
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    assert answer["ETag"] == etag(ticket.version) and answer["Location"] == url(ticket.number)
    assert data["ticket"]["version"] == ticket.version and "thread" in data["ticket"]


def test_an_agents_note_stays_internal(lab, api, ticket):
    answer = api(lab.john).post(url(ticket.number, "notes"), {"body": "Check the balancer"}, format="json")
    assert answer.status_code == 201 and answer.json()["entry"]["is_public"] is False
    assert "balancer" not in str(api(lab.karen).get(url(ticket.number)).json())


def test_a_refused_file_is_400_with_the_reason(lab, api, ticket):
    page = SimpleUploadedFile(
        "page.html", b"<html><script>alert(1)</script></html>", content_type="text/html"
    )
    answer = api(lab.john).post(url(ticket.number, "replies"), {"body": "Look", "attachments": [page]})
    assert answer.status_code == 400
    assert "not a file type we accept" in answer.json()["fields"]["attachments"][0]
    assert not ticket.thread.filter(kind=ThreadEntry.Kind.REPLY).exists()


def test_the_requesters_answer_sends_a_waiting_ticket_back_to_work(lab, api, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_request_info(ticket=ticket, actor=lab.john, message="Since when?")

    answer = api(lab.karen).post(url(ticket.number, "messages"), {"body": "Since 9:00"}, format="json")

    assert answer.status_code == 201
    assert answer.json()["ticket"]["state"] == State.IN_PROGRESS
    assert answer.json()["entry"]["kind"] == "message" and answer.json()["follow_up"] is False


def test_a_message_on_a_closed_ticket_opens_a_follow_up_and_says_so(lab, api, resolved):
    services.ticket_close(ticket=resolved, actor=lab.john)

    answer = api(lab.karen).post(
        url(resolved.number, "messages"), {"body": "It is down again"}, format="json"
    )

    assert answer.status_code == 201
    follow_up = Ticket.objects.get(follow_up_of=resolved)
    data = answer.json()
    assert data["follow_up"] is True
    assert data["ticket"]["number"] == follow_up.number and data["ticket"]["follow_up_of"] == resolved.number
    assert answer["Location"] == url(follow_up.number)


def test_an_integration_posts_the_requesters_message_naming_them(lab, api, integration, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_request_info(ticket=ticket, actor=lab.john, message="Since when?")
    body = {"body": "Still down (monitor)", "requester_email": "KAREN@Example.com"}

    answer = api(key=integration).post(url(ticket.number, "messages"), body, format="json")

    assert answer.status_code == 201, answer.json()
    assert tuple(answer.json()["ticket"]) == REQUESTER_TICKET_FIELDS  # no thread: it reads nothing
    move = ticket.transitions.get(name="receive_reply")
    assert move.actor is None and move.actor_label == "system: API key “Monitoring”"


@pytest.mark.parametrize("email", ["ken@example.com", None])
def test_an_integration_naming_someone_else_gets_the_same_404(lab, api, integration, ticket, email):
    body = {"body": "Hello"} | ({"requester_email": email} if email else {})
    answer = api(key=integration).post(url(ticket.number, "messages"), body, format="json")
    if email is None:
        assert answer.status_code == 400 and "requester_email" in answer.json()["fields"]
    else:
        assert answer.status_code == 404
        assert answer.json() == api(key=integration).post(url("999999", "messages"), body).json()


def test_an_integration_key_of_another_department_gets_404(lab, api, make_key, ticket):
    key = make_key(lab.admin, ApiKey.Scope.CREATE, department=lab.sysadmins)
    body = {"body": "Hello", "requester_email": "karen@example.com"}
    assert api(key=key).post(url(ticket.number, "messages"), body, format="json").status_code == 404


def test_agents_do_not_send_requester_messages_and_requesters_do_not_reply(lab, api, ticket):
    assert api(lab.john).post(url(ticket.number, "messages"), {"body": "x"}).status_code == 403
    assert api(lab.karen).post(url(ticket.number, "replies"), {"body": "x"}).status_code == 403
    assert api(lab.karen).post(url(ticket.number, "notes"), {"body": "x"}).status_code == 403


# -- transitions -------------------------------------------------------------------------------


def move(client, ticket, name, body=None):
    return client.post(url(ticket.number, "transitions", name), body or {}, format="json")


def test_an_agent_walks_a_ticket_through_its_life(lab, api, ticket):
    john = api(lab.john)
    steps = [
        ("claim", {}, State.ASSIGNED),
        ("start_work", {}, State.IN_PROGRESS),
        ("request_info", {"message": "Since when?"}, State.AWAITING_USER),
        ("resolve", {"message": "Fixed."}, State.RESOLVED),
        ("reopen", {"reason": "Not fixed after all"}, State.IN_PROGRESS),
        ("resolve", {"message": "Fixed now."}, State.RESOLVED),
        ("close", {}, State.CLOSED),
    ]
    for name, body, state in steps:
        answer = move(john, ticket, name, body)
        assert answer.status_code == 200, (name, answer.json())
        ticket.refresh_from_db()
        assert answer.json()["state"] == ticket.state == state
        assert answer["ETag"] == etag(ticket.version)
    assert [t.name for t in ticket.transitions.all()][2:] == [name for name, _, _ in steps]


def test_assign_escalate_and_cancel(lab, api, ticket, new_ticket):
    john, jane = api(lab.john), api(lab.jane)
    answer = move(john, ticket, "assign", {"agent": lab.john.pk, "team": None})
    assert answer.status_code == 200 and answer.json()["assignee"]["name"] == "John Doe"
    answer = move(john, ticket, "escalate", {"summary": "Needs banking", "team": lab.online_banking.pk})
    assert answer.status_code == 200, answer.json()
    assert (answer.json()["state"], answer.json()["tier"]) == (State.ESCALATED, 2)
    # A tier-1 team is no escalation: 400 on the field.
    other = new_ticket(subject="Printer")
    move(john, other, "claim")
    answer = move(jane, other, "escalate", {"summary": "x", "department": lab.support.pk})
    assert answer.status_code == 400 and "department" in answer.json()["fields"]
    answer = move(john, other, "cancel", {"reason": "Duplicate"})
    assert answer.status_code == 200 and answer.json()["state"] == State.CLOSED


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("request_info", {}, "message"),
        ("resolve", {"message": ""}, "message"),
        ("reopen", {}, "reason"),
        ("cancel", {}, "reason"),
        ("escalate", {"team": 1}, "summary"),
        ("assign", {}, "non_field_errors"),
        ("assign", {"agent": 999999}, "agent"),
    ],
)
def test_a_missing_or_bad_field_is_400_naming_it(lab, api, ticket, name, body, field):
    answer = move(api(lab.jane), ticket, name, body)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid" and field in answer.json()["fields"]


def test_a_move_not_allowed_from_the_state_is_409_with_the_ticket(lab, api, ticket):
    answer = move(api(lab.john), ticket, "resolve", {"message": "Done"})
    assert answer.status_code == 409
    data = answer.json()
    assert data["code"] == "not_allowed" and "cannot resolve" in data["message"]
    assert data["ticket"]["state"] == State.OPEN and data["ticket"]["version"] == ticket.version


def test_a_move_without_the_permission_is_403(lab, api, ticket):
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.support])
    answer = move(api(viewer), ticket, "claim")
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    assert move(api(lab.karen), ticket, "claim").status_code == 403


def test_an_unknown_transition_is_404(lab, api, ticket):
    answer = move(api(lab.john), ticket, "teleport")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"


def test_every_agent_transition_has_its_url(lab, api, ticket):
    for name in AGENT_MOVES:
        assert move(api(lab.john), ticket, name).status_code != 404, name


def test_the_requester_confirms_the_fix(lab, api, resolved):
    answer = move(api(lab.karen), resolved, "close")
    assert answer.status_code == 200 and answer.json()["state"] == State.CLOSED
    assert resolved.transitions.last().reason == services.REQUESTER_CONFIRMED


def test_the_requester_reopens_with_a_reason(lab, api, resolved):
    assert move(api(lab.karen), resolved, "reopen").status_code == 400
    answer = move(api(lab.karen), resolved, "reopen", {"reason": "Still down"})
    assert answer.status_code == 200 and answer.json()["state"] == State.IN_PROGRESS
    assert answer.json()["thread"][-1]["body"] == "Still down"


def test_the_requester_closes_only_a_resolved_ticket(lab, api, ticket):
    answer = move(api(lab.karen), ticket, "close")
    assert answer.status_code == 409 and answer.json()["code"] == "not_allowed"
    assert answer.json()["ticket"]["state"] == State.OPEN
