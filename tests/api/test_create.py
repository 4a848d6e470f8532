"""POST /tickets/: an integration's, an agent's and a requester's new ticket; intake and
routing run as for every channel; files; refusals; the queries of a creation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.serializers.tickets import AGENT_TICKET_FIELDS, REQUESTER_TICKET_FIELDS
from tests.api.conftest import etag, url
from tests.factories import AgentFactory
from tickets.models import (
    ApiKey,
    HelpTopic,
    Priority,
    Requester,
    RoutingCondition,
    RoutingRule,
    State,
    Ticket,
)

LIST = "/api/v1/tickets/"
OUTAGE = {
    "requester_email": "Ops@Example.org",
    "requester_name": "Ops desk",
    "subject": "Core switch down",
    "body": "Monitoring: the core switch stopped answering at 09:00.",
}


def rule(name, word, **actions):
    made = RoutingRule.objects.create(name=name, position=RoutingRule.objects.count(), **actions)
    RoutingCondition.objects.create(
        rule=made,
        field=RoutingCondition.Field.SUBJECT,
        operator=RoutingCondition.Operator.CONTAINS,
        value=word,
    )
    return made


def test_an_integration_opens_a_ticket_for_the_requester_it_names(lab, api, integration):
    answer = api(key=integration).post(LIST, OUTAGE, format="json")

    assert answer.status_code == 201, answer.json()
    ticket = Ticket.objects.get()
    data = answer.json()
    assert tuple(data) == REQUESTER_TICKET_FIELDS and data["number"] == ticket.number
    assert answer["Location"] == url(ticket.number) and answer["ETag"] == etag(ticket.version)
    assert (ticket.source, ticket.state, ticket.department) == (Ticket.Source.API, State.OPEN, lab.support)
    assert (ticket.requester.email, ticket.requester.name) == ("ops@example.org", "Ops desk")
    created = ticket.transitions.get(name="create")
    assert created.actor is None and created.actor_label == "Ops desk"


def test_the_keys_department_is_where_its_tickets_start(lab, api, make_key):
    key = make_key(lab.admin, ApiKey.Scope.CREATE, department=lab.sysadmins)
    assert api(key=key).post(LIST, OUTAGE, format="json").status_code == 201
    assert Ticket.objects.get().department == lab.sysadmins


def test_routing_runs_as_for_every_channel(lab, api, integration):
    rule("Switches", "switch", set_department=lab.sysadmins, set_team=lab.online_banking)
    data = api(key=integration).post(LIST, OUTAGE, format="json").json()
    ticket = Ticket.objects.get(number=data["number"])
    assert (ticket.department, ticket.team) == (lab.sysadmins, lab.online_banking)
    assert "Switches" in ticket.transitions.get(name="intake").reason


def test_the_priority_is_a_hint_a_rule_overrides(lab, api, integration):
    high, emergency = Priority.objects.get(name="High"), Priority.objects.get(name="Emergency")
    client = api(key=integration)
    client.post(LIST, {**OUTAGE, "subject": "Printer", "priority": high.pk}, format="json")
    assert Ticket.objects.get(subject="Printer").priority == high
    rule("Switches", "switch", set_priority=emergency)
    client.post(LIST, {**OUTAGE, "priority": high.pk}, format="json")
    assert Ticket.objects.get(subject=OUTAGE["subject"]).priority == emergency


def test_an_agent_opens_a_ticket_for_a_requester_like_a_phone_call(lab, api):
    answer = api(lab.john).post(LIST, {**OUTAGE, "requester_email": "karen@EXAMPLE.com"}, format="json")

    assert answer.status_code == 201
    assert tuple(answer.json()) == AGENT_TICKET_FIELDS
    ticket = Ticket.objects.get()
    assert ticket.requester == lab.karen.requester and ticket.source == Ticket.Source.API
    assert ticket.transitions.get(name="create").actor == lab.john
    assert Requester.objects.count() == 2  # Karen and Ken, nobody new
    # John wrote the description, for Karen (the console and portal say so).
    message = ticket.thread.get(kind="message")
    assert (message.author, message.on_behalf_of_requester) == (lab.john, True)


def test_an_agent_without_the_permission_to_work_cannot_open_tickets(lab, api):
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.support])
    assert api(viewer).post(LIST, OUTAGE, format="json").status_code == 403
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("how", ["session", "key"])
def test_a_requester_opens_their_own_ticket(lab, api, make_key, how):
    client = api(lab.karen) if how == "session" else api(key=make_key(lab.karen, ApiKey.Scope.ACT))
    body = {**OUTAGE, "requester_email": "ken@example.com", "help_topic": lab.topic("Feedback").pk}

    answer = client.post(LIST, body, format="json")

    assert answer.status_code == 201
    assert tuple(answer.json()) == REQUESTER_TICKET_FIELDS
    ticket = Ticket.objects.get()
    assert ticket.requester == lab.karen.requester  # the requester fields are ignored
    assert ticket.transitions.get(name="create").actor == lab.karen
    assert ticket.thread.get(kind="message").author == lab.karen


def test_several_files_come_with_the_ticket(lab, api, integration):
    files = [
        SimpleUploadedFile("trace.txt", b"09:00 link down\n", content_type="text/plain"),
        SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, content_type="image/png"),
    ]
    answer = api(key=integration).post(LIST, {**OUTAGE, "attachments": files})
    assert answer.status_code == 201, answer.json()
    message = Ticket.objects.get().thread.get(kind="message")
    assert sorted(message.attachments.values_list("filename", flat=True)) == ["shot.png", "trace.txt"]


def test_a_refused_file_refuses_the_ticket_with_the_reason(lab, api, integration):
    empty = SimpleUploadedFile("empty.txt", b"", content_type="text/plain")
    answer = api(key=integration).post(LIST, {**OUTAGE, "attachments": [empty]})
    assert answer.status_code == 400
    assert answer.json()["fields"]["attachments"] == ["empty.txt is empty."]
    assert not Ticket.objects.exists()


def test_attachments_must_be_files(lab, api, integration):
    answer = api(key=integration).post(LIST, {**OUTAGE, "attachments": ["text, not a file"]})
    assert answer.status_code == 400
    assert answer.json()["fields"] == {
        "attachments": ["Send each file as a part named “attachments” of a multipart/form-data request."]
    }


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"subject": ""}, ["subject"]),
        ({"body": None}, ["body"]),
        ({"requester_email": "not an address"}, ["requester_email"]),
        ({"requester_email": None, "requester_name": ""}, ["requester_email", "requester_name"]),
        ({"help_topic": 999999}, ["help_topic"]),
        ({"priority": "urgent"}, ["priority"]),
        ({"priority": 2**64}, ["priority"]),
    ],
)
def test_bad_fields_are_400_naming_them(lab, api, integration, change, fields):
    body = {k: v for k, v in {**OUTAGE, **change}.items() if v is not None}
    answer = api(key=integration).post(LIST, body, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid" and sorted(answer.json()["fields"]) == fields
    assert not Ticket.objects.exists()


def test_only_agents_pick_a_help_topic_the_portal_does_not_offer(lab, api, integration):
    hidden = HelpTopic.objects.create(name="Internal only", is_public=False)
    body = {**OUTAGE, "help_topic": hidden.pk}
    assert api(key=integration).post(LIST, body, format="json").status_code == 400
    assert api(lab.karen).post(LIST, body, format="json").status_code == 400
    assert api(lab.john).post(LIST, body, format="json").status_code == 201


def test_a_read_only_key_cannot_open_tickets(lab, api, make_key):
    answer = api(key=make_key(lab.jane, ApiKey.Scope.READ)).post(LIST, OUTAGE, format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"


def test_no_default_department_is_400_saying_so(lab, api, integration):
    lab.support.is_default = False
    lab.support.save()
    answer = api(key=integration).post(LIST, OUTAGE, format="json")
    assert answer.status_code == 400 and "default department" in answer.json()["message"]


def _creation_queries(client, subject):
    with CaptureQueriesContext(connection) as queries:
        assert client.post(LIST, {**OUTAGE, "subject": subject}, format="json").status_code == 201
    return len(queries)


def test_a_creations_queries_do_not_grow_with_the_rules_it_matches(lab, api, integration):
    """One matching rule or five, each setting every property: the same number of queries."""
    client = api(key=integration)
    _creation_queries(client, "warm up")  # the key's last_used_at, the requester's first ticket
    emergency = Priority.objects.get(name="Emergency")
    actions = {"set_department": lab.sysadmins, "set_team": lab.online_banking, "set_priority": emergency}
    rule("one", "alpha", set_agent=lab.jane, **actions)
    one = _creation_queries(client, "alpha beta gamma delta epsilon")
    for word in ("beta", "gamma", "delta", "epsilon"):
        rule(word, word, set_agent=lab.jane, **actions)
    five = _creation_queries(client, "alpha beta gamma delta epsilon")
    assert Ticket.objects.filter(assignee=lab.jane).count() == 2
    assert "“epsilon”" in Ticket.objects.order_by("pk").last().transitions.get(name="intake").reason
    assert five == one
