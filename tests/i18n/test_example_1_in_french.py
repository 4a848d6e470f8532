"""Example 1 with Karen in French and Jane in English (docs/i18n.md): Karen reads the portal in
the language she chose and gets every mail of the example in it, while Jane's console stays
English and what Jane types reaches Karen as Jane wrote it."""

from __future__ import annotations

import re

from django.core import mail
from django.urls import reverse
from django.utils import translation

from tests.i18n.sentences import english_left, mail_text
from tickets import services
from tickets.models import Requester, Ticket


def _reads_in_french(message) -> list[str]:
    assert message.extra_headers["Content-Language"] == "fr"
    return english_left(mail_text(message), "fr")


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def _lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


def test_karen_in_french_gets_every_mail_of_example_1_in_french_while_jane_works_in_english(
    browser, lab, django_capture_on_commit_callbacks
):
    karen = browser(lab.karen)
    karen.post(reverse("set_language"), {"language": "fr"})
    home = karen.get(reverse("portal:home"))
    assert _lang(home) == "fr"
    with translation.override("fr"):
        assert translation.gettext("My tickets") in home.content.decode()
    mail.outbox.clear()

    # 1. Karen opens her ticket in the portal (in French).
    topic = lab.topic("Report a Problem")
    response = karen.post(
        reverse("portal:open_ticket"),
        {"help_topic": topic.pk, "subject": "Banque en ligne en panne", "body": "Personne ne se connecte."},
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Banque en ligne en panne")
    assert Requester.objects.get(user=lab.karen).language == "fr"

    # 2. Jane works in English: her console is English, whatever Karen reads.
    jane = browser(lab.jane)
    console = jane.get(reverse("agents:ticket", args=[ticket.number]), HTTP_ACCEPT_LANGUAGE="en")
    assert _lang(console) == "en" and "Reply to the requester" in console.content.decode()
    with django_capture_on_commit_callbacks(execute=True), translation.override("en"):
        services.ticket_assign(ticket=_fresh(ticket), actor=lab.john, team=lab.online_banking)
        services.ticket_claim(ticket=_fresh(ticket), actor=lab.jane)
        services.ticket_request_info(ticket=_fresh(ticket), actor=lab.jane, message="Since when, please?")
    karen.post(reverse("portal:ticket_reply", args=[ticket.number]), {"body": "Depuis ce matin."})
    with django_capture_on_commit_callbacks(execute=True), translation.override("en"):
        services.ticket_reply(ticket=_fresh(ticket), actor=lab.jane, body="We are on it.")
        services.ticket_resolve(
            ticket=_fresh(ticket), actor=lab.jane, message="Fixed: the certificate was renewed."
        )
    # 3. Karen confirms the fix in the portal: closed.
    karen.post(reverse("portal:ticket_confirm", args=[ticket.number]))  # its mail is sent on commit
    ticket.refresh_from_db()
    assert ticket.state == "closed"

    to_karen = [message for message in mail.outbox if message.to == ["karen@example.com"]]
    kinds = [message.extra_headers.get("Auto-Submitted", "person") for message in to_karen]
    # The acknowledgement, the question, the reply, the resolution and the closure.
    assert len(to_karen) == 5, [message.subject for message in to_karen]
    assert kinds.count("person") >= 3  # what Jane wrote
    for message in to_karen:
        assert _reads_in_french(message) == [], message.subject
        assert f"[#{ticket.number}]" in message.subject
    bodies = " ".join(message.body for message in to_karen)
    # What Jane wrote reaches Karen as Jane wrote it.
    assert "Since when, please?" in bodies and "Fixed: the certificate was renewed." in bodies
    # Jane's own alerts stay English.
    to_jane = [message for message in mail.outbox if message.to == ["jane@example.com"]]
    assert to_jane and all(message.extra_headers["Content-Language"] == "en" for message in to_jane)
