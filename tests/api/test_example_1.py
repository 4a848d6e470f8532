"""Example 1 of the lab driven entirely through the API: Karen's ticket opened by a monitoring
integration's key, John's categorisation and assignment, Jane's claim, replies, resolution and
close, each write sent with the ETag of the ticket as the writer last read it. It ends closed
with the same transition log and thread as the same steps through the console's services."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tests.tickets.webhook_receiver import make_hook, running_receiver
from tickets import apikeys
from tickets import lab as lab_data
from tickets.models import ApiKey, HelpTopic, Priority, SLAPlan, State, Ticket
from tickets.webhooks import signing

pytestmark = pytest.mark.django_db

BODY = "Customers cannot log in to mobile or online banking. The whole system is down since 9:00."
REPLIES = (
    "Hi Karen, we know about the outage and are working on it. Next update within the hour.",
    "We found the cause (an expired certificate on the gateway) and replaced it. Online banking is up again.",
)
RESOLUTION = "Resolved: the gateway certificate was renewed; online banking works again."


class Caller:
    """An API client for one key, which runs on-commit work (mail, webhooks) as in production."""

    def __init__(self, raw_key: str, capture) -> None:
        self.client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        self.capture = capture

    def call(self, method: str, path: str, data=None, *, status: int, etag: str | None = None, **headers):
        if etag is not None:
            headers["HTTP_IF_MATCH"] = etag
        with self.capture(execute=True):
            response = getattr(self.client, method)(path, data, format="json", **headers)
        assert response.status_code == status, response.content
        return response

    def read(self, number: str):
        response = self.call("get", f"/api/v1/tickets/{number}/", status=200)
        return response.json(), response["ETag"]


def log_of(ticket: Ticket) -> list[tuple[str, str, str, str]]:
    return [(t.name, t.source, t.target, t.actor_label) for t in ticket.transitions.all()]


def thread_of(ticket: Ticket) -> list[tuple[str, str, str]]:
    return [(e.kind, e.author_name, e.body) for e in ticket.thread.all()]


@pytest.fixture
def callers(lab, django_capture_on_commit_callbacks):
    def key(owner, scope):
        return Caller(
            apikeys.apikey_create(name=f"{owner} {scope}", owner=owner, scope=scope)[1],
            django_capture_on_commit_callbacks,
        )

    return {
        "monitor": key(lab.admin, ApiKey.Scope.CREATE),
        "john": key(lab.john, ApiKey.Scope.ACT),
        "jane": key(lab.jane, ApiKey.Scope.ACT),
    }


@pytest.fixture
def receiver(lab):
    """A webhook receiver on loopback that hears every event."""
    with running_receiver() as receiver:
        make_hook(lab.admin, receiver.url, secret="s3cret")
        yield receiver


def test_example_1_through_the_api_ends_closed_with_the_consoles_log(lab, callers, receiver):
    monitor, john, jane = callers["monitor"], callers["john"], callers["jane"]
    report_a_problem = lab.topic("Report a Problem")

    # 1. The monitor opens Karen's ticket; retried after a timeout, it is still one ticket.
    new = {
        "requester_email": "karen@example.com",
        "requester_name": "Karen",
        "subject": lab_data.EXAMPLE_1_SUBJECT,
        "body": BODY,
        "help_topic": report_a_problem.pk,
    }
    created = monitor.call("post", "/api/v1/tickets/", new, status=201, HTTP_IDEMPOTENCY_KEY="outage-0900")
    again = monitor.call("post", "/api/v1/tickets/", new, status=201, HTTP_IDEMPOTENCY_KEY="outage-0900")
    number = created.json()["number"]
    assert again.json()["number"] == number and again["Idempotent-Replayed"] == "true"
    assert Ticket.objects.filter(subject=lab_data.EXAMPLE_1_SUBJECT).count() == 1
    assert created["Location"].endswith(f"/api/v1/tickets/{number}/")
    # The monitor may create, not read.
    monitor.call("get", f"/api/v1/tickets/{number}/", status=403)
    ticket = Ticket.objects.get(number=number)
    assert (ticket.source, ticket.state, ticket.requester.email) == (
        Ticket.Source.API,
        State.OPEN,
        "karen@example.com",
    )
    assert [m.to for m in mail.outbox] == [["karen@example.com"], ["john@example.com"]]

    # 2-3. John finds it open, Normal / Support / Default SLA, and judges it critical.
    shown, etag = john.read(number)
    assert (
        shown["state"],
        shown["priority"]["name"],
        shown["department"]["name"],
        shown["sla_plan"]["name"],
    ) == (
        "open",
        "Normal",
        "Support",
        "Default SLA",
    )
    listed = john.call("get", "/api/v1/tickets/", {"queue": "unassigned"}, status=200).json()["results"]
    assert number in [row["number"] for row in listed]
    # One PATCH, as the console's services take the three changes at once.
    etag = john.call(
        "patch",
        f"/api/v1/tickets/{number}/",
        {
            "sla_plan": SLAPlan.objects.get(name="Sev-A").pk,
            "help_topic": lab.topic("Report a Problem / Business Critical Outage").pk,
            "priority": Priority.objects.get(name="Emergency").pk,
        },
        status=200,
        etag=etag,
    )["ETag"]
    # 4. He assigns it to the Online Banking team.
    assert "assign" in john.read(number)[0]["allowed_transitions"]
    assigned = john.call(
        "post",
        f"/api/v1/tickets/{number}/transitions/assign/",
        {"team": lab.online_banking.pk},
        status=200,
        etag=etag,
    )
    assert assigned.json()["state"] == "assigned"

    # 5. Jane takes it over from her teams' queue.
    teams = jane.call("get", "/api/v1/tickets/", {"queue": "teams"}, status=200).json()["results"]
    assert number in [row["number"] for row in teams]
    shown, etag = jane.read(number)
    assert "claim" in shown["allowed_transitions"]
    etag = jane.call("post", f"/api/v1/tickets/{number}/transitions/claim/", {}, status=200, etag=etag)[
        "ETag"
    ]
    # A write from John's old copy is refused as stale, with the ticket as it is now.
    stale = john.call(
        "post",
        f"/api/v1/tickets/{number}/transitions/assign/",
        {"team": lab.online_banking.pk},
        status=409,
        etag=assigned["ETag"],
    ).json()
    assert stale["code"] == "stale" and stale["ticket"]["assignee"]["name"] == "Jane Doe"

    # 6-7. Two replies to Karen; the first starts the work.
    for body in REPLIES:
        reply = jane.call("post", f"/api/v1/tickets/{number}/replies/", {"body": body}, status=201, etag=etag)
        etag = reply["ETag"] if reply.has_header("ETag") else jane.read(number)[1]
    assert jane.read(number)[0]["state"] == "in_progress"
    # 8. Resolved, then closed.
    etag = jane.call(
        "post",
        f"/api/v1/tickets/{number}/transitions/resolve/",
        {"message": RESOLUTION},
        status=200,
        etag=etag,
    )["ETag"]
    closed = jane.call(
        "post", f"/api/v1/tickets/{number}/transitions/close/", {}, status=200, etag=etag
    ).json()
    assert closed["state"] == "closed" and closed["allowed_transitions"] == []

    # The same trail as the same steps through the services the console calls.
    reference = lab_data.example_1(lab)
    ticket.refresh_from_db()
    assert ticket.state == State.CLOSED
    assert (
        log_of(ticket)
        == log_of(reference)
        == [
            ("create", "", "new", "Karen"),
            ("intake", "new", "open", "system: intake"),
            ("assign", "open", "assigned", "John Doe"),
            ("claim", "assigned", "assigned", "Jane Doe"),
            ("start_work", "assigned", "in_progress", "Jane Doe"),
            ("resolve", "in_progress", "resolved", "Jane Doe"),
            ("close", "resolved", "closed", "Jane Doe"),
        ]
    )
    assert thread_of(ticket) == thread_of(reference)
    assert (ticket.sla, ticket.priority, ticket.help_topic) == (
        SLAPlan.objects.get(name="Sev-A"),
        Priority.objects.get(name="Emergency"),
        HelpTopic.objects.get(pk=lab.topic("Report a Problem / Business Critical Outage").pk),
    )
    # The receiver heard each step, signed, in order, each with the ticket as it was then.
    ours = [r for r in receiver.received if r.json["ticket"]["number"] == number]
    assert all(signing.verify("s3cret", r.headers["X-Signature"], r.body) for r in ours)
    assert [r.json["id"] for r in ours] == sorted(r.json["id"] for r in ours)
    assert [
        (r.json["event"], (r.json.get("transition") or {}).get("name"), r.json["ticket"]["state"])
        for r in ours
    ] == [
        ("ticket.created", None, "open"),
        ("ticket.transition", "intake", "open"),
        ("ticket.transition", "assign", "assigned"),
        ("ticket.transition", "claim", "assigned"),
        ("ticket.transition", "start_work", "in_progress"),
        ("ticket.public_reply", None, "in_progress"),
        ("ticket.public_reply", None, "in_progress"),
        ("ticket.transition", "resolve", "resolved"),
        ("ticket.public_reply", None, "resolved"),
        ("ticket.transition", "close", "closed"),
    ]
    # The log through the API is the one the ticket's page shows.
    shown = jane.read(number)[0]
    assert [(t["name"], t["source"], t["target"], t["actor"]) for t in shown["transitions"]] == log_of(ticket)
