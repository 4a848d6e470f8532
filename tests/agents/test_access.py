"""Every console URL, classified: a new URL pattern (or a new lifecycle action) fails here until
someone decides who may use it and adds it to one of these lists.

Who may do what: anonymous visitors and requesters are sent to the console's sign-in; an agent
outside the ticket's department and team gets the same 404 as for a missing ticket; a "View
Only" agent reads and writes nothing.
"""

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agents.urls import urlpatterns
from agents.views.actions import ACTIONS
from tests.factories import AgentFactory, DepartmentFactory
from tickets import services
from tickets.models import (
    Attachment,
    CannedResponse,
    InboundMessage,
    Priority,
    Requester,
    SLAPlan,
    State,
    ThreadEntry,
    Ticket,
    TicketTransition,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LOGIN = "/agents/login/"

# Pages anyone may open.
PUBLIC = {"login", "logout"}
# Console pages that are about no single ticket: staff only.
CONSOLE = {"home", "queue", "queue_export", "bulk", "priority_styles", "new_ticket", "alerts"}
# The reports: staff with "view reports" only (tests/agents/test_reports_access.py).
CONSOLE |= {"reports", "reports_export", "reports_what_if"}
# Pages about one ticket: staff who may see that ticket only.
PER_TICKET = {
    "ticket",
    "thread_older",
    "change_property",
    "compose",
    "canned",
    "attachment",
    "original_email",
    "action",
}
# The knowledge base from a ticket: its article search, a draft from its answer (more in
# tests/agents/test_kb_access.py).
PER_TICKET |= {"article_search", "article_from_ticket"}
# Major incidents from a ticket's page (more in tests/agents/test_incident_access.py).
INCIDENT = {
    "incident_declare",
    "incident_status",
    "incident_update",
    "incident_link",
    "incident_join",
    "incident_unlink",
}
PER_TICKET |= INCIDENT
# Related tickets from a ticket's page (more in tests/agents/test_related.py).
PER_TICKET |= {"related"}
# Merging a duplicate into another ticket (more in tests/agents/test_merge.py).
PER_TICKET |= {"merge"}
# Per-ticket pages that only take POST (a GET is refused before the ticket is looked up).
POST_ONLY = {"change_property", "compose", "action", "article_from_ticket", "related", "merge"} | INCIDENT

# Each action, and the state a ticket of the Support department must be in for it to apply.
READY = {
    "assign": State.OPEN,
    "claim": State.OPEN,
    "cancel": State.OPEN,
    "start_work": State.ASSIGNED,
    "request_info": State.ASSIGNED,
    "escalate": State.ASSIGNED,
    "resolve": State.ASSIGNED,
    "reopen": State.RESOLVED,
    "close": State.RESOLVED,
}


def test_every_console_url_is_classified():
    names = [pattern.name for pattern in urlpatterns]
    assert len(names) == len(set(names))
    assert set(names) == PUBLIC | CONSOLE | PER_TICKET
    assert not (PUBLIC & CONSOLE or PUBLIC & PER_TICKET or CONSOLE & PER_TICKET)


def test_every_action_is_classified():
    assert set(ACTIONS) == set(READY)


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def ticket(new_ticket):
    """Karen's ticket in the Support department, with a file, as if it came by e-mail."""
    ticket = new_ticket(attachments=[SimpleUploadedFile("screen.png", PNG, content_type="image/png")])
    InboundMessage.objects.create(
        key="k1",
        raw=b"From: karen@example.com\n\nThe original.",
        size=40,
        source="pipe",
        status=InboundMessage.Status.TICKET,
        ticket=ticket,
        entry=ticket.thread.get(kind="message"),
    )
    return ticket


@pytest.fixture
def no_department(lab):
    return AgentFactory(username="nodept", role="Agent")


@pytest.fixture
def viewer(lab):
    return AgentFactory(username="viewer", role="View Only", departments=[lab.support])


def _ready(lab, ticket, state):
    """Walk the ticket (as John, an agent of Support) to the state an action needs."""
    if state in (State.ASSIGNED, State.RESOLVED):
        services.ticket_claim(ticket=ticket, actor=lab.john)
    if state == State.RESOLVED:
        services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    ticket.refresh_from_db()
    assert ticket.state == state
    return ticket


def _payload(lab, ticket):
    """Everything any console form could want, valid: a refusal is not down to the input."""
    return {
        "version": ticket.version,
        "agent": lab.john.pk,
        "team": lab.online_banking.pk,
        "message": "Please try again now.",
        "reason": "Because.",
        "summary": "Tried the usual things.",
        "kind": "reply",
        "body": "Hello from the console.",
        "field": "priority",
        "priority": Priority.objects.get(name="Emergency").pk,
        "tickets": [ticket.pk],
        "action": "claim",
        "into": "999999",
    }


def _url(name, ticket, action=None):
    if name == "attachment":
        attachment = Attachment.objects.get(entry__ticket=ticket)
        return reverse("agents:attachment", args=[ticket.number, attachment.pk])
    if name == "original_email":
        return reverse(
            "agents:original_email", args=[ticket.number, InboundMessage.objects.get(ticket=ticket).pk]
        )
    if name == "canned":
        canned = CannedResponse.objects.order_by("pk").first()
        return reverse("agents:canned", args=[ticket.number, canned.pk])
    if name == "action":
        return reverse("agents:action", args=[ticket.number, action])
    if name == "thread_older":
        return reverse("agents:thread_older", args=[ticket.number]) + f"?before={ticket.thread.last().pk}"
    return reverse(f"agents:{name}", args=[ticket.number])


def _console_urls(ticket):
    """Every console URL but sign-in and sign-out, with each action."""
    urls = [
        reverse("agents:home"),
        reverse("agents:queue", args=["all"]),
        reverse("agents:queue_export", args=["all"]),
        reverse("agents:bulk"),
        reverse("agents:priority_styles"),
        reverse("agents:new_ticket"),
    ]
    urls += [_url(name, ticket) for name in sorted(PER_TICKET - {"action"})]
    urls += [_url("action", ticket, name) for name in sorted(ACTIONS)]
    return urls


def _snapshot(ticket):
    return (
        Ticket.objects.filter(pk=ticket.pk).values().get(),
        ticket.thread.count(),
        ticket.transitions.count(),
        Ticket.objects.count(),
        ThreadEntry.objects.count(),
        TicketTransition.objects.count(),
        Requester.objects.count(),
        Attachment.objects.count(),
    )


def _errors(response):
    return [m.message for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


PER_TICKET_CASES = [(name, None) for name in sorted(PER_TICKET - {"action"})] + [
    ("action", action) for action in sorted(READY)
]


# -- agents outside the ticket's department and team ----------------------------------------------


@pytest.mark.parametrize(("name", "action"), PER_TICKET_CASES)
@pytest.mark.parametrize("who", ["stranger", "agent without department"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_agent_outside_the_ticket_gets_404_and_changes_nothing(
    client, lab, ticket, stranger, no_department, name, action, who, method
):
    _ready(lab, ticket, READY.get(action, State.OPEN))
    client.force_login(stranger if who == "stranger" else no_department)
    before = _snapshot(ticket)
    missing = getattr(client, method)(_url(name, ticket, action).replace(ticket.number, "999999", 1))
    response = getattr(client, method)(_url(name, ticket, action), _payload(lab, ticket))
    expected = 405 if method == "get" and name in POST_ONLY else 404
    assert response.status_code == missing.status_code == expected
    assert _snapshot(ticket) == before
    assert ticket.subject not in response.content.decode()


@pytest.mark.parametrize("action", sorted(READY))
def test_each_action_request_works_for_an_agent_of_the_department(client, lab, ticket, action):
    """The control for the refusals: the same request from John, of Support, does it."""
    _ready(lab, ticket, READY[action])
    client.force_login(lab.john)
    before = ticket.transitions.count()
    response = client.post(_url("action", ticket, action), _payload(lab, ticket))
    assert response.status_code == 302 and not _errors(response)
    assert ticket.transitions.count() == before + 1
    assert ticket.transitions.last().name == action


def test_the_other_ticket_pages_work_for_an_agent_of_the_department(client, lab, ticket):
    client.force_login(lab.john)
    for name in ("ticket", "thread_older", "canned", "attachment", "original_email"):
        assert client.get(_url(name, ticket)).status_code == 200, name
    before = ticket.thread.count()
    assert client.post(_url("compose", ticket), _payload(lab, ticket)).status_code == 302
    assert ticket.thread.count() == before + 1
    ticket.refresh_from_db()
    assert client.post(_url("change_property", ticket), _payload(lab, ticket)).status_code == 302
    ticket.refresh_from_db()
    assert ticket.priority.name == "Emergency"


def test_an_unknown_action_is_404(client, lab, ticket):
    client.force_login(lab.john)
    response = client.post(_url("action", ticket, "delete"), _payload(lab, ticket))
    assert response.status_code == 404


def test_a_file_of_another_ticket_is_404_through_a_ticket_the_agent_sees(client, lab, ticket, new_ticket):
    hidden = new_ticket(subject="Server room", attachments=[SimpleUploadedFile("rack.png", PNG)])
    services.ticket_update_properties(ticket=hidden, actor=lab.jane, department=lab.sysadmins)
    client.force_login(lab.john)
    foreign = Attachment.objects.get(entry__ticket=hidden).pk
    assert client.get(reverse("agents:attachment", args=[ticket.number, foreign])).status_code == 404


def test_a_canned_response_of_another_department_is_404(client, lab, ticket):
    theirs = CannedResponse.objects.create(title="Racks", body="Secret runbook", department=lab.sysadmins)
    client.force_login(lab.john)
    response = client.get(reverse("agents:canned", args=[ticket.number, theirs.pk]))
    assert response.status_code == 404


# -- anonymous visitors and requesters -------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "requester"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anyone_but_staff_is_sent_to_the_console_sign_in_and_nothing_is_written(
    client, lab, ticket, who, method
):
    if who == "requester":
        client.force_login(lab.karen)  # the very requester of the ticket
    before = _snapshot(ticket)
    payload = {**_payload(lab, ticket), "email": "x@example.com", "subject": "x", "help_topic": 1}
    wrong = []
    for url in _console_urls(ticket):
        response = getattr(client, method)(url, payload if method == "post" else None)
        if response.status_code != 302 or not response["Location"].startswith(f"{LOGIN}?next="):
            wrong.append((url, response.status_code, response.get("Location")))
    assert wrong == []
    assert _snapshot(ticket) == before


def test_the_sign_in_redirect_keeps_the_page_asked_for(client, lab, ticket):
    url = reverse("agents:ticket", args=[ticket.number])
    response = client.get(url)
    assert response["Location"] == f"{LOGIN}?next={url}"


# -- a "View Only" agent -----------------------------------------------------------------------------


def _markup(ticket):
    return {
        "action": f"/agents/tickets/{ticket.number}/actions/",
        "compose": reverse("agents:compose", args=[ticket.number]),
        "property": reverse("agents:change_property", args=[ticket.number]),
        "merge": reverse("agents:merge", args=[ticket.number]),
    }


@pytest.mark.parametrize("state", [State.OPEN, State.ASSIGNED, State.RESOLVED])
def test_view_only_reads_the_queue_and_the_ticket_without_any_control(client, lab, ticket, viewer, state):
    _ready(lab, ticket, state)
    # The control: John sees the controls on the same page.
    client.force_login(lab.john)
    page = client.get(_url("ticket", ticket)).content.decode()
    controls = _markup(ticket)
    if state == State.RESOLVED:  # a resolved ticket's properties are not edited, by anyone
        del controls["property"]
    assert [path for path in controls.values() if path not in page] == []
    client.force_login(viewer)
    queue = client.get(reverse("agents:queue", args=["all"]))
    assert queue.status_code == 200 and ticket.subject in queue.content.decode()
    response = client.get(_url("ticket", ticket))
    assert response.status_code == 200
    page = response.content.decode()
    assert ticket.subject in page
    assert response.context["actions"] == []
    assert response.context["can_work"] is False and response.context["can_change"] is False
    assert 'class="d-flex flex-wrap gap-2 mb-3 ticket-actions"' not in page
    assert [path for path in _markup(ticket).values() if path in page] == []
    assert 'class="card shadow-sm mt-3 composer"' not in page
    properties = page.split('aria-labelledby="properties-title"', 1)[1].split("<footer")[0]
    assert "<select" not in properties


@pytest.mark.parametrize("action", sorted(READY))
def test_view_only_cannot_run_any_action(client, lab, ticket, viewer, action):
    _ready(lab, ticket, READY[action])
    client.force_login(viewer)
    before = _snapshot(ticket)
    response = client.post(_url("action", ticket, action), _payload(lab, ticket))
    assert response.status_code == 403
    assert _snapshot(ticket) == before


@pytest.mark.parametrize("kind", ["reply", "note"])
def test_view_only_cannot_write_in_the_thread(client, lab, ticket, viewer, kind):
    client.force_login(viewer)
    before = _snapshot(ticket)
    response = client.post(_url("compose", ticket), {"kind": kind, "body": "Let me help."})
    assert response.status_code == 403
    assert _snapshot(ticket) == before


@pytest.mark.parametrize("field", ["help_topic", "priority", "sla_plan", "department", "team", "assignee"])
@pytest.mark.parametrize("htmx", [False, True])
def test_view_only_cannot_change_a_property(client, lab, ticket, viewer, field, htmx):
    values = {
        "help_topic": lab.topic("Password Reset").pk,
        "priority": Priority.objects.get(name="Emergency").pk,
        "sla_plan": SLAPlan.objects.get(name="Sev-A").pk,
        "department": lab.sysadmins.pk,
        "team": lab.online_banking.pk,
        "assignee": viewer.pk,
    }
    client.force_login(viewer)
    before = _snapshot(ticket)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(
        _url("change_property", ticket),
        {"version": ticket.version, "field": field, field: values[field]},
        headers=headers,
    )
    assert response.status_code == 403
    assert _snapshot(ticket) == before


@pytest.mark.parametrize("action", ["claim", "assign", "close", "cancel"])
def test_view_only_bulk_actions_are_refused_per_ticket(client, lab, ticket, viewer, action):
    if action == "close":
        _ready(lab, ticket, State.RESOLVED)
    client.force_login(viewer)
    before = _snapshot(ticket)
    response = client.post(
        reverse("agents:bulk"),
        {"tickets": [ticket.pk], "action": action, "agent": viewer.pk, "reason": "Spam."},
    )
    assert response.status_code == 302
    assert _errors(response) == [f"#{ticket.number}: You may not {action} this ticket."]
    assert _snapshot(ticket) == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_view_only_cannot_open_a_phone_ticket(client, lab, ticket, viewer, method):
    client.force_login(viewer)
    before = _snapshot(ticket)
    data = {
        "email": "caller@example.com",
        "name": "Caller",
        "help_topic": lab.topic("Feedback").pk,
        "subject": "Phoned in",
        "body": "Said things.",
    }
    response = getattr(client, method)(reverse("agents:new_ticket"), data if method == "post" else None)
    assert response.status_code == 403
    assert _snapshot(ticket) == before


def test_view_only_cannot_load_a_canned_response(client, lab, ticket, viewer):
    client.force_login(viewer)
    assert client.get(_url("canned", ticket)).status_code == 403


# -- signing in and out --------------------------------------------------------------------------


def _signed_in(client):
    return client.session.get("_auth_user_id")


def test_a_requester_cannot_sign_in_to_the_console(client, lab):
    response = client.post(LOGIN, {"username": "karen@example.com", "password": "Password1"})
    assert response.status_code == 200
    assert "This sign-in is for agents" in response.content.decode()
    assert _signed_in(client) is None
    assert client.get(reverse("agents:home"))["Location"].startswith(LOGIN)


def test_an_agent_signs_in_and_lands_on_the_console(client, lab):
    assert client.get(LOGIN).status_code == 200
    response = client.post(LOGIN, {"username": "john", "password": "Password1"})
    assert response.status_code == 302 and response["Location"] == reverse("agents:home")
    assert _signed_in(client) == str(lab.john.pk)
    home = client.get(response["Location"])
    assert home.status_code == 200 and home.context["current"] == "unassigned"


def test_sign_in_goes_back_to_the_page_asked_for(client, lab, ticket):
    url = reverse("agents:ticket", args=[ticket.number])
    response = client.post(f"{LOGIN}?next={url}", {"username": "john", "password": "Password1", "next": url})
    assert response["Location"] == url


def test_sign_in_does_not_redirect_to_another_site(client, lab):
    response = client.post(
        LOGIN, {"username": "john", "password": "Password1", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("agents:home")


def test_a_wrong_password_is_refused(client, lab):
    response = client.post(LOGIN, {"username": "john", "password": "wrong"})
    assert response.status_code == 200 and _signed_in(client) is None


def test_failed_sign_ins_are_throttled(client, lab, settings):
    settings.THROTTLE_LOGIN_FAILURES = (3, 900)
    for _ in range(3):
        assert client.post(LOGIN, {"username": "john", "password": "wrong"}).status_code == 200
    response = client.post(LOGIN, {"username": "john", "password": "Password1"})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert _signed_in(client) is None


def test_sign_out_is_a_post(client, lab):
    client.force_login(lab.john)
    assert client.get(reverse("agents:logout")).status_code == 405
    assert _signed_in(client) == str(lab.john.pk)
    response = client.post(reverse("agents:logout"))
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert _signed_in(client) is None
    assert client.get(reverse("agents:home"))["Location"].startswith(LOGIN)


def test_an_agent_of_another_department_sees_none_of_the_tickets_in_a_queue(client, lab, ticket):
    outsider = AgentFactory(username="out", role="Agent", departments=[DepartmentFactory(name="Legal")])
    client.force_login(outsider)
    response = client.get(reverse("agents:queue", args=["all"]))
    assert response.status_code == 200
    assert ticket.subject not in response.content.decode()
    assert response.context["tickets"] == []
