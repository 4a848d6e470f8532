"""Finding articles by their words, on PostgreSQL and on SQLite, behind one pair of functions.

Both rank in two tiers: articles whose title matches come first, ranked by how well it matches
(``ts_rank`` on the title's vector; on SQLite, how many of the words it holds); then articles
whose body matches, the most helpful and most read first. Within each tier the articles of
``first_ids`` (the suggestions' topic family) come first. Ranking every body that matches by
its words would read and parse each one: a common word ("password") is in thousands of
articles, and that took 0.6-1.4 s at 10,000 articles (bench/kb.py), against a few ms this way.
The body tier is asked for only when the titles give fewer articles than wanted: one query,
or two.

PostgreSQL: full text in the English configuration, over GIN indexes on the very expressions
named here (``TITLE_VECTOR``, migration 0019; ``VECTOR``, the title (A) and the body (B),
migration 0018); the snippet is cut by ``ts_headline``. A search is read as a web search engine
reads it (``websearch_to_tsquery``: quotes, ``or``, ``-``), so no input is a syntax error. The
suggestions take any of the words typed, the last one as a prefix (the requester is still
typing it), built from the words only: nothing typed is ever an operator.

SQLite (development): every word (a search) or any word (suggestions) as a substring of the
title or the body, ranked in Python the same way.

Snippets are text: the article's words escaped, with only ``<mark>`` added around the matches.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import BooleanField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Replace
from django.utils.safestring import SafeString, mark_safe

from tickets.models import Article

CONFIG = "english"
# The expressions of the indexes; a query names them exactly so that PostgreSQL uses them.
VECTOR = SearchVector("title", weight="A", config=CONFIG) + SearchVector("body", weight="B", config=CONFIG)
TITLE_VECTOR = SearchVector("title", config=CONFIG)
# Words past this many add nothing a person meant, and each one costs a look-up in the index.
MAX_WORDS = 12
MAX_QUERY_CHARS = 200
SNIPPET_CHARS = 220
# ts_headline marks matches with these (private-use characters, not HTML): the headline is then
# escaped as a whole and only these become <mark> (the article's own copies are dropped first).
_START, _STOP = "\ue000", "\ue001"
# ts_headline leaves out what looks like an HTML tag; the body's angle brackets go in as these
# and come back as text, so a snippet shows what the article says, as SQLite's does.
_LT, _GT = "\ue002", "\ue003"
_MARKED = re.compile(f"{_START}(.*?){_STOP}", re.DOTALL)
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class ArticleHit:
    """An article found, with a piece of its body: escaped text, the matched words in <mark>."""

    article: Article
    snippet_html: SafeString
    rank: float = 0.0


def _cleaned(text: str) -> str:
    # PostgreSQL refuses a NUL in any text; it is in no word anyway.
    return text[:MAX_QUERY_CHARS].replace("\x00", " ")


def words_of(text: str) -> list[str]:
    """The words of what was typed, lower case, without operators or punctuation."""
    return _WORD.findall(text.lower())[:MAX_WORDS]


def in_topics(topic_ids: Sequence[int]) -> Exists:
    """The article is filed under one of these topics."""
    through = Article.help_topics.through.objects.filter(article=OuterRef("pk"), helptopic_id__in=topic_ids)
    return Exists(through)


# -- PostgreSQL ------------------------------------------------------------------------------


def _replaced(column: str, replacements: dict[str, str]) -> Replace | F:
    expression: Replace | F = F(column)
    for old, new in replacements.items():
        expression = Replace(expression, Value(old), Value(new))
    return expression


def _headline_html(headline: str) -> SafeString:
    text = html.escape(headline.replace(_LT, "<").replace(_GT, ">"))
    return mark_safe(_MARKED.sub(lambda m: f"<mark>{m.group(1)}</mark>", text))  # noqa: S308 - escaped


# The tiers' order after the title's rank: the most helpful, the most read, then by title.
_POPULAR = ["-helpful_count", "-view_count", "title", "id"]


def _with_headline(articles: QuerySet[Article], query: SearchQuery) -> QuerySet[Article]:
    # Computed for the rows returned only: PostgreSQL evaluates it after the sort and limit.
    return articles.annotate(
        headline=SearchHeadline(
            _replaced("body", {_START: "", _STOP: "", "<": _LT, ">": _GT}),
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


def _ranked_pg(
    articles: QuerySet[Article], query: SearchQuery, *, limit: int, first_ids: Sequence[int] | None = None
) -> list[ArticleHit]:
    if first_ids:
        articles = articles.annotate(first=in_topics(first_ids))
    first = ["-first"] if first_ids else []
    titled = (
        articles.annotate(title_fts=TITLE_VECTOR)
        .filter(title_fts=query)
        .annotate(rank=SearchRank(TITLE_VECTOR, query))
        .order_by(*first, "-rank", *_POPULAR)
    )
    hits = [
        ArticleHit(article=a, snippet_html=_headline_html(a.headline), rank=a.rank)
        for a in _with_headline(titled, query)[:limit]
    ]
    if len(hits) < limit:
        bodies = (
            articles.annotate(fts=VECTOR)
            .filter(fts=query)
            .exclude(pk__in=[hit.article.pk for hit in hits])
            .order_by(*first, *_POPULAR)
        )
        more = _with_headline(bodies, query)[: limit - len(hits)]
        hits += [ArticleHit(article=a, snippet_html=_headline_html(a.headline)) for a in more]
    return hits


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


def _title_score(article: Article, words: list[str], every_word: bool) -> int:
    """How many of the words the title holds; 0 when it does not match (a search wants them all)."""
    title = article.title.lower()
    held = sum(w in title for w in words)
    return held if held and (held == len(words) or not every_word) else 0


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
    scored = [(a, _title_score(a, words, every_word)) for a in found.defer("body_html")]
    scored.sort(
        key=lambda pair: (
            not pair[1],
            -pair[0].first,
            -pair[1],
            -pair[0].helpful_count,
            -pair[0].view_count,
            pair[0].title,
            pair[0].pk,
        )
    )
    return [
        ArticleHit(article=a, snippet_html=snippet(a.body, words), rank=float(score))
        for a, score in scored[:limit]
    ]


# -- both ------------------------------------------------------------------------------------


def full_text(articles: QuerySet[Article], text: str, *, limit: int) -> list[ArticleHit]:
    """The articles matching a search as typed, best first."""
    words = words_of(text)
    if not words:
        return []
    if connection.vendor == "postgresql":
        query = SearchQuery(_cleaned(text), config=CONFIG, search_type="websearch")
        return _ranked_pg(articles, query, limit=limit)
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
    """Articles without a search (a topic's, say), the most helpful first, each with its start."""
    listed = articles.defer("body_html").order_by(*_POPULAR)[:limit]
    return [ArticleHit(article=a, snippet_html=snippet(a.body, [])) for a in listed]
