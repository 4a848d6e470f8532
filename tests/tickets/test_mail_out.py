"""Mail out as it goes over the wire: signed Message-IDs that put each message in its ticket's
thread, a Reply-To that brings the answer back, and names that cannot add a header."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import AgentFactory, RequesterFactory
from tickets import services
from tickets.mailout import mailids, notifications
from tickets.models import LifecycleTimers, Ticket, Webhook, WebhookDelivery
from tickets.sla import jobs
from tickets.webhooks import tasks as webhook_tasks


def wire(message) -> object:
    return message_from_bytes(message.message().as_bytes(), policy=policy.default)


@pytest.fixture
def sent(lab, django_capture_on_commit_callbacks):
    def make(name: str = "Karen", subject: str = "Printer jams"):
        requester = RequesterFactory(name=name, email="karen.b@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            ticket = services.ticket_create(requester=requester, subject=subject, body="It jams.")
        return ticket, [wire(m) for m in mail.outbox]

    return make


@pytest.mark.parametrize(
    "name",
    [
        "Karen\r\nBcc: mallory@example.org",
        "Karen\nBcc: mallory@example.org",
        "Karen\rBcc: mallory@example.org",
        "Karen\u2028Bcc: mallory@example.org",
        "Karen\x0b\x0cBcc: mallory@example.org",
    ],
)
def test_a_name_with_line_breaks_cannot_add_a_header(sent, name):
    _, messages = sent(name=name)
    to_karen = [m for m in messages if "karen.b@example.com" in m["To"]]
    assert len(to_karen) == 1
    (message,) = to_karen
    head = message.as_bytes().split(b"\n\n", 1)[0]  # the header block (a body may say anything)
    assert b"\nBcc:" not in head and b"\rBcc:" not in head and message["Bcc"] is None
    assert message["To"].addresses[0].addr_spec == "karen.b@example.com"
    assert message["To"].addresses[0].display_name == "Karen Bcc: mallory@example.org"
    assert len(message.get_all("To")) == 1


def test_a_subject_with_line_breaks_stays_one_header(sent):
    ticket, messages = sent(subject="Printer\r\nBcc: mallory@example.org jams")
    for message in messages:
        assert message["Bcc"] is None
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]


def test_a_name_in_another_script_is_encoded_and_read_back_whole(sent):
    _, messages = sent(name="山田 花子")
    (message,) = [m for m in messages if "karen.b@example.com" in m["To"]]
    assert b"=?utf-8?" in message.as_bytes().lower()
    assert message["To"].addresses[0].display_name == "山田 花子"


def test_every_ticket_mail_is_threaded_and_answered_to_the_help_desk(sent, settings):
    settings.HELPDESK_REPLY_TO = "support@helpdesk.example"
    ticket, messages = sent()
    assert len(messages) == 2  # the acknowledgement, and John's alert
    ids = set()
    for message in messages:
        assert mailids.ticket_pk_from([message["Message-ID"]]) == ticket.pk
        assert message["References"].split()[0] == mailids.root_id(ticket.pk)
        assert message["Reply-To"] == "support@helpdesk.example"
        assert message["X-Loop"] == "support@helpdesk.example"
        ids.add(message["Message-ID"])
    assert len(ids) == 2  # each message its own ID


def test_mail_about_no_ticket_is_still_known_as_ours_when_it_comes_back(lab):
    notifications.deliver(notifications.account_exists(lab.karen))
    (message,) = [wire(m) for m in mail.outbox]
    assert mailids.is_ours(message["Message-ID"])
    assert mailids.ticket_pk_from([message["Message-ID"]]) is None


# -- the signed IDs ------------------------------------------------------------------------------------


def test_a_signed_id_names_its_ticket_and_nothing_else_does():
    good = mailids.new_id(42)
    assert mailids.ticket_pk_from([good]) == 42 and mailids.is_ours(good)
    assert mailids.ticket_pk_from([mailids.root_id(42)]) == 42
    # Another ticket's number with this signature, a changed signature, a changed nonce.
    kind, pk, nonce, rest = good.strip("<>").split(".", 3)
    signature, domain = rest.split("@")
    for forged in [
        f"<{kind}.43.{nonce}.{signature}@{domain}>",
        f"<{kind}.{pk}.{nonce}.{'0' * 20}@{domain}>",
        f"<{kind}.{pk}.{'f' * 16}.{signature}@{domain}>",
        f"<ticket.{pk}.{signature}@{domain}>",
    ]:
        assert mailids.ticket_pk_from([forged]) is None, forged
        assert not mailids.is_ours(forged)


def test_the_newest_signed_id_in_the_references_wins_and_garbage_is_skipped():
    references = f"<a@b> {mailids.root_id(7)} junk <c@d> {mailids.new_id(9)} <e@f>"
    assert mailids.ticket_pk_from(["", references]) == 9
    assert mailids.ticket_pk_from(["<x@y>", "nothing here"]) is None


def test_ids_signed_under_another_secret_are_not_ours(settings):
    theirs = mailids.new_id(5)
    settings.SECRET_KEY = "another-" + "y" * 50
    assert not mailids.is_ours(theirs) and mailids.ticket_pk_from([theirs]) is None


# -- automatic mail says so ----------------------------------------------------------------------------

EMAILS = Path(__file__).resolve().parents[2] / "templates" / "emails"
MONDAY_10 = datetime(2026, 11, 30, 10, tzinfo=UTC)


def test_every_kind_of_mail_says_whether_it_is_automatic(
    lab, new_ticket, client, time_machine, settings, django_capture_on_commit_callbacks
):
    """Each kind of mail, sent as the product sends it. What the help desk sends by itself carries
    ``Auto-Submitted: auto-generated`` and ``X-Auto-Response-Suppress: All``, so that
    auto-responders (and Exchange) stay quiet; what a person wrote carries neither. A template
    in templates/emails/ that no step sends fails the test: a new kind of mail must join it."""
    time_machine.move_to(MONDAY_10, tick=False)
    LifecycleTimers.objects.update_or_create(
        pk=1, defaults={"remind_after_days": 3, "expire_after_days": 4, "close_resolved_after_days": 7}
    )
    sam = AgentFactory(username="sam", email="sam@example.com", departments=[lab.support])
    state: dict[str, Ticket] = {}

    def fresh(name: str) -> Ticket:
        return Ticket.objects.get(pk=state[name].pk)

    def later(days: float = 0, hours: float = 0) -> None:
        time_machine.move_to(MONDAY_10 + timedelta(days=days, hours=hours), tick=False)
        jobs.run_timers()

    def webhook_fails() -> None:
        hook = Webhook.objects.create(
            name="CRM",
            url="http://127.0.0.1:9/refused-as-private",
            events=["ticket.created"],
            secret="s",
            owner=lab.admin,
            consecutive_failures=settings.WEBHOOK_DISABLE_AFTER_FAILURES - 1,
        )
        sent = WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={})
        webhook_tasks.deliver.delay(sent.pk)

    steps: list[tuple[set[str], bool, Callable[[], object]]] = [
        ({"ticket_received", "agent_new_ticket"}, True, lambda: state.update(ticket=new_ticket())),
        (
            {"agent_assigned"},
            True,
            lambda: services.ticket_assign(ticket=fresh("ticket"), actor=lab.john, agent=sam),
        ),
        (
            {"agent_escalated"},
            True,
            lambda: services.ticket_escalate(
                ticket=fresh("ticket"), actor=sam, team=lab.online_banking, summary="Gateway 502s."
            ),
        ),
        (set(), True, lambda: services.ticket_claim(ticket=fresh("ticket"), actor=lab.jane)),
        (
            {"ticket_reply"},
            False,
            lambda: services.ticket_reply(ticket=fresh("ticket"), actor=lab.jane, body="On it."),
        ),
        (
            {"ticket_reply"},
            False,
            lambda: services.ticket_request_info(
                ticket=fresh("ticket"), actor=lab.jane, message="Which browser?"
            ),
        ),
        (
            {"agent_requester_reply"},
            True,
            lambda: services.ticket_receive_reply(ticket=fresh("ticket"), body="Firefox.", actor=lab.karen),
        ),
        (
            {"ticket_resolved"},
            False,
            lambda: services.ticket_resolve(
                ticket=fresh("ticket"), actor=lab.jane, message="Replaced the cable."
            ),
        ),
        ({"ticket_closed"}, True, lambda: services.ticket_close(ticket=fresh("ticket"), actor=lab.jane)),
        (
            {"ticket_link"},
            True,
            lambda: client.post(
                reverse("portal:check_status"),
                {"email": "karen@example.com", "number": state["ticket"].number},
            ),
        ),
        (
            {"account_confirm"},
            True,
            lambda: client.post(
                reverse("portal:register"),
                {
                    "name": "New Person",
                    "email": "new.person@example.org",
                    "password1": "Tr1cky-Horse-Battery",
                    "password2": "Tr1cky-Horse-Battery",
                },
            ),
        ),
        (
            {"account_exists"},
            True,
            lambda: client.post(
                reverse("portal:register"),
                {
                    "name": "Mallory",
                    "email": "karen@example.com",
                    "password1": "Tr1cky-Horse-Battery",
                    "password2": "Tr1cky-Horse-Battery",
                },
            ),
        ),
        (
            {"password_reset"},
            True,
            lambda: client.post(reverse("portal:password_reset"), {"email": "karen@example.com"}),
        ),
        # The job: an unanswered ticket goes overdue; a question unanswered is reminded, then
        # resolved by the help desk itself.
        (set(), True, lambda: state.update(late=new_ticket(subject="Nobody took it"))),
        (set(), True, lambda: state.update(waiting=new_ticket(subject="Card declined"))),
        (set(), True, lambda: services.ticket_claim(ticket=fresh("waiting"), actor=lab.john)),
        (
            set(),
            True,
            lambda: services.ticket_request_info(
                ticket=fresh("waiting"), actor=lab.john, message="Which card?"
            ),
        ),
        ({"agent_overdue"}, True, lambda: later(hours=4)),
        ({"ticket_reminder"}, True, lambda: later(days=3)),
        ({"ticket_resolved"}, True, lambda: later(days=7)),
        # A webhook failing once too often is switched off, and its owner told.
        ({"webhook_disabled"}, True, webhook_fails),
        # A true duplicate merged: its requester is told where it went.
        (set(), True, lambda: state.update(duplicate=new_ticket(subject="Nobody took it, again"))),
        (
            {"ticket_merged"},
            True,
            lambda: services.ticket_merge(ticket=fresh("duplicate"), into=fresh("late"), actor=lab.jane),
        ),
    ]
    walked: set[str] = set()
    for templates, automatic, step in steps:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            step()
        if not templates:
            continue
        assert mail.outbox, f"nothing sent for {templates}"
        for message in (wire(m) for m in mail.outbox):
            marks = (message["Auto-Submitted"], message["X-Auto-Response-Suppress"])
            expected = ("auto-generated", "All") if automatic else (None, None)
            assert marks == expected, f"{sorted(templates)}: {message['Subject']!r} has {marks}"
        walked |= templates
    assert walked == {path.name.removesuffix("_subject.txt") for path in EMAILS.glob("*_subject.txt")}
