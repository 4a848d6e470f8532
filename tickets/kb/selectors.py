"""Who may read and find which article.

The portal shows published public articles only: a draft, an archived article or an agents-only
one is, to the portal, the same as one that does not exist (``article_for_portal`` answers None
for each, and every list and search here leaves them out). Agents read every published article.

Help topics come from the catalog (no query). The suggestions put first the articles of the
topic picked, of its sub-topics and of its parents (an article on "Report a Problem" answers its
sub-topics' questions too), and show the others that match after them: a requester who picked
the wrong topic still sees the article that answers them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tickets import catalog
from tickets.kb import search as engine
from tickets.kb.search import ArticleHit
from tickets.models import Article, HelpTopic

SUGGESTIONS = 5
AUDIENCES = (Article.Audience.PUBLIC, Article.Audience.AGENTS)

__all__ = [
    "ArticleHit",
    "article_for_portal",
    "articles_for_agents",
    "public_articles",
    "search",
    "suggest",
    "topic_family",
    "topics_with_articles",
]


def public_articles() -> QuerySet[Article]:
    """Published articles for everyone: all the portal may show."""
    return Article.objects.filter(status=Article.Status.PUBLISHED, audience=Article.Audience.PUBLIC)


def article_for_portal(slug: str) -> Article | None:
    """The published public article with this slug; None for any other (draft, archived,
    agents-only or missing alike: the portal answers 404 for each)."""
    return public_articles().filter(slug=slug).first()


def articles_for_agents(user: Any) -> QuerySet[Article]:
    """Published articles of both audiences, for staff; none for anyone else."""
    if not (user.is_authenticated and user.is_staff):
        return Article.objects.none()
    return Article.objects.filter(status=Article.Status.PUBLISHED)


def _readable(audience: str) -> QuerySet[Article]:
    if audience == Article.Audience.PUBLIC:
        return public_articles()
    if audience == Article.Audience.AGENTS:
        return Article.objects.filter(status=Article.Status.PUBLISHED)
    raise ValueError(f"Unknown audience {audience!r}: one of {', '.join(AUDIENCES)}.")


def _topics() -> dict[int, HelpTopic]:
    return catalog.catalog().help_topics


def _descendants(topic_id: int, topics: dict[int, HelpTopic]) -> list[int]:
    found, frontier = [topic_id], [topic_id]
    while frontier:
        frontier = [t.pk for t in topics.values() if t.parent_id in frontier]
        found += frontier
    return found


def topic_family(topic_id: int) -> list[int]:
    """The topic, its sub-topics (at any depth) and its parents: the topics whose articles
    answer a question asked under it. Empty for an unknown topic."""
    topics = _topics()
    if topic_id not in topics:
        return []
    family = _descendants(topic_id, topics)
    parent = topics[topic_id].parent_id
    while parent is not None and parent not in family:
        family.append(parent)
        parent = topics[parent].parent_id if parent in topics else None
    return family


def search(
    text: str, *, audience: str = "public", topic_id: int | None = None, limit: int = 20
) -> list[ArticleHit]:
    """Published articles of the audience matching the search, best first (a match in the
    title before one in the body: ``tickets.kb.search``), under the topic and its sub-topics
    when one is given; one or two queries.

    ``audience="public"``: the portal's (public only); ``"agents"``: the console's (both).
    Any text is a valid search: operators and stray quotes are read as a web search reads them.
    """
    articles = _readable(audience)
    if topic_id is not None:
        articles = articles.filter(engine.in_topics(_descendants(topic_id, _topics())))
    return engine.full_text(articles, text, limit=limit)


def suggest(text: str, topic_id: int | None, limit: int = SUGGESTIONS) -> list[ArticleHit]:
    """What to read before opening a ticket: published public articles matching any word of
    ``text`` (the last one as a prefix, as it is being typed), at most ``limit`` (5 at most).
    Those whose title matches come first, then those whose body does (``tickets.kb.search``);
    within each, the articles of the topic's family (``topic_family``) first.

    With no words, the topic family's articles, the most helpful first; with neither, none.
    One or two queries, whatever the number of articles.
    """
    family = topic_family(topic_id) if topic_id is not None else []
    limit = max(0, min(limit, SUGGESTIONS))
    if engine.words_of(text):
        return engine.any_word(public_articles(), text, limit=limit, first_ids=family)
    if not family:
        return []
    return engine.plain(public_articles().filter(engine.in_topics(family)), limit=limit)


def _tree_order(topics: list[HelpTopic]) -> list[HelpTopic]:
    """Parents before their children, siblings by name (depth first)."""
    children: dict[int | None, list[HelpTopic]] = {}
    for topic in sorted(topics, key=lambda t: t.name.lower()):
        children.setdefault(topic.parent_id, []).append(topic)
    ordered: list[HelpTopic] = []

    def walk(parent: int | None) -> None:
        for topic in children.get(parent, []):
            ordered.append(topic)
            walk(topic.pk)

    walk(None)
    return ordered


def topics_with_articles() -> list[tuple[HelpTopic, list[Article]]]:
    """The public, active help topics with their published public articles (by title), in the
    topics' tree order (a parent before its children; ``topic.parent_id`` gives the nesting).
    A topic without articles of its own is listed when one of its sub-topics has some.
    One query (the topics come from the catalog); an article under two topics is in both.
    """
    topics = {t.pk: t for t in _topics().values() if t.is_public and t.is_active}
    filed = (
        Article.help_topics.through.objects.filter(
            article__status=Article.Status.PUBLISHED,
            article__audience=Article.Audience.PUBLIC,
            helptopic_id__in=list(topics),
        )
        .select_related("article")
        .defer("article__body_html")
        .order_by("article__title", "article_id")
    )
    by_topic: dict[int, list[Article]] = {}
    for row in filed:
        by_topic.setdefault(row.helptopic_id, []).append(row.article)
    shown: set[int] = set()
    for topic_id in by_topic:
        parent: int | None = topic_id
        while parent is not None and parent in topics and parent not in shown:
            shown.add(parent)
            parent = topics[parent].parent_id
    # The walk starts at the top: a sub-topic under a hidden (not public) parent is left out.
    return [(t, by_topic.get(t.pk, [])) for t in _tree_order([topics[pk] for pk in shown])]
