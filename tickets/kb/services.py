"""Every write to the knowledge base: what reading, voting and deflecting count, a draft made
from a ticket's answer, and publishing.

A count goes to the article's total (one ``F()`` update, so two at once both count) and to its
``ArticleDay`` row for the day and the help topic it was reached through. One vote per browser
session and the throttling are the portal's (it remembers what the session voted on); the
services only count.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import catalog, selectors
from tickets.models import Article, ArticleDay, HelpTopic, State, ThreadEntry, Ticket, TicketTransition

PUBLISH_PERMISSION = "tickets.publish_article"
# The statuses only a publisher may set.
PUBLISHER_STATUSES = (Article.Status.PUBLISHED, Article.Status.ARCHIVED)


class ArticleError(ValueError):
    """The knowledge base cannot do this as asked; the message says why, in the user's terms."""


# -- counting --------------------------------------------------------------------------------


def _topic(topic_id: int | None) -> int | None:
    """A help topic's id if there is such a topic (from the catalog, no query), else None: the
    id comes from a page's form or query string."""
    return topic_id if topic_id is not None and topic_id in catalog.catalog().help_topics else None


# Each count: its total on Article, its column on ArticleDay.
_COLUMNS = {
    "view": ("view_count", "views"),
    "helpful": ("helpful_count", "helpful"),
    "not_helpful": ("not_helpful_count", "not_helpful"),
    "deflection": ("deflection_count", "deflections"),
}


def _count(article: Article, topic_id: int | None, what: str) -> None:
    """Add one to the article's total and to its row for today and the topic."""
    total, column = _COLUMNS[what]
    Article.objects.filter(pk=article.pk).update(**{total: F(total) + 1})
    key = {"article_id": article.pk, "help_topic_id": _topic(topic_id), "day": timezone.localdate()}
    if ArticleDay.objects.filter(**key).update(**{column: F(column) + 1}):
        return
    try:
        # The day's first count. Two at once wait in turn on the article's row (its UPDATE
        # above); should another still have inserted the row meanwhile, add to it.
        with transaction.atomic():
            ArticleDay.objects.create(**key, **{column: 1})
    except IntegrityError:
        ArticleDay.objects.filter(**key).update(**{column: F(column) + 1})


@transaction.atomic
def article_view(article: Article, *, topic_id: int | None = None) -> None:
    """Someone read the article (the portal counts a page shown to a reader)."""
    _count(article, topic_id, "view")


@transaction.atomic
def article_vote(article: Article, *, helpful: bool, topic_id: int | None = None) -> None:
    """An answer to "Did this answer your question?"."""
    _count(article, topic_id, "helpful" if helpful else "not_helpful")


@transaction.atomic
def article_deflect(article: Article, *, topic_id: int | None = None) -> None:
    """"Yes, this solved it" from the open-ticket form: a ticket not opened."""
    _count(article, topic_id, "deflection")


# -- writing ---------------------------------------------------------------------------------


def _resolution_message(ticket: Ticket) -> str:
    """The message the last resolve sent the requester: the first public reply written at or
    after that move (the resolve stores it just after its log row), else the last public
    reply before it (a ticket closed without a resolve)."""
    resolved = (
        TicketTransition.objects.filter(ticket=ticket, name="resolve").order_by("-created_at", "-id").first()
    )
    replies = ThreadEntry.objects.filter(ticket=ticket, kind=ThreadEntry.Kind.REPLY, is_public=True)
    entry = None
    if resolved is not None:
        entry = replies.filter(created_at__gte=resolved.created_at).order_by("created_at", "id").first()
        replies = replies.filter(created_at__lte=resolved.created_at)
    if entry is None:
        entry = replies.order_by("-created_at", "-id").first()
    return entry.body if entry is not None else ""


@transaction.atomic
def article_draft_from_ticket(ticket: Ticket, *, author: Any) -> Article:
    """A draft public article from a resolved or closed ticket: the subject as its title, the
    resolution message as its body, the ticket's help topic; the author edits and the audience
    is theirs to change. A publisher publishes it later."""
    if not author.has_perm("tickets.add_article"):
        raise PermissionDenied(_("You may not write knowledge base articles."))
    if not selectors.ticket_visible_to(author, ticket):
        raise PermissionDenied(_("You cannot see this ticket."))
    if ticket.state not in (State.RESOLVED, State.CLOSED):
        raise ArticleError(_("Only a resolved or closed ticket's answer can become an article."))
    body = _resolution_message(ticket)
    if not body.strip():
        raise ArticleError(_("This ticket has no answer to the requester to make an article from."))
    article = Article(
        title=ticket.subject[: Article._meta.get_field("title").max_length],
        body=body,
        audience=Article.Audience.PUBLIC,
        status=Article.Status.DRAFT,
        author=author,
    )
    article.save()
    if ticket.help_topic_id is not None:
        article.help_topics.add(ticket.help_topic_id)
    return article


