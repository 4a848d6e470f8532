"""The knowledge base in the console: articles found from the composer (a public one goes into a
reply as a link to the portal, an agents-only one into an internal note as its text), and a
draft article made from a resolved ticket's answer. Which articles an agent may use and what a
draft holds are the domain's (``tickets.kb``). The reports dashboard's table of the articles'
numbers over its period is made here too (``knowledge_base``, ``numbers_csv``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from agents.access import agent_required, ticket_for_agent
from tickets.kb import selectors as kb
from tickets.kb import services as kb_services
from tickets.models import Article, HelpTopic
from tickets.reports import csvexport
from tickets.reports.types import Period

# A search is a few words; longer input is cut, not refused.
QUERY_MAX_CHARS = 200
RESULTS = 10
# Markdown's punctuation that would change a title inside a link's brackets.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]<>!])")


def markdown_link(title: str, url: str) -> str:
    """``[title](url)`` with the title's Markdown punctuation escaped, so it reads as typed."""
    label = _MARKDOWN_PUNCTUATION.sub(r"\\\1", title)
    return f"[{label}]({url})"


def portal_url(article: Article) -> str:
    """The article's page in the portal, absolute: the reply is read in mail too."""
    return settings.HELPDESK_BASE_URL.rstrip("/") + reverse("portal:help_article", args=[article.slug])


@dataclass(frozen=True)
class Match:
    """One article found, with what inserting it puts into the composer."""

    hit: kb.ArticleHit
    agents_only: bool
    text: str


def _match(hit: kb.ArticleHit) -> Match:
    article = hit.article
    if article.audience == Article.Audience.AGENTS:
        return Match(hit=hit, agents_only=True, text=article.body)
    return Match(hit=hit, agents_only=False, text=markdown_link(article.title, portal_url(article)))


@agent_required
def article_search(request: HttpRequest, number: str) -> HttpResponse:
    """Published articles matching ``q``, public and agents-only, for the composer. htmx puts
    the list under the search box; without JavaScript it is a page of its own with the text to
    copy."""
    ticket = ticket_for_agent(request, number)
    if not request.user.has_perm("tickets.work_ticket"):
        raise PermissionDenied(gettext("You may not write on tickets."))
    query = " ".join(request.GET.get("q", "").split())[:QUERY_MAX_CHARS]
    hits = kb.search(query, audience="agents", limit=RESULTS) if query else []
    context = {"ticket": ticket, "query": query, "matches": [_match(hit) for hit in hits]}
    if request.headers.get("HX-Request"):
        return render(request, "agents/_kb_results.html", context)
    return render(request, "agents/_kb_search_page.html", context)


@agent_required
@require_POST
def article_from_ticket(request: HttpRequest, number: str) -> HttpResponse:
    """A draft article from a resolved or closed ticket's answer, opened in the admin to edit."""
    ticket = ticket_for_agent(request, number)
    if not request.user.has_perm("tickets.add_article"):
        raise PermissionDenied(gettext("You may not write knowledge base articles."))
    try:
        article = kb_services.article_draft_from_ticket(ticket, author=request.user)
    except kb_services.ArticleError as exc:
        messages.error(request, str(exc))
        return redirect("agents:ticket", number=ticket.number)
    messages.success(request, gettext("A draft article was made from the answer: edit it and save."))
    return redirect("admin:tickets_article_change", article.pk)


# -- the reports dashboard's table ----------------------------------------------------------------

# The export's name among the dashboard's tables (/agents/reports/export/kb.csv).
TABLE = "kb"
TOP_ARTICLES = 10
# The headers are for people (translated); the kind column's values ("article", "topic") are keys.
CSV_HEADER = [_("Kind"), _("Id"), _("Name"), _("Views"), _("Helpful"), _("Not helpful"), _("Deflections")]


def _days(period: Period) -> tuple[date, date]:
    """The local days the period touches: the numbers are kept per day."""
    return timezone.localdate(period.start), timezone.localdate(period.end - timedelta(microseconds=1))


@dataclass(frozen=True)
class KnowledgeBase:
    """Views, votes and deflections in a period: every article counted, and every help topic
    the articles were reached through (None: through none), most deflections first. Articles
    are not tickets: the dashboard's filters do not narrow them."""

    first_day: date
    last_day: date
    articles: list[tuple[Article, kb_services.Totals]]
    topics: list[tuple[HelpTopic | None, kb_services.Totals]]

    @property
    def top_articles(self) -> list[tuple[Article, kb_services.Totals]]:
        return self.articles[:TOP_ARTICLES]


def _most_deflections(totals: kb_services.Totals) -> tuple[int, int, int]:
    return (-totals.deflections, -totals.views, -totals.helpful)


def knowledge_base(period: Period) -> KnowledgeBase:
    """The numbers of the local days the period touches (two queries)."""
    first, last = _days(period)
    rows = kb_services.article_numbers(first, last)
    articles = sorted(
        kb_services.per_article(rows).items(),
        key=lambda pair: (*_most_deflections(pair[1]), pair[0].title, pair[0].pk),
    )
    topics = sorted(
        kb_services.per_topic(rows).items(),
        key=lambda pair: (*_most_deflections(pair[1]), pair[0] is None, pair[0].full_name if pair[0] else ""),
    )
    return KnowledgeBase(first_day=first, last_day=last, articles=articles, topics=topics)


def _numbers(totals: kb_services.Totals) -> list[Any]:
    return [totals.views, totals.helpful, totals.not_helpful, totals.deflections]


def numbers_csv(period: Period) -> StreamingHttpResponse:
    """Every article's numbers, then every topic's, as CSV named by the first and last day."""
    found = knowledge_base(period)
    rows = [["article", article.pk, article.title, *_numbers(totals)] for article, totals in found.articles]
    no_topic = gettext("No help topic")
    rows += [
        ["topic", topic.pk if topic else "", topic.full_name if topic else no_topic, *_numbers(totals)]
        for topic, totals in found.topics
    ]
    name = f"{TABLE}-{found.first_day:%Y%m%d}-{found.last_day:%Y%m%d}.csv"
    return csvexport.csv_download(name, CSV_HEADER, rows)
