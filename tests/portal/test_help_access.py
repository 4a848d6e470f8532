"""Who may use the help articles' URLs: everyone (guests, requesters and agents alike), and no
one sees a draft, an archived or an agents-only article: not in the list, the search, the
suggestions, nor at its URL (the same 404 as a missing article, with nothing counted)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from portal.urls import urlpatterns
from tickets.models import Article, ArticleDay

# A word no lab article holds, so the lab's own articles never join a search here.
WORD = "wombat"
HELP_URLS = {"help", "help_search", "help_suggest", "help_article", "help_answer"}
HIDDEN = {
    "draft": {"status": Article.Status.DRAFT},
    "archived": {"status": Article.Status.ARCHIVED},
    "agents only": {"audience": Article.Audience.AGENTS},
}


@pytest.fixture
def article(lab):
    def make(title, *, body=None, topic="Report a Problem", **fields):
        fields = {"status": Article.Status.PUBLISHED, "audience": Article.Audience.PUBLIC, **fields}
        made = Article.objects.create(title=title, body=body or f"What to do about the {WORD}.", **fields)
        made.help_topics.set([lab.topic(topic)])
        return made

    return make


@pytest.fixture(params=["anonymous", "requester", "agent"])
def visitor(request, lab):
    client = Client()
    if request.param == "requester":
        client.force_login(lab.karen)
    elif request.param == "agent":
        client.force_login(lab.john)
    return client


def _page(response):
    """The page without its CSRF tokens (masked anew in each response, as in the sign-out form)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def _counts(article):
    article.refresh_from_db()
    days = ArticleDay.objects.filter(article=article).count()
    return (
        article.view_count,
        article.helpful_count,
        article.not_helpful_count,
        article.deflection_count,
        days,
    )


def test_every_help_url_is_here():
    names = {pattern.name for pattern in urlpatterns if pattern.name.startswith("help")}
    assert names == HELP_URLS


@pytest.mark.parametrize(
    ("name", "args", "params"),
    [
        ("help", [], {}),
        ("help_search", [], {"q": WORD}),
        ("help_suggest", [], {"q": WORD}),
        ("help_article", ["slug"], {}),
    ],
)
def test_the_pages_open_for_everyone(visitor, article, name, args, params):
    shown = article(f"All about the {WORD}")
    url = reverse(f"portal:{name}", args=[shown.slug for _ in args])
    response = visitor.get(url, params)
    assert response.status_code == 200
    assert shown.title in response.content.decode()


def test_everyone_may_answer(visitor, article):
    shown = article(f"All about the {WORD}")
    response = visitor.post(reverse("portal:help_answer", args=[shown.slug]), {"answer": "yes"})
    assert response.status_code == 302
    assert _counts(shown)[1] == 1


def test_answering_takes_a_post_only(client, article):
    shown = article(f"All about the {WORD}")
    response = client.get(reverse("portal:help_answer", args=[shown.slug]), {"answer": "yes"})
    assert response.status_code == 405
    assert _counts(shown)[1] == 0


def test_an_answer_without_the_csrf_token_is_refused(lab, article):
    shown = article(f"All about the {WORD}")
    response = Client(enforce_csrf_checks=True).post(
        reverse("portal:help_answer", args=[shown.slug]), {"answer": "yes"}
    )
    assert response.status_code == 403
    assert _counts(shown) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("kind", sorted(HIDDEN))
def test_a_hidden_article_is_the_same_404_as_a_missing_one(visitor, article, kind):
    hidden = article(f"Secret {WORD} procedure", **HIDDEN[kind])
    missing = visitor.get(reverse("portal:help_article", args=["no-such-article"]))
    response = visitor.get(reverse("portal:help_article", args=[hidden.slug]))
    assert response.status_code == missing.status_code == 404
    assert _page(response) == _page(missing)
    assert _counts(hidden) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("kind", sorted(HIDDEN))
@pytest.mark.parametrize("answer", ["yes", "no"])
@pytest.mark.parametrize("from_ticket", [False, True])
def test_a_hidden_article_takes_no_answer(visitor, lab, article, kind, answer, from_ticket):
    hidden = article(f"Secret {WORD} procedure", **HIDDEN[kind])
    data = {"answer": answer, "topic": lab.topic("Report a Problem").pk}
    if from_ticket:
        data["from"] = "ticket"
    missing = visitor.post(reverse("portal:help_answer", args=["no-such-article"]), data)
    response = visitor.post(reverse("portal:help_answer", args=[hidden.slug]), data)
    assert response.status_code == missing.status_code == 404
    assert _page(response) == _page(missing)
    assert _counts(hidden) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("kind", sorted(HIDDEN))
def test_a_hidden_article_is_not_in_the_list(visitor, article, kind):
    article(f"Public {WORD} guide")
    hidden = article(f"Secret {WORD} procedure", **HIDDEN[kind])
    page = visitor.get(reverse("portal:help")).content.decode()
    assert f"Public {WORD} guide" in page
    assert hidden.title not in page and hidden.slug not in page


@pytest.mark.parametrize("kind", sorted(HIDDEN))
def test_a_hidden_article_is_not_found_by_the_search(visitor, article, kind):
    article(f"Public {WORD} guide")
    hidden = article(f"Secret {WORD} procedure", **HIDDEN[kind])
    page = visitor.get(reverse("portal:help_search"), {"q": f"{WORD} secret procedure"}).content.decode()
    assert hidden.title not in page and hidden.slug not in page
    page = visitor.get(reverse("portal:help_search"), {"q": WORD}).content.decode()
    assert f"Public {WORD} guide" in page
    assert hidden.title not in page and hidden.slug not in page


@pytest.mark.parametrize("kind", sorted(HIDDEN))
def test_a_hidden_article_is_never_suggested(visitor, lab, article, kind):
    article(f"Public {WORD} guide")
    hidden = article(f"Secret {WORD} procedure", **HIDDEN[kind])
    topic = lab.topic("Report a Problem").pk
    for params in ({"q": f"secret {WORD}"}, {"topic": topic}, {"topic": topic, "q": WORD}):
        page = visitor.get(reverse("portal:help_suggest"), params).content.decode()
        assert hidden.title not in page and hidden.slug not in page
    # The form's own fields, as htmx sends them.
    page = visitor.get(
        reverse("portal:help_suggest"), {"help_topic": topic, "subject": "secret", "body": WORD}
    ).content.decode()
    assert f"Public {WORD} guide" in page
    assert hidden.title not in page and hidden.slug not in page
