"""Agents-only, draft and archived articles never reach the portal: not by slug, not in a list,
a search, the suggestions or the topics' lists."""

import pytest

from tickets.kb import selectors as kb
from tickets.models import Article

pytestmark = pytest.mark.django_db

HIDDEN = {
    "agents-only": {"audience": Article.Audience.AGENTS},
    "draft": {"status": Article.Status.DRAFT},
    "archived": {"status": Article.Status.ARCHIVED},
}


@pytest.fixture(params=list(HIDDEN))
def hidden(request, make_article):
    """A hidden article about a word no other article has, under a topic of its own."""
    body = "How the zebra printer is set up."
    return make_article("Zebra crossing guide", body, topics=["Feedback"], **HIDDEN[request.param])


@pytest.fixture
def shown(make_article):
    body = "The zebra article anyone may read."
    return make_article("Zebra stripes for everyone", body, topics=["Feedback"])


def test_public_articles_leave_it_out(hidden, shown):
    assert shown in kb.public_articles()
    assert hidden not in kb.public_articles()


def test_article_for_portal_answers_none_as_for_a_missing_slug(hidden, shown):
    assert kb.article_for_portal(shown.slug) == shown
    assert kb.article_for_portal(hidden.slug) is None
    assert kb.article_for_portal("no-such-article") is None


def test_the_public_search_leaves_it_out(hidden, shown):
    assert [hit.article for hit in kb.search("zebra")] == [shown]
    assert [hit.article for hit in kb.search("zebra", audience="public")] == [shown]


def test_the_suggestions_leave_it_out(hidden, shown, lab):
    assert [hit.article for hit in kb.suggest("zebra", None)] == [shown]
    # A topic's own articles, with nothing typed.
    assert [hit.article for hit in kb.suggest("", lab.topic("Feedback").pk)] == [shown]


def test_the_topics_lists_leave_it_out(hidden, shown, lab):
    listed = dict(kb.topics_with_articles())
    assert listed[lab.topic("Feedback")] == [shown]


def test_agents_read_every_published_article_and_nothing_else(hidden, lab):
    found = hidden in kb.articles_for_agents(lab.john)
    assert found == (hidden.status == Article.Status.PUBLISHED)
    hits = [hit.article for hit in kb.search("zebra", audience="agents")]
    assert (hidden in hits) == found


def test_requesters_read_no_agents_list(lab):
    assert not kb.articles_for_agents(lab.karen).exists()


def test_an_unknown_audience_is_an_error():
    with pytest.raises(ValueError, match="audience"):
        kb.search("zebra", audience="everyone")
