"""The admin of the knowledge base: articles written, previewed and published.

Agents may add and change drafts; publishing, archiving, and changing an article that is
published or archived are for those with "Publish knowledge base articles" (Supervisors and
Supreme Admins), checked in the form (``tickets.kb.services.may_edit``) and in the publish and
archive actions (``article_publish``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tickets.kb import services as kb
from tickets.models import Article


class ArticleForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = ("title", "slug", "body", "help_topics", "audience", "status", "last_reviewed")

    # Set by ArticleAdmin.get_form: whose form this is.
    user: Any = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        status = cleaned.get("status")
        before = None if self.instance._state.adding else self.initial.get("status")
        if status and self.has_changed() and not kb.may_edit(self.user, before, status):
            raise forms.ValidationError(
                gettext(
                    "Only a publisher (a Supervisor or a Supreme Admin) may publish or archive an article, "
                    "or change one that is published or archived. Save it as a draft, or ask one."
                ),
                code="publisher_only",
            )
        return cleaned


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleForm
    list_display = (
        "title",
        "status",
        "audience",
        "topics",
        "view_count",
        "helpful_count",
        "not_helpful_count",
        "deflection_count",
        "last_reviewed",
    )
    list_filter = ("help_topics", "status", "audience")
    search_fields = ("title", "body")
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("help_topics",)
    readonly_fields = (
        "preview",
        "author",
        "view_count",
        "helpful_count",
        "not_helpful_count",
        "deflection_count",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("title", "slug", "help_topics", "audience", "status", "last_reviewed")}),
        (_("Text"), {"fields": ("body", "preview")}),
        (
            _("Numbers (since it was written)"),
            {
                "fields": (
                    "view_count",
                    "helpful_count",
                    "not_helpful_count",
                    "deflection_count",
                    "author",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )
    actions = ("publish", "archive")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return super().get_queryset(request).defer("body_html").prefetch_related("help_topics__parent")

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    @admin.display(description=_("topics"))
    def topics(self, obj: Article) -> str:
        return ", ".join(t.full_name for t in obj.help_topics.all())

    @admin.display(description=_("preview"))
    def preview(self, obj: Article) -> SafeString:
        """The body as the portal shows it: the stored sanitized HTML (saved with the article)."""
        return obj.html if obj.pk else SafeString("")

    def save_model(self, request: Any, obj: Article, form: Any, change: bool) -> None:
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.has_perm(kb.PUBLISH_PERMISSION):
            actions.pop("publish", None)
            actions.pop("archive", None)
        return actions

    def _set_status(self, request: HttpRequest, articles: QuerySet[Article], status: str) -> None:
        try:
            for article in articles:
                kb.article_publish(article, actor=request.user, status=status)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        count = len(articles)
        if status == Article.Status.PUBLISHED:
            done = ngettext("%(count)d article published.", "%(count)d articles published.", count)
        else:  # the other action archives
            done = ngettext("%(count)d article archived.", "%(count)d articles archived.", count)
        self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Publish the selected articles"))
    def publish(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._set_status(request, queryset, Article.Status.PUBLISHED)

    @admin.action(description=_("Archive the selected articles"))
    def archive(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._set_status(request, queryset, Article.Status.ARCHIVED)
