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
