"""The articles' admin: agents save drafts, publishers publish; a rendered preview; the list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import AgentFactory
from tickets.models import Article

pytestmark = pytest.mark.django_db

ADD = reverse("admin:tickets_article_add")
LIST = reverse("admin:tickets_article_changelist")


def form(lab, **fields):
    data = {
        "title": "Clear the browser cache",
        "slug": "",
        "body": "Press **Ctrl+Shift+Delete**. <script>alert(1)</script>",
        "help_topics": [lab.topic("Personal Computer Issues").pk],
        "audience": Article.Audience.PUBLIC,
        "status": Article.Status.DRAFT,
        "last_reviewed": "",
    }
    return {**data, **fields}


@pytest.fixture
def supervisor(lab):
    return AgentFactory(username="boss", role="Supervisor", departments=[lab.support])


def test_an_agent_saves_a_draft_and_is_its_author(lab, browser):
    response = browser(lab.john).post(ADD, form(lab))
    assert response.status_code == 302
    article = Article.objects.get(title="Clear the browser cache")
    assert (article.status, article.author) == (Article.Status.DRAFT, lab.john)
    assert article.slug == "clear-the-browser-cache"


@pytest.mark.parametrize("status", [Article.Status.PUBLISHED, Article.Status.ARCHIVED])
def test_an_agent_cannot_publish_or_archive(lab, browser, status):
    response = browser(lab.john).post(ADD, form(lab, status=status))
    assert response.status_code == 200
    assert "Only a publisher" in response.content.decode()
    assert not Article.objects.filter(title="Clear the browser cache").exists()


def test_an_agent_cannot_change_a_published_article(lab, browser):
    article = Article.objects.get(slug="reset-your-password")
    url = reverse("admin:tickets_article_change", args=[article.pk])
    topics = list(article.help_topics.values_list("pk", flat=True))
    for status in (Article.Status.PUBLISHED, Article.Status.DRAFT):
        data = form(lab, title="Changed", slug=article.slug, help_topics=topics, status=status)
        response = browser(lab.john).post(url, data)
        assert response.status_code == 200 and "Only a publisher" in response.content.decode()
    article.refresh_from_db()
    assert (article.title, article.status) == ("Reset your password", Article.Status.PUBLISHED)


def test_a_supervisor_publishes(lab, browser, supervisor):
    response = browser(supervisor).post(ADD, form(lab, status=Article.Status.PUBLISHED))
    assert response.status_code == 302
    assert Article.objects.get(title="Clear the browser cache").status == Article.Status.PUBLISHED


def test_the_publish_action_is_a_publishers(lab, browser, supervisor):
    draft = Article.objects.get(slug="set-up-the-vpn-on-a-home-computer")
    action = {"action": "publish", "_selected_action": [draft.pk]}
    assert "Publish the selected" not in browser(lab.john).get(LIST).content.decode()
    browser(lab.john).post(LIST, action)
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT
    browser(supervisor).post(LIST, action)
    draft.refresh_from_db()
    assert draft.status == Article.Status.PUBLISHED and draft.last_reviewed is not None


def test_the_preview_is_the_sanitized_html(lab, browser):
    browser(lab.john).post(ADD, form(lab))
    article = Article.objects.get(title="Clear the browser cache")
    page = browser(lab.john).get(reverse("admin:tickets_article_change", args=[article.pk])).content.decode()
    assert "<strong>Ctrl+Shift+Delete</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_requester_has_no_admin(lab, browser):
    assert browser(lab.karen).get(LIST).status_code == 302
    assert browser(lab.karen).post(ADD, form(lab)).status_code == 302
    assert not Article.objects.filter(title="Clear the browser cache").exists()


def test_the_list_shows_the_numbers_in_queries_that_do_not_grow(lab, browser, make_article):
    client = browser(lab.jane)
    topics = ["Report a Problem", "Feedback"]
    for n in range(3):
        make_article(f"Guide {n}", topics=topics)
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for n in range(3, 30):
        make_article(f"Guide {n}", topics=topics, view_count=n)
    with CaptureQueriesContext(connection) as many:
        page = client.get(LIST).content.decode()
    assert len(many) == len(few)
    assert "Report a Problem, Feedback" in page or "Feedback, Report a Problem" in page
    assert '<td class="field-view_count">29</td>' in page
    # Filters by topic, status and audience; a search on title and body.
    filtered = client.get(LIST, {"status__exact": "draft", "q": "VPN"}).content.decode()
    assert "Set up the VPN on a home computer" in filtered and "Guide 1" not in filtered
