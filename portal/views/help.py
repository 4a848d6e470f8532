"""The help articles in the portal: browse by help topic, search, read and answer an article,
and the suggestions beside the open-ticket form (the deflection).

Open to everyone, signed in or not. Which articles may be read and found is the domain's
(``tickets.kb.selectors``: published public articles only; anything else is the same 404 as a
missing article); what reading, a vote and a deflection count is its services'. What a
browser already counted (a view, an answer) is kept in its session, so each counts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets import selectors, throttle
from tickets.kb import selectors as kb_selectors
from tickets.kb import services as kb_services
from tickets.models import Article, HelpTopic

# The longest query searched; anything longer is cut (a search box, not a document).
QUERY_LENGTH = 200
# What the suggestions search: the subject and the start of the description.
SUGGEST_LENGTH = 500
SUGGESTIONS = 5
# Session keys: the articles this browser viewed and answered (newest first, at most so many).
VIEWED_KEY = "kb_viewed"
ANSWERED_KEY = "kb_answered"
REMEMBERED = 200


# -- helpers ------------------------------------------------------------------------------------


def _article_or_404(slug: str) -> Article:
    """A published public article; draft, archived, agents-only and missing alike are a 404."""
    article = kb_selectors.article_for_portal(slug)
    if article is None:
        raise Http404("No such article.")
    return article


def _public_topics() -> dict[int, HelpTopic]:
    """Active public help topics by id, from the cached catalog (no query)."""
    return {topic.pk: topic for topic in selectors.help_topics_public()}


def _topic_id(value: Any) -> int | None:
    """A help topic id from the request, if it names an active public topic; else None."""
    value = str(value or "").strip()
    if not value.isdigit():
        return None
    topic_id = int(value)
    return topic_id if topic_id in _public_topics() else None


def _remembered(request: HttpRequest, key: str) -> list[int]:
    return list(request.session.get(key, []))


def _remember(request: HttpRequest, key: str, article_id: int) -> None:
    kept = [pk for pk in _remembered(request, key) if pk != article_id]
    request.session[key] = [article_id, *kept][:REMEMBERED]


def _votes_allowed(request: HttpRequest) -> bool:
    limit, window = settings.THROTTLE_KB_VOTES
    return throttle.allow("kb-vote-ip", throttle.client_ip(request), limit=limit, window=window)


def _open_ticket_url(topic_id: int | None) -> str:
    url = reverse("portal:open_ticket")
    return f"{url}?topic={topic_id}" if topic_id else url


def _first_topic_id(article: Article) -> int | None:
    """The article's first public topic, in the order the topics are listed."""
    public = _public_topics()
    ids = [pk for pk in article.help_topics.values_list("pk", flat=True) if pk in public]
    ids.sort(key=lambda pk: public[pk].full_name.lower())
    return ids[0] if ids else None


def _query(request: HttpRequest) -> str:
    return " ".join(request.GET.get("q", "").split())[:QUERY_LENGTH]


# -- browse and search --------------------------------------------------------------------------


@dataclass
class TopicSection:
    """A top-level help topic with its articles, and its sub-topics (at any depth) below it,
    each named by its path under the top-level one ("Access Issue")."""

    name: str
    articles: list[Article] = field(default_factory=list)
    subtopics: list[tuple[str, list[Article]]] = field(default_factory=list)


def _sections(listed: list[tuple[HelpTopic, list[Article]]]) -> list[TopicSection]:
    """The listed topics nested as they are, in the order they come."""
    by_id = {topic.pk: topic for topic, _ in listed}
    names = {pk: topic.full_name for pk, topic in _public_topics().items()}
    sections: dict[int, TopicSection] = {}
    for topic, articles in listed:
        root, path = topic, [topic.name]
        while root.parent_id is not None and root.parent_id in by_id:
            root = by_id[root.parent_id]
            path.insert(0, root.name)
        # A topic whose parent is not listed heads a section of its own, by its full name.
        section = sections.setdefault(root.pk, TopicSection(name=names.get(root.pk, root.name)))
        if root.pk == topic.pk:
            section.articles = articles
        else:
            section.subtopics.append((" / ".join(path[1:]), articles))
    return list(sections.values())


@require_GET
def help_index(request: HttpRequest) -> HttpResponse:
    sections = _sections(kb_selectors.topics_with_articles())
    return render(request, "portal/help_index.html", {"sections": sections})


