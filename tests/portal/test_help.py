"""The help articles in the portal: browsing by help topic, the search with its snippets, an
article's page, its "Did this answer your question?" (once per browser session, throttled),
its views counted once per session, and "Still need help? Open a ticket" with its topic."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets.models import Article, ArticleDay, Ticket

# A word no lab article holds, so the lab's own articles never join a search here.
WORD = "wombat"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def article(lab):
    def make(title, *, body=None, topics=("Report a Problem",), **fields):
        fields = {"status": Article.Status.PUBLISHED, "audience": Article.Audience.PUBLIC, **fields}
        made = Article.objects.create(title=title, body=body or f"What to do about the {WORD}.", **fields)
        made.help_topics.set([lab.topic(topic) for topic in topics])
        return made

    return make


def _answer(client, article, answer, **extra):
    return client.post(reverse("portal:help_answer", args=[article.slug]), {"answer": answer, **extra})


# -- browsing -------------------------------------------------------------------------------------


def test_the_list_nests_articles_under_their_topics(client, article):
    article(f"Locked out of the {WORD} app", topics=["Report a Problem / Access Issue"])
    article(f"When the {WORD} is down", topics=["Report a Problem"])
    article(f"A new {WORD} for your desk", topics=["Equipment Request"])
    page = client.get(reverse("portal:help")).content.decode()
    # The sub-topic is a heading inside its parent's section, after the parent's own articles.
    problem = page.index(">Report a Problem</h2>")
    assert problem < page.index(f"When the {WORD} is down") < page.index(">Access Issue</h3>")
    assert page.index(">Access Issue</h3>") < page.index(f"Locked out of the {WORD} app")
    assert ">Equipment Request</h2>" in page and f"A new {WORD} for your desk" in page
    assert 'action="/help/search/"' in page


def test_the_navigation_and_the_home_page_lead_to_the_help_articles(client, lab):
    page = client.get(reverse("portal:home")).content.decode()
    assert page.count(f'href="{reverse("portal:help")}"') == 2  # the navigation, the home page's section
    assert f'action="{reverse("portal:help_search")}"' in page


def test_the_search_ranks_and_highlights(client, article):
    article(f"Printer jams ({WORD})", body=f"The {WORD} printer on the second floor jams. Open the tray.")
    article(f"Everything about the {WORD}", body=f"The {WORD} printer and the {WORD} scanner.")
    article("Unrelated", body="Nothing to see here.")
    response = client.get(reverse("portal:help_search"), {"q": f"{WORD} printer"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Unrelated" not in page
    assert "2 articles for" in page
    assert "<mark>" in page and "printer</mark>" in page.lower()


@pytest.mark.parametrize(
    "query",
    ['"', "'", '"unclosed', "a & | ! b", "foo:*", "-", "or", "((", "<->", "\\", "%_", "🙂", "x" * 5000],
)
def test_junk_in_the_search_never_errors(client, article, query):
    article(f"All about the {WORD}")
    response = client.get(reverse("portal:help_search"), {"q": query})
    assert response.status_code == 200
    assert "Search the help articles" in response.content.decode()


def test_an_empty_search_asks_for_words_and_searches_nothing(client, article):
    article(f"All about the {WORD}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("portal:help_search"), {"q": "   "})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Type a few words" in page and f"All about the {WORD}" not in page
    assert not [q for q in queries if "tickets_article" in q["sql"]]


def test_markup_in_the_query_is_shown_as_text(client, article):
    article(f"All about the {WORD}")
    page = client.get(reverse("portal:help_search"), {"q": XSS}).content.decode()
    assert XSS not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_markup_in_an_article_is_shown_as_text_or_made_inert(client, article):
    shown = article(
        f"{XSS} {WORD}",
        body=f"{XSS}\n\n<script>alert(2)</script>\n\n[click](javascript:alert(3)) <svg onload=alert(4)>",
    )
    page = client.get(reverse("portal:help_article", args=[shown.slug])).content.decode()
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt; wombat" in page
    body = page.split('class="message-body text-break">', 1)[1].split("</div>", 1)[0]
    assert "<script" not in body and "<svg" not in body and "javascript:" not in body
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", body), "an event handler in a tag"
    # In the list and the search, the title is text too.
    for url, params in ((reverse("portal:help"), {}), (reverse("portal:help_search"), {"q": WORD})):
        page = client.get(url, params).content.decode()
        assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


# -- one article ----------------------------------------------------------------------------------


def test_the_article_page_shows_its_body_and_the_question(client, article):
    shown = article(f"Reset the {WORD}", body=f"1. Open **settings**.\n2. Press the {WORD} button.")
    page = client.get(reverse("portal:help_article", args=[shown.slug])).content.decode()
    assert "<strong>settings</strong>" in page
    assert "Did this answer your question?" in page
    assert 'value="yes">Yes</button>' in page and 'value="no">No</button>' in page
    assert "Still need help?" in page


def test_still_need_help_opens_the_form_on_the_articles_first_topic(client, lab, article):
    shown = article(f"Reset the {WORD}", topics=["Password Reset", "General Inquiry"])
    page = client.get(reverse("portal:help_article", args=[shown.slug])).content.decode()
    # Topics in the order the form lists them: General Inquiry before Password Reset.
    first = lab.topic("General Inquiry").pk
    assert f'href="{reverse("portal:open_ticket")}?topic={first}"' in page


def test_a_view_counts_once_per_browser_session(client, browser, article):
    shown = article(f"Reset the {WORD}")
    url = reverse("portal:help_article", args=[shown.slug])
    client.get(url)
    client.get(url)
    shown.refresh_from_db()
    assert shown.view_count == 1
    browser().get(url)
    shown.refresh_from_db()
    assert shown.view_count == 2
    assert ArticleDay.objects.get(article=shown, help_topic=None).views == 2


def test_a_vote_counts_once_per_browser_session(client, browser, article):
    shown = article(f"Reset the {WORD}")
    response = _answer(client, shown, "yes")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:help_article", args=[shown.slug])
    page = client.get(response["Location"]).content.decode()
    assert "Thank you for your answer." in page and "You answered for this article" in page
    assert 'value="yes"' not in page
    _answer(client, shown, "yes")
    _answer(client, shown, "no")
    shown.refresh_from_db()
    assert (shown.helpful_count, shown.not_helpful_count) == (1, 0)
    _answer(browser(), shown, "no")
    shown.refresh_from_db()
    assert (shown.helpful_count, shown.not_helpful_count) == (1, 1)
    assert shown.deflection_count == 0


def test_an_answer_other_than_yes_or_no_counts_nothing(client, article):
    shown = article(f"Reset the {WORD}")
    assert _answer(client, shown, "maybe").status_code == 400
    shown.refresh_from_db()
    assert (shown.helpful_count, shown.not_helpful_count) == (0, 0)


def test_answers_are_throttled_per_address(browser, article, settings):
    settings.THROTTLE_KB_VOTES = (2, 3600)
    shown = article(f"Reset the {WORD}")
    assert _answer(browser(), shown, "yes").status_code == 302
    assert _answer(browser(), shown, "yes").status_code == 302
    refused = _answer(browser(), shown, "yes")
    assert refused.status_code == 429
    assert "Too many answers" in refused.content.decode()
    shown.refresh_from_db()
    assert shown.helpful_count == 2


def test_nothing_here_opens_a_ticket(client, lab, article):
    shown = article(f"Reset the {WORD}")
    client.get(reverse("portal:help_article", args=[shown.slug]))
    _answer(client, shown, "no")
    assert Ticket.objects.count() == 0


# -- the ticket form's topic ---------------------------------------------------------------------


def test_the_ticket_form_preselects_the_topic_it_is_opened_with(client, lab):
    topic = lab.topic("Password Reset")
    page = client.get(reverse("portal:open_ticket"), {"topic": topic.pk}).content.decode()
    assert f'<option value="{topic.pk}" selected>Password Reset</option>' in page


@pytest.mark.parametrize("value", ["999999", "abc", "", "-1", "1 OR 1=1"])
def test_an_unknown_topic_preselects_nothing(client, lab, value):
    page = client.get(reverse("portal:open_ticket"), {"topic": value}).content.decode()
    page = page.split("<footer")[0]  # not the language picker's choice
    assert '<option value="" selected>Choose a help topic…</option>' in page
    assert page.count(" selected>") == 1


def test_a_topic_not_offered_is_not_preselected(client, lab):
    hidden = lab.topic("Feedback")
    hidden.is_public = False
    hidden.save()
    page = client.get(reverse("portal:open_ticket"), {"topic": hidden.pk}).content.decode()
    assert f'value="{hidden.pk}" selected' not in page


# -- queries --------------------------------------------------------------------------------------


def _queries(client, url, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("portal:help", {}),
        ("portal:help_search", {"q": WORD}),
        ("portal:help_suggest", {"q": WORD}),
        ("portal:help_suggest", {"q": WORD, "topic": "{topic}"}),
        ("portal:help_suggest", {"topic": "{topic}"}),
    ],
)
def test_queries_do_not_grow_with_the_articles(client, lab, article, name, params):
    topics = ["Report a Problem", "Report a Problem / Access Issue", "Password Reset"]
    params = {key: value.format(topic=lab.topic("Report a Problem").pk) for key, value in params.items()}
    url = reverse(name)

    # The word in the bodies only: a search asks for the body matches whenever the titles give
    # too few, so with it in the titles 30 articles would cost fewer queries than 3.
    def grow(to):
        for i in range(Article.objects.filter(title__startswith="Guide number").count(), to):
            article(f"Guide number {i}", body=f"The {WORD} {i} guide.", topics=[topics[i % 3]])

    grow(3)
    client.get(url, params)  # the catalog in the cache, the session made
    few = _queries(client, url, params)
    grow(30)
    many = _queries(client, url, params)
    assert few == many, (few, many)
    if name == "portal:help":
        assert "Guide number 29" in client.get(url, params).content.decode()
