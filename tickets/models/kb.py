"""The knowledge base: articles filed under help topics, and their numbers per day.

An article's body is Markdown, rendered once when it is saved (``body_html``, through the same
sanitizer as the thread). Its counters are totals for the admin's list; ``ArticleDay`` keeps
the same numbers per article, help topic and day, so any period can be summed
(``tickets.kb.services.article_numbers``). Who may read and find which article is in
``tickets.kb.selectors``; every count is written by ``tickets.kb.services``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets import markup
from tickets.models.config import HelpTopic

SLUG_LENGTH = 120
# Words the portal's help pages use beside the articles (/help/search/, /help/suggest/): an
# article with one of them as its slug could never be reached.
RESERVED_SLUGS = frozenset({"search", "suggest"})


class Article(models.Model):
    class Audience(models.TextChoices):
        PUBLIC = "public", _("Public (the portal)")
        AGENTS = "agents", _("Agents only")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    title = models.CharField(max_length=200, verbose_name=_("title"))
    slug = models.SlugField(
        max_length=SLUG_LENGTH, unique=True, blank=True, help_text=_("Made from the title when left empty."),
        verbose_name=_("slug"),
    )
    body = models.TextField(help_text=_("Markdown, as in a reply."), verbose_name=_("body"))
    body_html = models.TextField(
        _("body as HTML"),
        blank=True,
        editable=False,
        default="",
        help_text=_("Sanitized; derived from the body."),
    )
    help_topics = models.ManyToManyField(HelpTopic, related_name="articles", verbose_name=_("help topics"))
    audience = models.CharField(
        max_length=8, choices=Audience.choices, default=Audience.PUBLIC, verbose_name=_("audience")
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, verbose_name=_("status")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("author"),
    )
    last_reviewed = models.DateField(null=True, blank=True, verbose_name=_("last reviewed"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    # Totals since the article was written, kept by the services (F() updates).
    view_count = models.PositiveIntegerField(_("views"), default=0, editable=False)
    helpful_count = models.PositiveIntegerField(_("helpful"), default=0, editable=False)
    not_helpful_count = models.PositiveIntegerField(_("not helpful"), default=0, editable=False)
    deflection_count = models.PositiveIntegerField(_("deflections"), default=0, editable=False)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["title", "id"]
        permissions = [("publish_article", "Publish knowledge base articles")]
        indexes = [models.Index(fields=["status", "audience", "title"], name="article_listed")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        # As ThreadEntry: the HTML is derived from this row's own body, so every way of saving
        # an article (admin, services, the lab) stores it.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "body" in update_fields:
            self.body_html = markup.render_markdown(self.body)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "body_html"}
        if not self.slug:
            self.slug = self._free_slug()
            if update_fields is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "slug"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if self.slug in RESERVED_SLUGS:
            message = gettext("“%(slug)s” names a page of the help articles: choose another.")
            raise ValidationError({"slug": message % {"slug": self.slug}})

    def _free_slug(self) -> str:
        """The title's slug, or with -2, -3... when another article has it (or it is reserved)."""
        base = slugify(self.title)[: SLUG_LENGTH - 8].strip("-") or "article"
        taken = RESERVED_SLUGS | set(
            Article.objects.filter(slug__startswith=base).exclude(pk=self.pk).values_list("slug", flat=True)
        )
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        return slug

    @property
    def html(self) -> SafeString:
        """What pages show: the stored sanitized HTML, or the body as plain text without it."""
        if self.body_html:
            return mark_safe(self.body_html)  # noqa: S308 - nh3 output, stored by save()
        return markup.plain_text(self.body)

    @property
    def is_public(self) -> bool:
        """Shown in the portal: published, for everyone."""
        return self.status == self.Status.PUBLISHED and self.audience == self.Audience.PUBLIC


class ArticleDay(models.Model):
    """An article's numbers on one day, through one help topic (none: not reached through one)."""

    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="days", verbose_name=_("article")
    )
    # Topics are switched off rather than deleted (old tickets name them); their numbers stay.
    help_topic = models.ForeignKey(
        HelpTopic, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("help topic")
    )
    day = models.DateField(verbose_name=_("day"))
    views = models.PositiveIntegerField(default=0, verbose_name=_("views"))
    helpful = models.PositiveIntegerField(default=0, verbose_name=_("helpful"))
    not_helpful = models.PositiveIntegerField(default=0, verbose_name=_("not helpful"))
    deflections = models.PositiveIntegerField(default=0, verbose_name=_("deflections"))

    class Meta:
        verbose_name = _("article day")
        verbose_name_plural = _("article days")
        ordering = ["day", "article", "help_topic"]
        # NULLs are distinct in a unique index (SQLite and PostgreSQL before 15): the days
        # without a topic get a constraint of their own.
        constraints = [
            models.UniqueConstraint(
                fields=["article", "help_topic", "day"],
                condition=Q(help_topic__isnull=False),
                name="one_article_day_per_topic",
            ),
            models.UniqueConstraint(
                fields=["article", "day"], condition=Q(help_topic__isnull=True), name="one_article_day"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="article_day")]

    def __str__(self) -> str:
        return f"{self.article_id} on {self.day}"
