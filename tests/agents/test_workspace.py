"""The ticket workspace in the console: properties panel, lifecycle strip, thread, buttons,
properties changed in place, the composer, canned responses and the page's cost."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agents.forms import ComposerForm
from tests.factories import AgentFactory, SLAPlanFactory
from tickets import markup, services
from tickets.mailin import store
from tickets.models import (
    Attachment,
    CannedResponse,
    Priority,
    SLAPlan,
    State,
    ThreadEntry,
    Ticket,
)

# -- a small HTML tree, to look at the page the way a person does -----------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None = None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return " ".join(" ".join(parts).split())

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, *, class_: str | None = None, **attrs: str) -> list[Node]:
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [
            node
            for node in self.iter()
            if (tag is None or node.tag == tag)
            and (class_ is None or class_ in node.classes)
            and all(node.attrs.get(k) == v for k, v in wanted.items())
        ]

    def find(self, tag: str | None = None, **kwargs: str) -> Node | None:
        found = self.find_all(tag, **kwargs)
        return found[0] if found else None

    def one(self, tag: str | None = None, **kwargs: str) -> Node:
        found = self.find_all(tag, **kwargs)
        assert len(found) == 1, f"expected one <{tag} {kwargs}>, found {len(found)}"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#root", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def html(response) -> Node:
    builder = _TreeBuilder()
    builder.feed(response.content.decode())
    return builder.root


def action_labels(page: Node) -> list[str]:
    """The labels of the lifecycle buttons, without the "…" of those that open a dialog."""
    section = page.find("section", aria_label="Actions")
    if section is None:
        return []
    return [b.text.rstrip("…") for b in section.find_all("button")]


def selected_value(page: Node, name: str) -> str | None:
    select = page.one("select", id=f"prop-{name}")
    chosen = [o.attrs["value"] for o in select.find_all("option") if "selected" in o.attrs]
    assert len(chosen) <= 1
    return chosen[0] if chosen else None


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def viewer(lab):
    return AgentFactory(
        username="viewer", first_name="Vera", last_name="Viewer", role="View Only", departments=[lab.support]
    )


def page_url(ticket: Ticket) -> str:
    return reverse("agents:ticket", args=[ticket.number])


def stored(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def change(client, ticket: Ticket, field: str, value, *, version: int | None = None, htmx: bool = True):
    data = {
        "field": field,
        field: "" if value is None else getattr(value, "pk", value),
        "version": stored(ticket).version if version is None else version,
    }
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("agents:change_property", args=[ticket.number]), data, **extra)


def events(ticket: Ticket) -> list[str]:
    return list(ticket.thread.filter(kind=ThreadEntry.Kind.EVENT).values_list("body", flat=True))


# -- the page -------------------------------------------------------------------------------------


def test_the_page_shows_properties_strip_and_thread(john, ticket):
    response = john.get(page_url(ticket))
    assert response.status_code == 200
    page = html(response)

    panel = page.one("section", class_="properties")
    assert panel.one("h2").text == "Properties"
    assert selected_value(panel, "priority") == str(ticket.priority_id)
    assert selected_value(panel, "department") == str(ticket.department_id)
    assert selected_value(panel, "sla_plan") == str(ticket.sla_id)
    assert selected_value(panel, "help_topic") == str(ticket.help_topic_id)
    assert selected_value(panel, "team") is None and selected_value(panel, "assignee") is None
    assert "Karen" in panel.text and "karen@example.com" in panel.text

    strip = page.one("ol", class_="progress-steps")
    steps = strip.find_all("li")
    assert len(steps) == 8
    current = strip.one("li", aria_current="step")
    assert current is steps[1] and "Open" in current.text and "step-current" in current.classes
    assert "step-done" in steps[0].classes and all("step-todo" in s.classes for s in steps[2:])

    thread = page.one("section", aria_label="Thread")
    message = thread.one("article", class_="thread-message")
    assert message.one("span", class_="kind-badge").text == "Requester"
    assert "Nobody can log in to online banking." in message.text
    event = thread.one("div", class_="thread-event")
    assert "Received: department Support, priority Normal, SLA plan Default SLA" in event.text


def test_every_id_on_the_page_is_unique_so_each_label_names_its_own_field(browser, lab, ticket):
    """The assign and escalate dialogs both have a team and a department field."""
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    page = browser(lab.jane).get(page_url(ticket)).content.decode()
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert {"assign-team", "escalate-team", "assign-department", "escalate-department"} <= set(ids)
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []
    labels = re.findall(r'<label[^>]*\bfor="([^"]+)"', page)
    assert set(labels) <= set(ids)


def test_the_strip_marks_the_stage_the_ticket_is_in_now(john, lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_start_work(ticket=ticket, actor=lab.john)
    page = html(john.get(page_url(ticket)))
    strip = page.one("ol", class_="progress-steps")
    current = strip.one("li", aria_current="step")
    assert "In progress" in current.text
    status = {li.find("span", class_="step-label").text: li.classes for li in strip.find_all("li")}
    assert "step-done" in status["Assigned"] and "step-todo" in status["Awaiting user"]


def test_messages_replies_notes_and_events_are_told_apart(john, lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_reply(ticket=ticket, actor=lab.john, body="A public answer.")  # starts the work
    services.ticket_note(ticket=ticket, actor=lab.john, body="Only for us.")
    page = html(john.get(page_url(ticket)))
    thread = page.one("section", aria_label="Thread")

    cards = {}
    for article in thread.find_all("article"):
        badge = article.one("span", class_="kind-badge")
        cards[article.one("div", class_="message-body").text] = (
            {c for c in article.classes if c.startswith("thread-") and c != "thread-entry"},
            {c for c in badge.classes if c.startswith("kind-") and c != "kind-badge"},
            badge.text,
        )
    assert cards == {
        "Nobody can log in to online banking.": ({"thread-message"}, {"kind-message"}, "Requester"),
        "A public answer.": ({"thread-reply"}, {"kind-reply"}, "Reply"),
        "Only for us.": ({"thread-note"}, {"kind-note"}, "Internal note"),
    }
    # Events are lines without a badge, not cards.
    lines = thread.find_all("div", class_="thread-event")
    assert [line.find("span", class_="kind-badge") for line in lines] == [None, None, None]
    assert "took the ticket over" in lines[1].text and "started work" in lines[2].text

    # Everything in the thread's order.
    def kind(node):
        if "thread-event" in node.classes:
            return "event"
        return next(
            c.removeprefix("thread-") for c in node.classes if c.startswith("thread-") and c != "thread-entry"
        )

    shown = [kind(n) for n in thread.children if isinstance(n, Node)]
    assert shown == list(ticket.thread.values_list("kind", flat=True))
    assert shown == ["message", "event", "event", "event", "reply", "note"]


def test_john_sees_only_the_actions_he_may_run(john, lab, ticket):
    page = html(john.get(page_url(ticket)))
    expected = [a.label for a in services.available_actions(ticket=ticket, actor=lab.john)]
    assert sorted(expected) == ["Assign", "Cancel", "Take it"]
    assert sorted(action_labels(page)) == sorted(expected)


def test_a_supreme_admin_sees_more_buttons_than_an_agent(browser, lab, ticket):
    colleague = AgentFactory(username="colleague", role="Agent", departments=[lab.support])
    services.ticket_assign(ticket=ticket, actor=lab.john, agent=colleague)
    ticket.refresh_from_db()

    johns = action_labels(html(browser(lab.john).get(page_url(ticket))))
    janes = action_labels(html(browser(lab.jane).get(page_url(ticket))))
    assert sorted(johns) == sorted(a.label for a in services.available_actions(ticket=ticket, actor=lab.john))
    assert sorted(janes) == sorted(a.label for a in services.available_actions(ticket=ticket, actor=lab.jane))
    assert sorted(johns) == ["Assign", "Cancel", "Take it"]
    assert set(janes) - set(johns) == {"Ask the requester", "Escalate", "Resolve"}
    # Neither may start the work: that is the assignee's move.
    assert "Start work" not in johns + janes


def test_a_view_only_agent_sees_text_and_no_buttons(browser, lab, viewer, ticket):
    page = html(browser(viewer).get(page_url(ticket)))
    panel = page.one("section", class_="properties")
    assert panel.find_all("select") == [] and panel.find_all("form") == []
    assert panel.one("span", id="prop-priority").text == "Normal"
    assert panel.one("span", id="prop-department").text == "Support"
    assert panel.one("span", id="prop-sla_plan").text == "Default SLA"
    assert panel.one("span", id="prop-team").text == "—"
    assert action_labels(page) == []
    assert page.find("section", class_="composer") is None


def test_a_view_only_agent_cannot_change_a_property(browser, viewer, ticket):
    before = stored(ticket)
    response = change(browser(viewer), ticket, "priority", Priority.objects.get(name="High"))
    assert response.status_code == 403
    after = stored(ticket)
    assert (after.priority_id, after.version) == (before.priority_id, before.version)
    assert len(events(ticket)) == 1


# -- properties changed in place -----------------------------------------------------------------


def _value(lab, field):
    return {
        "help_topic": lambda: lab.topic("Report a Problem / Business Critical Outage"),
        "priority": lambda: Priority.objects.get(name="Emergency"),
        "sla_plan": lambda: SLAPlan.objects.get(name="Sev-A"),
        "department": lambda: lab.sysadmins,
        "team": lambda: lab.online_banking,
        "assignee": lambda: lab.jane,
    }[field]()


@pytest.mark.parametrize(
    "field, event",
    [
        (
            "help_topic",
            "Jane Doe changed the help topic from Report a Problem to "
            "Report a Problem / Business Critical Outage",
        ),
        ("priority", "Jane Doe changed the priority from Normal to Emergency"),
        ("sla_plan", "Jane Doe changed the SLA plan from Default SLA to Sev-A"),
        ("department", "Jane Doe changed the department from Support to SysAdmins"),
        ("team", "Assigned to Online Banking by Jane Doe"),
        ("assignee", "Assigned to Jane Doe by Jane Doe"),
    ],
)
def test_each_property_changes_in_place_and_lands_in_the_thread(jane, lab, ticket, field, event):
    value = _value(lab, field)
    before_events = events(ticket)
    before_transitions = ticket.transitions.count()

    response = change(jane, ticket, field, value)

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "agents/_live.html"
    content = response.content.decode()
    assert "<html" not in content and 'id="workspace-live"' in content
    page = html(response)
    assert page.find("div", class_="alert-danger") is None
    assert selected_value(page, field) == str(value.pk)
    assert event in page.one("section", aria_label="Thread").text

    assert events(ticket) == [*before_events, event]
    after = stored(ticket)
    model_field = {"sla_plan": "sla"}.get(field, field)
    assert getattr(after, f"{model_field}_id") == value.pk
    transitions = list(ticket.transitions.all()[before_transitions:])
    if field in ("team", "assignee"):
        assert [(t.name, t.source, t.target, t.actor) for t in transitions] == [
            ("assign", State.OPEN, State.ASSIGNED, lab.jane)
        ]
        assert after.state == State.ASSIGNED
    else:
        assert transitions == [] and after.state == State.OPEN


def test_john_changes_the_properties_of_his_departments_ticket(john, lab, ticket):
    for field in ("help_topic", "priority", "sla_plan", "team"):
        value = _value(lab, field)
        response = change(john, ticket, field, value)
        assert response.status_code == 200
        assert selected_value(html(response), field) == str(value.pk)
    assert events(ticket)[1:] == [
        "John Doe changed the help topic from Report a Problem to "
        "Report a Problem / Business Critical Outage",
        "John Doe changed the priority from Normal to Emergency",
        "John Doe changed the SLA plan from Default SLA to Sev-A",
        "Assigned to Online Banking by John Doe",
    ]


def test_moving_a_ticket_to_a_department_the_agent_cannot_see_answers_with_the_change(john, lab, ticket):
    response = change(john, ticket, "department", lab.sysadmins)
    assert stored(ticket).department == lab.sysadmins  # the change was saved ...
    # ... and htmx takes the agent back to the queues, where a message says where it went.
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("agents:home")
    page = john.get(reverse("agents:home")).content.decode()
    assert f"#{ticket.number} moved to SysAdmins, whose tickets you cannot see." in page


def test_emergency_and_sev_a_retarget_the_due_times(john, ticket):
    created = stored(ticket).created_at
    assert stored(ticket).resolution_due > created + timedelta(hours=17)

    change(john, ticket, "priority", Priority.objects.get(name="Emergency"))
    response = change(john, ticket, "sla_plan", SLAPlan.objects.get(name="Sev-A"))

    after = stored(ticket)
    assert after.priority.name == "Emergency" and after.sla.name == "Sev-A"
    assert after.resolution_due == created + timedelta(hours=1)
    assert after.first_response_due == created + timedelta(hours=1)
    assert (
        after.resolution_due.strftime("%-d %b, %H:%M")
        in html(response).one("section", class_="properties").text
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("priority", 999999),
        ("priority", "Emergency"),
        ("sla_plan", "inactive"),
        ("team", 999999),
        ("assignee", "customer"),
        ("state", "closed"),
    ],
)
def test_a_value_not_in_the_choices_changes_nothing(john, lab, ticket, field, value):
    if value == "inactive":
        value = SLAPlanFactory(name="Retired plan", is_active=False).pk
    if value == "customer":
        value = lab.karen.pk  # not staff: not an agent one can assign to
    before = stored(ticket)
    response = john.post(
        reverse("agents:change_property", args=[ticket.number]),
        {"field": field, field: value, "version": before.version},
        HTTP_HX_REQUEST="true",
    )
    page = html(response)
    assert page.one("div", class_="alert-danger").text == "That value is not one of the choices."
    after = stored(ticket)
    assert after.version == before.version
    assert (after.priority_id, after.sla_id, after.team_id, after.assignee_id, after.state) == (
        before.priority_id,
        before.sla_id,
        before.team_id,
        before.assignee_id,
        before.state,
    )
    assert len(events(ticket)) == 1 and ticket.transitions.count() == 2


def test_a_department_cannot_be_emptied(jane, ticket):
    response = change(jane, ticket, "department", None)
    assert html(response).one("div", class_="alert-danger").text == "A ticket must belong to a department."
    assert stored(ticket).department.name == "Support"
    assert len(events(ticket)) == 1


def test_without_htmx_the_change_redirects_to_the_page(john, ticket):
    response = change(john, ticket, "priority", Priority.objects.get(name="High"), htmx=False)
    assert response.status_code == 302 and response["Location"] == page_url(ticket)
    assert stored(ticket).priority.name == "High"


# -- the composer ---------------------------------------------------------------------------------


def compose(client, ticket: Ticket, **data):
    return client.post(reverse("agents:compose", args=[ticket.number]), data)


def test_a_reply_is_public_and_mailed_to_the_requester(john, lab, ticket):
    response = compose(john, ticket, kind="reply", body="We are looking into it.")
    assert response.status_code == 302 and response["Location"] == page_url(ticket)
    entry = ticket.thread.get(kind=ThreadEntry.Kind.REPLY)
    assert (entry.body, entry.is_public, entry.author, entry.author_name) == (
        "We are looking into it.",
        True,
        lab.john,
        "John Doe",
    )
    assert [m.to for m in mail.outbox] == [["karen@example.com"]]
    assert "We are looking into it." in mail.outbox[0].body
    assert stored(ticket).first_responded_at == entry.created_at
    page = html(john.get(page_url(ticket)))
    assert "Reply sent." in page.one("div", role="alert").text
    reply = page.one("article", class_="thread-reply")
    assert "We are looking into it." in reply.text


def test_a_note_is_internal_and_mails_nobody(john, lab, ticket):
    response = compose(john, ticket, kind="note", body="Probably the gateway again.")
    assert response.status_code == 302
    entry = ticket.thread.get(kind=ThreadEntry.Kind.NOTE)
    assert (entry.body, entry.is_public, entry.author) == ("Probably the gateway again.", False, lab.john)
    assert mail.outbox == []
    assert stored(ticket).first_responded_at is None
    page = html(john.get(page_url(ticket)))
    assert "Probably the gateway again." in page.one("article", class_="thread-note").text


def test_an_empty_body_is_refused_and_the_form_shown_again(john, ticket):
    upload = SimpleUploadedFile("trace.txt", b"stack trace\n", content_type="text/plain")
    response = john.post(
        reverse("agents:compose", args=[ticket.number]),
        {"kind": "note", "body": "   ", "attachments": upload},
    )
    assert response.status_code == 400
    page = html(response)
    composer = page.one("section", class_="composer")
    checked = [i.attrs["value"] for i in composer.find_all("input", type="radio") if "checked" in i.attrs]
    assert checked == ["note"]
    textarea = composer.one("textarea", name="body")
    assert "is-invalid" in textarea.classes
    assert composer.one("div", class_="invalid-feedback").text == "This field is required."
    file_input = composer.one("input", type="file")
    assert "value" not in file_input.attrs
    assert ticket.thread.count() == 2 and not Attachment.objects.exists() and mail.outbox == []


def test_a_refused_file_keeps_the_typed_text_and_saves_nothing(john, ticket):
    bad = SimpleUploadedFile("page.svg", b"<svg onload=alert(1)>", content_type="image/svg+xml")
    response = john.post(
        reverse("agents:compose", args=[ticket.number]),
        {"kind": "reply", "body": "See the picture.", "attachments": bad},
    )
    assert response.status_code == 400
    composer = html(response).one("section", class_="composer")
    assert composer.one("textarea", name="body").text == "See the picture."
    assert "page.svg" in composer.text
    assert ticket.thread.count() == 2 and not Attachment.objects.exists() and mail.outbox == []


def test_a_reply_with_an_attachment_can_be_downloaded_by_agents(john, lab, ticket):
    upload = SimpleUploadedFile("trace.log", b"ERROR gateway timeout\n", content_type="text/plain")
    response = john.post(
        reverse("agents:compose", args=[ticket.number]),
        {"kind": "reply", "body": "Here is the log.", "attachments": upload},
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.entry.kind == ThreadEntry.Kind.REPLY and attachment.filename == "trace.log"
    assert attachment.entry.ticket_id == ticket.pk

    page = html(john.get(page_url(ticket)))
    url = reverse("agents:attachment", args=[ticket.number, attachment.pk])
    link = page.one("article", class_="thread-reply").one("a", href=url)
    assert link.text == "trace.log"
    # The paperclip is the vendored icon, not an emoji that needs a font to show.
    assert "📎" not in page.text and 'class="icon-paperclip"' in john.get(page_url(ticket)).content.decode()

    download = john.get(url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert 'filename="trace.log"' in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == b"ERROR gateway timeout\n"


def test_an_attachment_of_another_ticket_is_404(john, new_ticket, ticket):
    other = new_ticket(subject="Another one")
    compose(john, other, kind="reply", body="File", attachments=SimpleUploadedFile("a.txt", b"x\n"))
    attachment = Attachment.objects.get()
    response = john.get(reverse("agents:attachment", args=[ticket.number, attachment.pk]))
    assert response.status_code == 404


EMAILED = (
    b"From: Ken <ken@example.com>\n"
    b"Subject: Laptop will not charge\n"
    b"Message-ID: <ken-1@mail.example.com>\n"
    b"Content-Type: text/plain; charset=utf-8\n\n"
    b"The charger light stays off.\n\n-- \nKen, floor 4\n"
)


def test_an_entry_that_came_by_mail_offers_the_original_to_agents(john, lab, ticket):
    stored = store.ingest(EMAILED)
    emailed = stored.ticket
    assert emailed.thread.get(kind="message").body == "The charger light stays off.\n\n-- \nKen, floor 4"
    page = john.get(page_url(emailed)).content.decode()
    url = reverse("agents:original_email", args=[emailed.number, stored.pk])
    assert f'href="{url}"' in page and "download the original (.eml)" in page
    # Entries typed in the portal or console have no such link.
    assert "download the original" not in john.get(page_url(ticket)).content.decode()
    download = john.get(url)
    assert download.status_code == 200 and download.content == EMAILED
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == f'attachment; filename="message-{stored.pk}.eml"'
    # Another ticket's mail is not reached through a ticket the agent sees.
    assert john.get(reverse("agents:original_email", args=[ticket.number, stored.pk])).status_code == 404


def _no_markdown_now(*args, **kwargs):
    raise AssertionError("a page parsed Markdown")


def test_messages_of_any_shape_show_their_text_and_the_page_parses_no_markdown(
    john, lab, ticket, monkeypatch
):
    mailed = ("[a](" * store.MAX_BODY_CHARS)[: store.MAX_BODY_CHARS]
    services.ticket_receive_reply(ticket=ticket, body=mailed, actor=None, system_rule=store.EMAIL_RULE)
    typed = "[![" * (ComposerForm.base_fields["body"].max_length // 3)
    assert compose(john, ticket, kind="reply", body=typed).status_code == 302
    nested = "*a **a " * 700 + "b" + " a** a*" * 700  # under the Markdown limit: rendered
    assert compose(john, ticket, kind="note", body=nested).status_code == 302
    # Rendered once, when saved; the page and the mail show the stored HTML.
    monkeypatch.setattr(markup, "render_markdown", _no_markdown_now)
    monkeypatch.setattr(markup._MARKDOWN, "render", _no_markdown_now)
    page = john.get(page_url(ticket)).content.decode()
    assert f'<pre class="plain-text">{mailed}</pre>' in page
    assert f'<pre class="plain-text">{typed}</pre>' in page
    assert "<em>a <strong>a <em>a <strong>a" in page  # 1,400 levels deep: too deep for html() here
    [sent] = mail.outbox
    [(mailed_html, _)] = sent.alternatives
    assert (
        f'<pre class="plain-text" style="white-space:pre-wrap;overflow-wrap:anywhere;margin:0;">{typed}</pre>'
        in (mailed_html)
    )


@pytest.fixture
def closed(lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    services.ticket_close(ticket=ticket, actor=lab.john)
    return ticket


def test_a_reply_on_a_closed_ticket_is_refused(john, closed):
    entries = closed.thread.count()
    response = compose(john, closed, kind="reply", body="One more thing.")
    assert response.status_code == 400
    assert closed.thread.count() == entries and mail.outbox == []


def test_a_reply_on_a_closed_ticket_says_why(john, closed):
    response = compose(john, closed, kind="reply", body="One more thing.")
    assert "A closed ticket takes no replies" in response.content.decode()


def test_the_composer_is_not_offered_on_a_closed_ticket(john, closed):
    page = html(john.get(page_url(closed)))
    assert page.find("section", class_="composer") is None


# -- canned responses -----------------------------------------------------------------------------


def canned(client, ticket: Ticket, response: CannedResponse):
    return client.get(reverse("agents:canned", args=[ticket.number, response.pk]), HTTP_HX_REQUEST="true")


@pytest.fixture
def placeholders(lab):
    return CannedResponse.objects.create(
        title="All of them",
        body="{requester_name} #{ticket_number} {subject} {agent_name}",
        department=lab.support,
    )


def test_the_composer_offers_the_departments_canned_responses(john, lab, ticket, placeholders):
    CannedResponse.objects.create(title="For sysadmins", body="x", department=lab.sysadmins)
    CannedResponse.objects.create(title="Retired", body="x", department=lab.support, is_active=False)
    page = html(john.get(page_url(ticket)))
    buttons = page.one("section", class_="composer").find_all("button", type="button")
    offered = {b.text: b.attrs.get("hx-get") for b in buttons}
    assert set(offered) == {"All of them", "We are on it", "Which browser and device?"}
    assert offered["All of them"] == reverse("agents:canned", args=[ticket.number, placeholders.pk])


def test_a_canned_response_comes_filled_in(john, ticket, placeholders):
    response = canned(john, ticket, placeholders)
    assert response.status_code == 200
    page = html(response)
    textarea = page.one("div", id="composer-body").one("textarea", name="body")
    assert textarea.text == f"Karen #{ticket.number} Entire mobile/online banking system is down John Doe"


def test_a_canned_response_escapes_the_subject(john, new_ticket, placeholders):
    ticket = new_ticket(subject="<script>alert(1)</script> & more")
    response = canned(john, ticket, placeholders)
    content = response.content.decode()
    assert "<script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in content
    textarea = html(response).one("textarea", name="body")
    assert textarea.text == f"Karen #{ticket.number} <script>alert(1)</script> & more John Doe"


def test_a_canned_response_of_another_department_is_404(john, lab, ticket):
    theirs = CannedResponse.objects.create(title="Theirs", body="x", department=lab.sysadmins)
    assert canned(john, ticket, theirs).status_code == 404
    retired = CannedResponse.objects.create(
        title="Retired", body="x", department=lab.support, is_active=False
    )
    assert canned(john, ticket, retired).status_code == 404


def test_a_view_only_agent_gets_no_canned_response(browser, viewer, ticket, placeholders):
    assert canned(browser(viewer), ticket, placeholders).status_code == 403


# -- what the page costs --------------------------------------------------------------------------


def _queries(client, url, django_assert_max_num_queries, limit=25):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _add_entries(lab, ticket: Ticket, count: int) -> None:
    """Replies with files, notes and events (property changes), in turn."""
    ticket = stored(ticket)
    priorities = list(Priority.objects.order_by("rank"))
    for i in range(count):
        if i % 3 == 0:
            services.ticket_reply(
                ticket=ticket,
                actor=lab.jane,
                body=f"Update {i}",
                attachments=[SimpleUploadedFile(f"log{i}.txt", b"line\n")],
            )
        elif i % 3 == 1:
            services.ticket_note(
                ticket=ticket,
                actor=lab.john,
                body=f"Note {i}",
                attachments=[SimpleUploadedFile(f"n{i}.txt", b"x\n")],
            )
        else:
            current = priorities.index(ticket.priority)
            services.ticket_update_properties(
                ticket=ticket, actor=lab.jane, priority=priorities[(current + 1) % len(priorities)]
            )


def test_the_page_costs_the_same_at_3_and_33_entries(jane, lab, ticket, django_assert_max_num_queries):
    _add_entries(lab, ticket, 1)
    assert ticket.thread.count() == 3
    url = page_url(ticket)
    # The first page reads the configuration tables into the cache (tickets.catalog).
    _queries(jane, url, django_assert_max_num_queries)
    few = _queries(jane, url, django_assert_max_num_queries)
    _add_entries(lab, ticket, 30)
    assert ticket.thread.count() == 33
    assert set(ticket.thread.values_list("kind", flat=True)) == {"message", "event", "reply", "note"}
    assert Attachment.objects.filter(entry__ticket=ticket).count() == 21
    many = _queries(jane, url, django_assert_max_num_queries)
    assert few == many
