"""Example 1 of the lab, the agents' part, clicked through the console as John and Jane would:
every form is posted with the version the page it came from showed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from tests.agents.test_workspace import Node, html
from tickets.models import Priority, SLAPlan, State, ThreadEntry, Ticket

SUBJECT = "Entire mobile/online banking system is down"


@pytest.fixture
def ticket(new_ticket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return new_ticket(topic="Report a Problem")


def queue_row(client, key: str, ticket: Ticket) -> Node | None:
    response = client.get(reverse("agents:queue", args=[key]))
    assert response.status_code == 200
    link = reverse("agents:ticket", args=[ticket.number])
    rows = [tr for tr in html(response).find_all("tr") if tr.find("a", href=link) is not None]
    assert len(rows) <= 1
    return rows[0] if rows else None


def cells(row: Node) -> list[str]:
    return [td.text for td in row.find_all("td")]


def form_version(form: Node) -> str:
    return form.one("input", name="version").attrs["value"]


def property_form(page: Node, name: str) -> Node:
    return page.one("select", id=f"prop-{name}").parent


def action_form(page: Node, name: str, ticket: Ticket) -> Node:
    return page.one("form", action=reverse("agents:action", args=[ticket.number, name]))


def thread(ticket: Ticket) -> list[tuple[str, str, str]]:
    return [(e.kind, e.author_name, e.body) for e in ticket.thread.all()]


def option_value(select: Node, label: str) -> str:
    values = [o.attrs["value"] for o in select.find_all("option") if o.text == label]
    assert len(values) == 1, (label, [o.text for o in select.find_all("option")])
    return values[0]


def test_example_1_through_the_console(browser, lab, ticket):
    john, jane = browser(lab.john), browser(lab.jane)
    url = reverse("agents:ticket", args=[ticket.number])
    # Karen's acknowledgement; John, Support's agent, alerted to the new ticket.
    assert [m.to for m in mail.outbox] == [["karen@example.com"], ["john@example.com"]]

    # 2. The ticket waits in John's Unassigned queue: Normal, unassigned, Report a Problem.
    row = queue_row(john, "unassigned", ticket)
    assert row is not None
    shown = cells(row)
    assert f"#{ticket.number}" in shown and SUBJECT in shown and "Karen" in shown
    assert "Report a Problem" in shown and "Normal" in shown and "Open" in shown and "Unassigned" in shown
    # ... and its page says Normal / Support / Default SLA.
    page = html(john.get(url))
    panel = page.one("section", class_="properties")
    for name, value in (("priority", "Normal"), ("department", "Support"), ("sla_plan", "Default SLA")):
        select = panel.one("select", id=f"prop-{name}")
        assert [o.text for o in select.find_all("option") if "selected" in o.attrs] == [value]
    assert thread(ticket)[-1] == (
        "event",
        "system: intake",
        "Received: department Support, priority Normal, SLA plan Default SLA, Unassigned",
    )

    # 3. John judges it critical: three changes in the panel, each from the fragment the last one returned.
    expected = list(thread(ticket))
    for name, label, event in (
        ("sla_plan", "Sev-A", "John Doe changed the SLA plan from Default SLA to Sev-A"),
        (
            "help_topic",
            "Report a Problem / Business Critical Outage",
            "John Doe changed the help topic from Report a Problem to "
            "Report a Problem / Business Critical Outage",
        ),
        ("priority", "Emergency", "John Doe changed the priority from Normal to Emergency"),
    ):
        form = property_form(page, name)
        value = option_value(form.one("select"), label)
        response = john.post(
            form.attrs["hx-post"],
            {"field": name, name: value, "version": form_version(form)},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        page = html(response)
        assert page.find("div", class_="alert-danger") is None
        assert [
            o.text for o in page.one("select", id=f"prop-{name}").find_all("option") if "selected" in o.attrs
        ] == [label]
        expected.append(("event", "John Doe", event))
        assert thread(ticket) == expected
    ticket.refresh_from_db()
    assert (ticket.sla, ticket.priority, ticket.help_topic.full_name) == (
        SLAPlan.objects.get(name="Sev-A"),
        Priority.objects.get(name="Emergency"),
        "Report a Problem / Business Critical Outage",
    )
    assert ticket.resolution_due == ticket.created_at + timedelta(hours=1)

    # 4. He assigns it to the Online Banking team.
    page = html(john.get(url))
    form = action_form(page, "assign", ticket)
    team = option_value(form.one("select", name="team"), "Online Banking")
    response = john.post(form.attrs["action"], {"version": form_version(form), "team": team, "agent": ""})
    assert response.status_code == 302 and response["Location"] == url
    expected.append(("event", "John Doe", "Assigned to Online Banking by John Doe"))
    assert thread(ticket) == expected
    ticket.refresh_from_db()
    assert (ticket.state, ticket.team, ticket.assignee) == (State.ASSIGNED, lab.online_banking, None)
    # It has left John's Unassigned queue for Jane's team queue.
    assert queue_row(john, "unassigned", ticket) is None

    # 5. Jane finds it in her teams' queue and takes it.
    row = queue_row(jane, "teams", ticket)
    assert row is not None and "Online Banking" in cells(row) and "Emergency" in cells(row)
    page = html(jane.get(url))
    take = action_form(page, "claim", ticket)
    assert take.one("button").text == "Take it"
    response = jane.post(take.attrs["action"], {"version": form_version(take)})
    assert response.status_code == 302 and response["Location"] == url
    expected.append(("event", "Jane Doe", "Jane Doe took the ticket over: Jane Doe / Online Banking"))
    assert thread(ticket) == expected
    ticket.refresh_from_db()
    assert (ticket.state, ticket.assignee) == (State.ASSIGNED, lab.jane)

    # 6-7. Two replies to Karen; the first starts the work.
    compose = reverse("agents:compose", args=[ticket.number])
    for i, body in enumerate(("We are on it.", "Cause found, fix in place: it is up again.")):
        response = jane.post(compose, {"kind": "reply", "body": body})
        assert response.status_code == 302 and response["Location"] == url
        if i == 0:
            expected.append(("event", "Jane Doe", "Jane Doe started work"))
        expected.append(("reply", "Jane Doe", body))
        assert thread(ticket) == expected
        assert stored_state(ticket) == State.IN_PROGRESS

    # 8. Jane resolves it with a message for Karen.
    page = html(jane.get(url))
    form = action_form(page, "resolve", ticket)
    response = jane.post(
        form.attrs["action"],
        {"version": form_version(form), "message": "Fixed: the gateway certificate was renewed."},
    )
    assert response.status_code == 302 and response["Location"] == url
    expected += [
        ("event", "Jane Doe", "Resolved by Jane Doe"),
        ("reply", "Jane Doe", "Fixed: the gateway certificate was renewed."),
    ]
    ticket.refresh_from_db()
    assert ticket.state == State.RESOLVED

    # The whole trail, in order, in the thread, in the log and on the page.
    assert thread(ticket) == [
        ("message", "Karen", "Nobody can log in to online banking."),
        (
            "event",
            "system: intake",
            "Received: department Support, priority Normal, SLA plan Default SLA, Unassigned",
        ),
        ("event", "John Doe", "John Doe changed the SLA plan from Default SLA to Sev-A"),
        (
            "event",
            "John Doe",
            "John Doe changed the help topic from Report a Problem to "
            "Report a Problem / Business Critical Outage",
        ),
        ("event", "John Doe", "John Doe changed the priority from Normal to Emergency"),
        ("event", "John Doe", "Assigned to Online Banking by John Doe"),
        ("event", "Jane Doe", "Jane Doe took the ticket over: Jane Doe / Online Banking"),
        ("event", "Jane Doe", "Jane Doe started work"),
        ("reply", "Jane Doe", "We are on it."),
        ("reply", "Jane Doe", "Cause found, fix in place: it is up again."),
        ("event", "Jane Doe", "Resolved by Jane Doe"),
        ("reply", "Jane Doe", "Fixed: the gateway certificate was renewed."),
    ]
    assert thread(ticket) == expected
    assert not ticket.thread.filter(kind=ThreadEntry.Kind.NOTE).exists()
    assert [(t.name, t.source, t.target, t.actor_label) for t in ticket.transitions.all()] == [
        ("create", "", "new", "Karen"),
        ("intake", "new", "open", "system: intake"),
        ("assign", "open", "assigned", "John Doe"),
        ("claim", "assigned", "assigned", "Jane Doe"),
        ("start_work", "assigned", "in_progress", "Jane Doe"),
        ("resolve", "in_progress", "resolved", "Jane Doe"),
    ]
    page = html(jane.get(url))
    shown = [
        node.one("div", class_="message-body").text if node.tag == "article" else node.text
        for node in page.one("section", aria_label="Thread").children
        if isinstance(node, Node)
    ]
    assert len(shown) == len(expected)
    assert all(body in text for (_, _, body), text in zip(expected, shown, strict=True))
    assert "Resolved" in page.one("li", aria_current="step").text

    # Karen heard from us four times: the acknowledgement, the two replies and the resolution;
    # John was alerted to the new ticket, and Jane when it was assigned to her team.
    assert [m.to for m in mail.outbox if m.to != ["karen@example.com"]] == [
        ["john@example.com"],
        ["jane@example.com"],
    ]
    to_karen = [m for m in mail.outbox if m.to == ["karen@example.com"]]
    assert len(to_karen) == 4
    bodies = [m.body for m in to_karen[1:]]
    assert "We are on it." in bodies[0]
    assert "Cause found, fix in place: it is up again." in bodies[1]
    assert "Fixed: the gateway certificate was renewed." in bodies[2]
    assert all(ticket.number in m.subject for m in mail.outbox)
    assert "Resolved" in to_karen[3].subject and "/t/" in to_karen[3].body


def stored_state(ticket: Ticket) -> str:
    return Ticket.objects.values_list("state", flat=True).get(pk=ticket.pk)


def test_the_unassigned_queue_shows_department_and_sla_plan(browser, lab, ticket):
    row = queue_row(browser(lab.john), "unassigned", ticket)
    assert row is not None
    assert "Support" in row.text and "Default SLA" in row.text
