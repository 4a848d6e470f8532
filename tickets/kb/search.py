"""Finding articles by their words, on PostgreSQL and on SQLite, behind one pair of functions.

PostgreSQL: full text over a weighted vector of the title (A) and the body (B) in the English
configuration, the expression of the GIN index ``article_search`` (migration 0018), so a search
reads the index; ranked by ``ts_rank``, its snippet cut by ``ts_headline``. A search is read as
a web search engine reads it (``websearch_to_tsquery``: quotes, ``or``, ``-``), so no input is
a syntax error. The suggestions take any of the words typed, the last one as a prefix (the
requester is still typing it), built from the words only: nothing typed is ever an operator.

SQLite (development): every word (a search) or any word (suggestions) as a substring of the
title or the body, ranked in Python (a word in the title counts three times one in the body).

Snippets are text: the article's words escaped, with only ``<mark>`` added around the matches.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Value
from django.utils.safestring import SafeString, mark_safe

from tickets.models import Article

CONFIG = "english"
# The expression of the index; a query names it exactly so that PostgreSQL uses the index.
VECTOR = SearchVector("title", weight="A", config=CONFIG) + SearchVector("body", weight="B", config=CONFIG)
# Words past this many add nothing a person meant, and each one costs a look-up in the index.
MAX_WORDS = 12
SNIPPET_CHARS = 220
# ts_headline marks matches with these (private-use characters, not HTML): the headline is then
# escaped as a whole and only these become <mark> (an article's own copies of them are dropped).
_START, _STOP = "\ue000", "\ue001"
_MARKED = re.compile(f"{_START}(.*?){_STOP}", re.DOTALL)
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class ArticleHit:
    """An article found, with a piece of its body: escaped text, the matched words in <mark>."""

    article: Article
    snippet_html: SafeString
    rank: float = 0.0


def words_of(text: str) -> list[str]:
    """The words of what was typed, lower case, without operators or punctuation."""
    return _WORD.findall(text.lower())[:MAX_WORDS]


def in_topics(topic_ids: Sequence[int]) -> Exists:
    """The article is filed under one of these topics."""
    through = Article.help_topics.through.objects.filter(article=OuterRef("pk"), helptopic_id__in=topic_ids)
    return Exists(through)


# -- PostgreSQL ------------------------------------------------------------------------------


def _headline_html(headline: str) -> SafeString:
    text = html.escape(headline)
    text = _MARKED.sub(lambda m: f"<mark>{m.group(1)}</mark>", text)
    return mark_safe(text.replace(_START, "").replace(_STOP, ""))  # noqa: S308 - escaped above


def _ranked_pg(
    articles: QuerySet[Article], query: SearchQuery, *, limit: int, first_ids: Sequence[int] | None = None
) -> list[ArticleHit]:
    found = articles.annotate(fts=VECTOR).filter(fts=query).annotate(rank=SearchRank(VECTOR, query))
    order = ["-rank", "title", "id"]
    if first_ids:
        found = found.annotate(first=in_topics(first_ids))
        order.insert(0, "-first")
    found = found.annotate(
        headline=SearchHeadline(
            "body",
            query,
            config=CONFIG,
            start_sel=_START,
            stop_sel=_STOP,
            max_words=35,
            min_words=15,
            max_fragments=2,
            fragment_delimiter=" … ",
        )
    ).defer("body_html")
    return [
        ArticleHit(article=a, snippet_html=_headline_html(a.headline), rank=a.rank)
        for a in found.order_by(*order)[:limit]
    ]


def _typed_query(words: list[str]) -> SearchQuery:
    """Any of the words, the last as a prefix: a tsquery of our own making from word
    characters only (each quoted), so nothing typed is an operator."""
    terms = [f"'{w}'" for w in words[:-1]] + [f"'{words[-1]}':*"]
    return SearchQuery(" | ".join(terms), config=CONFIG, search_type="raw")


# -- SQLite ----------------------------------------------------------------------------------


def _marked(text: str, words: list[str]) -> SafeString:
    """``text`` escaped, each occurrence of a word in <mark> (found in the text, not in its
    escaped form, so a word never matches inside an entity)."""
    if not words:
        return SafeString(html.escape(text))
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    out, at = [], 0
    for match in pattern.finditer(text):
        out.append(html.escape(text[at : match.start()]))
        out.append(f"<mark>{html.escape(match.group(0))}</mark>")
        at = match.end()
    out.append(html.escape(text[at:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece escaped above


def snippet(body: str, words: list[str]) -> SafeString:
    """About ``SNIPPET_CHARS`` of the body around its first match (its start without one)."""
    lowered = body.lower()
    found = [i for i in (lowered.find(w) for w in words) if i >= 0]
    start = max(0, min(found) - SNIPPET_CHARS // 3) if found else 0
    if start:
        space = body.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    piece = " ".join(body[start : start + SNIPPET_CHARS].split())
    prefix = "… " if start else ""
    suffix = " …" if start + SNIPPET_CHARS < len(body) else ""
    return mark_safe(prefix + _marked(piece, words) + suffix)  # noqa: S308 - _marked escapes


def _score(article: Article, words: list[str]) -> int:
    title, body = article.title.lower(), article.body.lower()
    return sum(3 * (w in title) + (w in body) for w in words)


def _ranked_sqlite(
    articles: QuerySet[Article],
    words: list[str],
    *,
    every_word: bool,
    limit: int,
    first_ids: Sequence[int] | None = None,
) -> list[ArticleHit]:
    conditions = [Q(title__icontains=w) | Q(body__icontains=w) for w in words]
    match = Q()
    for condition in conditions:
        match = (match & condition) if every_word else (match | condition)
    found = articles.filter(match)
    found = found.annotate(first=in_topics(first_ids) if first_ids else Value(False, BooleanField()))
    ranked = sorted(
        found.defer("body_html"), key=lambda a: (-a.first, -_score(a, words), a.title.lower(), a.pk)
    )
    return [
        ArticleHit(article=a, snippet_html=snippet(a.body, words), rank=float(_score(a, words)))
        for a in ranked[:limit]
    ]


# -- both ------------------------------------------------------------------------------------


def full_text(articles: QuerySet[Article], text: str, *, limit: int) -> list[ArticleHit]:
    """The articles matching a search as typed, best first."""
    words = words_of(text)
    if not words:
        return []
    if connection.vendor == "postgresql":
        return _ranked_pg(articles, SearchQuery(text, config=CONFIG, search_type="websearch"), limit=limit)
    return _ranked_sqlite(articles, words, every_word=True, limit=limit)


def any_word(
    articles: QuerySet[Article], text: str, *, limit: int, first_ids: Sequence[int] | None = None
) -> list[ArticleHit]:
    """The articles matching any word typed (the last one as a prefix), those under
    ``first_ids`` first, then best first."""
    words = words_of(text)
    if not words:
        return []
    if connection.vendor == "postgresql":
        return _ranked_pg(articles, _typed_query(words), limit=limit, first_ids=first_ids)
    return _ranked_sqlite(articles, words, every_word=False, limit=limit, first_ids=first_ids)


def plain(articles: QuerySet[Article], *, limit: int) -> list[ArticleHit]:
    """Articles without a search (a topic's, say), the most read first, each with its start."""
    listed = articles.defer("body_html").order_by("-view_count", "title", "id")[:limit]
    return [ArticleHit(article=a, snippet_html=snippet(a.body, [])) for a in listed]
