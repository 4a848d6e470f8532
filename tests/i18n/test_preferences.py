"""Who reads which language and time zone (docs/i18n.md): the picker, Accept-Language, a
person's stored choice, and every mail in its reader's language whoever sends it."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.i18n.sentences import english_left, mail_text
from tickets import locales, services
from tickets.models import AgentProfile, Requester, Ticket

PICKER = reverse("set_language")


def _lang(response) -> str:
    return re.search(r'<html lang="([^"]+)" dir="(\w+)"', response.content.decode()).groups()


# -- the rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "language"),
    [
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("de_DE", "de"),
        ("AR", "ar"),
        ("en-GB", "en"),
        ("xx", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_a_code_is_one_of_the_shipped_languages_or_nothing(given, language):
    assert locales.language(given) == language


def test_an_emails_content_language_gives_its_first_shipped_language():
    assert locales.content_language("de-DE, en") == "de"
    assert locales.content_language("x-klingon, fr") == "fr"
    assert locales.content_language("pt-BR") == locales.content_language(None) == ""


def test_a_time_zone_is_one_the_machine_knows_or_nothing():
    assert locales.time_zone("Europe/Paris") == "Europe/Paris"
    assert locales.time_zone("Mars/Olympus_Mons") == locales.time_zone("../../etc/passwd") == ""


# -- which language a page is in ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_visitor_gets_the_desks_language_without_any_wish(client):
    assert _lang(client.get("/")) == ("en", "ltr")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "lang"), [("de-DE,de;q=0.9,en;q=0.5", "de"), ("fr", "fr"), ("pt-BR", "en")]
)
def test_the_browsers_accept_language_chooses_a_guests_language(client, header, lang):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE=header)
    assert _lang(response) == (lang, "ltr")
    assert response["Content-Language"] == lang


@pytest.mark.django_db
def test_arabic_pages_are_right_to_left_with_bootstraps_rtl_stylesheet(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="ar" dir="rtl"' in page
    assert "bootstrap.rtl.min.css" in page and "bootstrap.min.css" not in page
    assert "bootstrap.min.css" in client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()


@pytest.mark.django_db
def test_the_picker_sets_a_guests_language_over_the_browsers(client):
    response = client.post(PICKER, {"language": "fr"}, HTTP_REFERER="http://testserver/help/")
    assert response.status_code == 302 and response["Location"] == "http://testserver/help/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert _lang(client.get("/", HTTP_ACCEPT_LANGUAGE="de")) == ("fr", "ltr")


@pytest.mark.django_db
def test_the_picker_refuses_a_language_not_offered_and_stays(client):
    response = client.post(PICKER, {"language": "xx"}, follow=True)
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies
    assert "That language is not offered here." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("referer", ["https://evil.example/phish", "//evil.example/", "javascript:alert(1)"])
def test_the_picker_sends_back_only_to_this_site(client, referer):
    response = client.post(PICKER, {"language": "de"}, HTTP_REFERER=referer)
    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.django_db
def test_the_picker_takes_only_a_post_with_its_csrf_token():
    guarded = Client(enforce_csrf_checks=True)
    assert guarded.get(PICKER).status_code == 405
    assert guarded.post(PICKER, {"language": "de"}).status_code == 403
    assert settings.LANGUAGE_COOKIE_NAME not in guarded.cookies


@pytest.mark.django_db
def test_every_page_offers_the_picker_with_each_language_by_its_own_name(client):
    page = client.get("/").content.decode()
    assert f'action="{PICKER}"' in page
    for code, name in [("en", "English"), ("fr", "français"), ("de", "Deutsch"), ("ar", "العربيّة")]:
        assert re.search(rf'<option value="{code}" lang="{code}"[^>]*>{name}</option>', page), code


# -- a signed-in person's own choice --------------------------------------------------------------


def test_a_requesters_choice_is_stored_and_follows_them_to_another_browser(browser, lab, karen):
    first = browser(lab.karen)
    first.post(PICKER, {"language": "fr"})
    karen.refresh_from_db()
    assert karen.language == "fr"
    elsewhere = browser(lab.karen)  # a new session, no cookie, a browser asking for German
    assert _lang(elsewhere.get(reverse("portal:my_tickets"), HTTP_ACCEPT_LANGUAGE="de")) == ("fr", "ltr")


def test_an_agent_sets_language_and_time_zone_on_my_alerts(browser, lab):
    jane = browser(lab.jane)
    alerts = {name: "on" for name in AgentProfile.ALERTS}
    response = jane.post(reverse("agents:alerts"), {**alerts, "language": "de", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    profile = AgentProfile.objects.get(user=lab.jane)
    assert (profile.language, profile.time_zone) == ("de", "Asia/Tokyo")
    assert _lang(jane.get(reverse("agents:alerts"))) == ("de", "ltr")  # at once, same session
    assert _lang(browser(lab.jane).get(reverse("agents:home"), follow=True)) == ("de", "ltr")  # a new one


def test_an_unknown_time_zone_is_refused_with_a_reason(browser, lab):
    jane = browser(lab.jane)
    response = jane.post(reverse("agents:alerts"), {"language": "", "time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert AgentProfile.objects.get(user=lab.jane).time_zone == ""


def test_the_service_refuses_what_is_not_offered(lab):
    with pytest.raises(services.TicketActionError, match="language"):
        services.preferences_set(user=lab.jane, language="xx")
    with pytest.raises(services.TicketActionError, match="time zone"):
        services.preferences_set(user=lab.jane, time_zone="Nowhere/Else")


# -- mail in its reader's language ---------------------------------------------------------------


def test_each_mail_is_in_its_readers_language_whoever_sends_it(
    lab, karen, new_ticket, django_capture_on_commit_callbacks
):
    Requester.objects.filter(pk=karen.pk).update(language="fr")
    AgentProfile.objects.filter(user=lab.john).update(language="de")
    with django_capture_on_commit_callbacks(execute=True):
        new_ticket()
    languages = {message.to[0]: message.extra_headers["Content-Language"] for message in mail.outbox}
    assert languages.pop("john@example.com") == "de"
    assert languages.pop("karen@example.com") == "fr"
    assert set(languages.values()) <= {settings.LANGUAGE_CODE}  # any other agent alerted


def test_a_guests_ticket_in_the_portal_stores_the_language_they_read_it_in(
    client, lab, django_capture_on_commit_callbacks
):
    topic = lab.topic("Report a Problem")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:open_ticket"),
            {
                "name": "Gustav",
                "email": "gustav@example.de",
                "help_topic": topic.pk,
                "subject": "Drucker",
                "body": "Er druckt nicht.",
            },
            HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9",
            HTTP_COOKIE=f"{settings.TIME_ZONE_COOKIE_NAME}=Europe/Berlin",
        )
    assert response.status_code == 302
    requester = Requester.objects.get(email="gustav@example.de")
    assert (requester.language, requester.time_zone) == ("de", "Europe/Berlin")
    [ack] = [message for message in mail.outbox if message.to == ["gustav@example.de"]]
    assert ack.extra_headers["Content-Language"] == "de"
    assert english_left(mail_text(ack), "de") == []  # the acknowledgement, all in German


# -- time zones -------------------------------------------------------------------------------------


def test_an_agent_in_another_zone_sees_due_times_in_it_while_the_sla_keeps_its_calendar(
    browser, lab, new_ticket
):
    ticket = new_ticket()
    due = ticket.resolution_due
    assert due is not None
    tokyo = browser(lab.jane)
    services.preferences_set(user=lab.jane, time_zone="Asia/Tokyo")
    tokyo = browser(lab.jane)  # signs in again: the zone comes with the session
    page = tokyo.get(reverse("agents:ticket", args=[ticket.number])).content.decode()
    home = browser(lab.john).get(reverse("agents:ticket", args=[ticket.number])).content.decode()
    in_tokyo = timezone.localtime(due, ZoneInfo("Asia/Tokyo"))
    at_desk = timezone.localtime(due, ZoneInfo(settings.TIME_ZONE))
    assert in_tokyo.strftime("%H:%M") in page
    assert at_desk.strftime("%H:%M") in home
    assert in_tokyo.strftime("%H:%M") != at_desk.strftime("%H:%M")
    ticket.refresh_from_db()
    assert ticket.resolution_due == due  # the SLA's arithmetic is the calendar's, untouched


def test_a_requesters_times_follow_their_browsers_zone(browser, lab, new_ticket):
    ticket = new_ticket()
    karen = browser(lab.karen)
    url = reverse("portal:ticket", args=[ticket.number])
    created = ticket.created_at
    karen.cookies[settings.TIME_ZONE_COOKIE_NAME] = "America/Los_Angeles"
    page = karen.get(url).content.decode()
    assert timezone.localtime(created, ZoneInfo("America/Los_Angeles")).strftime("%H:%M") in page


def test_an_arabic_readers_mail_is_right_to_left_with_their_words_in_their_own_direction(
    lab, karen, new_ticket, django_capture_on_commit_callbacks
):
    Requester.objects.filter(pk=karen.pk).update(language="ar")
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_request_info(
            ticket=Ticket.objects.get(pk=ticket.pk), actor=lab.john, message="Which tray?"
        )
    [question] = [message for message in mail.outbox if message.to == ["karen@example.com"]]
    html = question.alternatives[0][0]
    assert question.extra_headers["Content-Language"] == "ar"
    assert '<html lang="ar" dir="rtl">' in html
    assert re.search(r'<div dir="auto"[^>]*>\s*<p>Which tray\?</p>', html)  # John's words, as written
    assert english_left(mail_text(question), "ar") == []


def test_the_apis_messages_follow_accept_language_and_its_codes_do_not(client, lab):
    anonymous = client.get("/api/v1/tickets/", HTTP_ACCEPT_LANGUAGE="fr")
    english = client.get("/api/v1/tickets/")
    assert anonymous.status_code == english.status_code == 401
    assert anonymous.json()["code"] == english.json()["code"] == "unauthenticated"
    assert anonymous.json()["message"] != english.json()["message"]
    assert anonymous["Content-Language"] == "fr"
