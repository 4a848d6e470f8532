import re

from django.urls import reverse


def test_home_names_the_help_desk_and_its_ways_in(client, lab):
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Help Desk",
        "Open a New Ticket",
        "Check Ticket Status",
        "Waiting for your reply",
        "Report a Problem / Business Critical Outage",
    ):
        assert text in page


def test_home_hides_private_and_retired_topics(client, lab):
    topic = lab.topic("Feedback")
    topic.is_public = False
    topic.save()
    page = client.get(reverse("portal:home")).content.decode()
    assert "Feedback" not in page and "General Inquiry" in page


def test_every_page_sends_the_security_headers(client, lab):
    response = client.get(reverse("portal:home"))
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_topic_name_is_shown_as_text(client, lab):
    topic = lab.topic("Feedback")
    topic.name = "<img src=x onerror=alert(1)>"
    topic.save()
    page = client.get(reverse("portal:home")).content.decode()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_each_help_topic_on_the_home_page_opens_the_form_with_it_chosen(client, lab):
    topic = lab.topic("Report a Problem / Access Issue")
    page = client.get(reverse("portal:home")).content.decode()
    link = f"{reverse('portal:open_ticket')}?topic={topic.pk}"
    assert f'href="{link}"' in page
    form = client.get(link).content.decode()
    assert re.search(rf'<option value="{topic.pk}" selected>', form), "the topic is not chosen"


def test_a_topic_that_is_not_listed_chooses_nothing(client, lab):
    hidden = lab.topic("Feedback")
    hidden.is_public = False
    hidden.save()
    form = client.get(f"{reverse('portal:open_ticket')}?topic={hidden.pk}").content.decode()
    assert f'value="{hidden.pk}"' not in form
    assert '<option value="" selected>Choose a help topic…</option>' in form