def may_edit(user: Any, before: str | None, after: str) -> bool:
    """May ``user`` save an article that had status ``before`` (None: a new one) with status
    ``after``? Drafts are anyone's who may change articles; publishing, archiving and changing
    a published or archived article are for those with "Publish knowledge base articles"
    (Supervisors, Supreme Admins)."""
    if user.has_perm(PUBLISH_PERMISSION):
        return True
    return before not in PUBLISHER_STATUSES and after not in PUBLISHER_STATUSES


@transaction.atomic
def article_publish(article: Article, *, actor: Any, status: str = Article.Status.PUBLISHED) -> Article:
    """Set the article's status (published, archived, or back to draft) for a publisher;
    publishing marks it reviewed today."""
    if status not in Article.Status.values:
        raise ArticleError(_("Unknown status %(status)r.") % {"status": status})
    if not (actor.has_perm("tickets.change_article") and may_edit(actor, article.status, status)):
        raise PermissionDenied(_("You may not publish or archive knowledge base articles."))
    article.status = status
    fields = ["status", "updated_at"]
    if status == Article.Status.PUBLISHED:
        article.last_reviewed = timezone.localdate()
        fields.append("last_reviewed")
    article.save(update_fields=fields)
    return article


# -- numbers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleNumbers:
    """One article's numbers through one help topic (None: reached through none) in a period."""

    article: Article
    help_topic: HelpTopic | None
    views: int
    helpful: int
    not_helpful: int
    deflections: int


@dataclass(frozen=True)
class Totals:
    """The sums of some ``ArticleNumbers`` rows (an article's, or a topic's)."""

    views: int = 0
    helpful: int = 0
    not_helpful: int = 0
    deflections: int = 0

    def __add__(self, row: ArticleNumbers | Totals) -> Totals:
        return Totals(
            self.views + row.views,
            self.helpful + row.helpful,
            self.not_helpful + row.not_helpful,
            self.deflections + row.deflections,
        )


def article_numbers(period_start: datetime.date, period_end: datetime.date) -> list[ArticleNumbers]:
    """Views, votes and deflections per article and help topic over the local days from
    ``period_start`` to ``period_end`` (both included), the most viewed first; two queries
    (the sums, their articles; topics from the catalog). ``per_article`` and ``per_topic``
    sum them."""
    rows = (
        ArticleDay.objects.filter(day__gte=period_start, day__lte=period_end)
        .values("article", "help_topic")
        .annotate(
            views_sum=Sum("views"),
            helpful_sum=Sum("helpful"),
            not_helpful_sum=Sum("not_helpful"),
            deflections_sum=Sum("deflections"),
        )
        .order_by()
    )
    rows = list(rows)
    articles = Article.objects.defer("body", "body_html").in_bulk([r["article"] for r in rows])
    topics = catalog.catalog().help_topics
    numbers = [
        ArticleNumbers(
            article=articles[r["article"]],
            help_topic=topics.get(r["help_topic"]) if r["help_topic"] is not None else None,
            views=r["views_sum"],
            helpful=r["helpful_sum"],
            not_helpful=r["not_helpful_sum"],
            deflections=r["deflections_sum"],
        )
        for r in rows
    ]
    return sorted(numbers, key=lambda n: (-n.views, n.article.title, n.article.pk, n.help_topic is not None))


def per_article(rows: list[ArticleNumbers]) -> dict[Article, Totals]:
    """Each article's sums over its topics, in the order of ``rows``."""
    sums: dict[Article, Totals] = {}
    for row in rows:
        sums[row.article] = sums.get(row.article, Totals()) + row
    return sums


def per_topic(rows: list[ArticleNumbers]) -> dict[HelpTopic | None, Totals]:
    """Each help topic's sums over its articles (None: not reached through a topic)."""
    sums: dict[HelpTopic | None, Totals] = {}
    for row in rows:
        sums[row.help_topic] = sums.get(row.help_topic, Totals()) + row
    return sums
