"""GET /tickets/{number}/: each caller's form of the ticket, its thread and log, what they may
do now; its files; PATCH of its properties by agents."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from api.serializers.tickets import AGENT_TICKET_FIELDS, REQUESTER_TICKET_FIELDS
from tests.api.conftest import etag, url
from tests.factories import AgentFactory
from tickets import services
from tickets.models import Priority, SLAPlan, State, Team

DETAIL = ("thread", "transitions", "allowed_transitions")


def png(name="screen.png"):
    return SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png")


def test_an_agent_reads_every_property_the_whole_thread_and_the_log(lab, api, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_note(ticket=ticket, actor=lab.john, body="Load balancer?", attachments=[png()])
    ticket.refresh_from_db()

    answer = api(lab.john).get(url(ticket.number))

    assert answer.status_code == 200
    assert answer["ETag"] == etag(ticket.version)
    data = answer.json()
    assert tuple(data) == AGENT_TICKET_FIELDS + ("reports_count",) + DETAIL
    assert (data["is_major_incident"], data["incident_status"], data["incident"]) == (False, "", None)
    assert data["reports_count"] is None
    assert data["number"] == ticket.number and data["url"] == url(ticket.number)
    assert data["requester"] == {"name": "Karen", "email": "karen@example.com"}
    assert data["department"] == {"id": lab.support.pk, "name": "Support"}
    assert data["assignee"] == {"id": lab.john.pk, "name": "John Doe"}
    assert data["help_topic"]["name"] == "Report a Problem"
    assert data["priority"]["name"] == "Normal" and data["sla_plan"]["name"] == "Default SLA"
    # The assignee's note started the work.
    assert data["state"] == "in_progress" and data["state_label"] == "In progress"
    assert data["version"] == ticket.version and data["first_response_due"] is not None
    kinds = [entry["kind"] for entry in data["thread"]]
    assert kinds.count("note") == 1 and "event" in kinds and kinds[0] == "message"
    note = next(entry for entry in data["thread"] if entry["kind"] == "note")
    assert note["is_public"] is False and note["body_html"] == "<p>Load balancer?</p>\n"
    [file] = note["attachments"]
    assert file["filename"] == "screen.png" and file["url"] == url(
        ticket.number, "attachments", str(file["id"])
    )
    claim = data["transitions"][-2]
    assert (claim["name"], claim["source"], claim["target"], claim["actor"]) == (
        "claim", "open", "assigned", "John Doe",
    )  # fmt: skip
    expected = [a.name for a in services.available_actions(ticket=ticket, actor=lab.john)]
    assert data["allowed_transitions"] == expected and "resolve" in expected


def test_a_requester_reads_the_public_thread_and_when_the_ticket_moved(lab, api, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_note(ticket=ticket, actor=lab.john, body="Internal: the load balancer")
    services.ticket_reply(ticket=ticket, actor=lab.john, body="We are on it.")

    data = api(lab.karen).get(url(ticket.number)).json()

    assert tuple(data) == REQUESTER_TICKET_FIELDS + DETAIL
    assert [entry["kind"] for entry in data["thread"]] == ["message", "reply"]
    assert "Internal" not in str(data)
    assert data["transitions"][-1] == {
        "name": "start_work", "source": "assigned", "target": "in_progress",
        "created_at": data["transitions"][-1]["created_at"],
    }  # fmt: skip
    assert data["allowed_transitions"] == []


def test_a_requester_may_close_or_reopen_a_resolved_ticket(lab, api, make_key, resolved):
    assert api(lab.karen).get(url(resolved.number)).json()["allowed_transitions"] == ["close", "reopen"]
    # A read-only key may not.
    read = make_key(lab.karen, "read")
    assert api(key=read).get(url(resolved.number)).json()["allowed_transitions"] == []


def test_files_download_for_agents_and_the_requester_only_from_public_entries(lab, api, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    reply = services.ticket_reply(ticket=ticket, actor=lab.john, body="See the picture", attachments=[png()])
    note = services.ticket_note(ticket=ticket, actor=lab.john, body="Internal", attachments=[png("in.png")])
    public, internal = reply.attachments.get(), note.attachments.get()

    # A note's file is no file to the requester (the same as a missing one); another
    # requester is told of no ticket at all.
    missing = {lab.karen: "No such file.", lab.ken: "No such ticket."}
    for user, attachment, status in [
        (lab.john, public, 200),
        (lab.john, internal, 200),
        (lab.karen, public, 200),
        (lab.karen, internal, 404),
        (lab.ken, public, 404),
    ]:
        answer = api(user).get(url(ticket.number, "attachments", str(attachment.pk)))
        assert answer.status_code == status, (user, attachment)
        if status == 200:
            assert answer["Content-Disposition"].startswith("attachment")
            assert b"".join(answer.streaming_content).startswith(b"\x89PNG")
        else:
            assert answer.json() == {"code": "not_found", "message": missing[user]}


@pytest.mark.parametrize("attachment", ["-1", "x", str(2**64)])
def test_a_file_id_that_is_no_id_is_the_apis_404(lab, api, ticket, attachment):
    answer = api(lab.john).get(url(ticket.number, "attachments", attachment))
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"


def test_an_agent_changes_the_properties_each_becoming_an_event(lab, api, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    emergency, sev_a = Priority.objects.get(name="Emergency"), SLAPlan.objects.get(name="Sev-A")
    topic = lab.topic("Report a Problem / Business Critical Outage")

    answer = api(lab.john).patch(
        url(ticket.number),
        {
            "priority": emergency.pk,
            "sla_plan": sev_a.pk,
            "help_topic": topic.pk,
            "team": lab.online_banking.pk,
        },
        format="json",
    )

    assert answer.status_code == 200, answer.json()
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.sla, ticket.help_topic, ticket.team) == (
        emergency, sev_a, topic, lab.online_banking,
    )  # fmt: skip
    assert ticket.assignee == lab.john  # the team changed, the agent stayed
    assert answer["ETag"] == etag(ticket.version)
    data = answer.json()
    assert data["priority"]["name"] == "Emergency" and data["team"]["name"] == "Online Banking"
    events = [e["body"] for e in data["thread"] if e["kind"] == "event"]
    assert any("priority from Normal to Emergency" in text for text in events)
    assert any("SLA plan from Default SLA to Sev-A" in text for text in events)


def test_moving_a_ticket_to_another_department_answers_with_it(lab, api, ticket):
    answer = api(lab.john).patch(url(ticket.number), {"department": lab.sysadmins.pk}, format="json")
    assert answer.status_code == 200 and answer.json()["department"]["name"] == "SysAdmins"
    # John no longer sees it.
    assert api(lab.john).get(url(ticket.number)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority": 999999}, "priority"),
        ({"department": None}, "department"),
        ({"sla_plan": "Sev-A"}, "sla_plan"),
        ({"team": None}, "team"),  # unassigned: the ticket would have neither agent nor team
    ],
)
def test_a_bad_property_is_400_naming_the_field(lab, api, ticket, body, field):
    answer = api(lab.john).patch(url(ticket.number), body, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid" and field in answer.json()["fields"]


def test_properties_of_a_closed_ticket_do_not_change(lab, api, resolved):
    services.ticket_close(ticket=resolved, actor=lab.john)
    answer = api(lab.john).patch(url(resolved.number), {"priority": None}, format="json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "not_allowed" and answer.json()["ticket"]["state"] == State.CLOSED


def test_only_agents_with_the_permission_change_properties(lab, api, ticket):
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.support])
    assert api(viewer).patch(url(ticket.number), {"priority": None}, format="json").status_code == 403
    answer = api(lab.karen).patch(url(ticket.number), {"priority": None}, format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    assert Team.objects.count() == 1