@require_GET
def help_search(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    hits = kb_selectors.search(query, audience="public") if query else []
    return render(request, "portal/help_search.html", {"query": query, "hits": hits})


@require_GET
def help_suggest(request: HttpRequest) -> HttpResponse:
    """Up to five articles for the open-ticket form, as htmx asks for them while the requester
    picks a topic and types. The form sends its own fields (``help_topic``, ``subject``,
    ``body``); ``topic`` and ``q`` are the same, for a plain link."""
    topic_id = _topic_id(request.GET.get("topic") or request.GET.get("help_topic"))
    text = request.GET.get("q") or f"{request.GET.get('subject', '')} {request.GET.get('body', '')}"
    return render(request, "portal/_suggestions.html", suggestions(text, topic_id))


def suggestions(text: str, topic_id: int | None) -> dict[str, Any]:
    """What ``_suggestions.html`` shows: the articles for this topic and text, if either."""
    text = " ".join(str(text).split())[:SUGGEST_LENGTH]
    asked = bool(text or topic_id)
    hits = kb_selectors.suggest(text, topic_id, limit=SUGGESTIONS) if asked else []
    return {"suggestions": hits, "suggest_topic": topic_id, "asked": asked}


# -- one article --------------------------------------------------------------------------------


@require_GET
def help_article(request: HttpRequest, slug: str) -> HttpResponse:
    article = _article_or_404(slug)
    from_ticket = request.GET.get("from") == "ticket"
    topic_id = _topic_id(request.GET.get("topic"))
    if article.pk not in _remembered(request, VIEWED_KEY):
        kb_services.article_view(article, topic_id=topic_id)
        _remember(request, VIEWED_KEY, article.pk)
    return _article_page(request, article, from_ticket=from_ticket, topic_id=topic_id)


def _article_page(
    request: HttpRequest, article: Article, *, from_ticket: bool, topic_id: int | None, status: int = 200
) -> HttpResponse:
    public = _public_topics()
    topic_ids = [pk for pk in article.help_topics.values_list("pk", flat=True) if pk in public]
    topics = sorted((public[pk] for pk in topic_ids), key=lambda topic: topic.full_name.lower())
    ticket_topic = topic_id or (topics[0].pk if topics else None)
    context = {
        "article": article,
        "topics": topics,
        "from_ticket": from_ticket,
        "topic_id": topic_id,
        "answered": article.pk in _remembered(request, ANSWERED_KEY),
        "open_ticket_url": _open_ticket_url(ticket_topic),
    }
    return render(request, "portal/help_article.html", context, status=status)


@require_POST
def help_answer(request: HttpRequest, slug: str) -> HttpResponse:
    """ "Did this answer your question?": a vote, or from the ticket form a deflection. One
    answer per article and browser session; answers per address are throttled."""
    article = _article_or_404(slug)
    answer = request.POST.get("answer")
    if answer not in ("yes", "no"):
        return HttpResponseBadRequest(_("Answer yes or no."))
    from_ticket = request.POST.get("from") == "ticket"
    topic_id = _topic_id(request.POST.get("topic"))
    if article.pk not in _remembered(request, ANSWERED_KEY):
        if not _votes_allowed(request):
            messages.error(
                request, _("Too many answers from your address in a short time. Please try later.")
            )
            return _article_page(request, article, from_ticket=from_ticket, topic_id=topic_id, status=429)
        if from_ticket and answer == "yes":
            kb_services.article_deflect(article, topic_id=topic_id)
        else:
            kb_services.article_vote(article, helpful=answer == "yes", topic_id=topic_id)
        _remember(request, ANSWERED_KEY, article.pk)
    if from_ticket and answer == "yes":
        return render(request, "portal/help_solved.html", {"article": article})
    if from_ticket:
        return redirect(_open_ticket_url(topic_id or _first_topic_id(article)))
    messages.success(request, _("Thank you for your answer."))
    return redirect("portal:help_article", slug=article.slug)


def form_suggestions(form: Any) -> dict[str, Any]:
    """The suggestions for the open-ticket form as it is shown: what was typed into a form sent
    back with errors, or the topic it was opened with (``?topic=``); none for an empty form."""
    if form.is_bound:
        values = [form.data.get("help_topic"), form.data.get("subject", ""), form.data.get("body", "")]
    else:
        values = [form.initial.get("help_topic"), "", ""]
    topic, subject, body = values
    return suggestions(f"{subject} {body}", _topic_id(topic))
