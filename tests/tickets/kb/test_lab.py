"""The lab's knowledge base, loaded with the configuration, once however often it is run."""

import pytest
from django.core.management import call_command

from tickets.kb import selectors as kb
from tickets.models import Article

pytestmark = pytest.mark.django_db


def test_load_lab_adds_the_articles_once():
    call_command("load_lab", verbosity=0)
    first = list(Article.objects.values_list("slug", "title", "status", "audience", "last_reviewed"))
    topics = list(Article.help_topics.through.objects.values_list("article__slug", "helptopic_id"))
    call_command("load_lab", verbosity=0)
    assert list(Article.objects.values_list("slug", "title", "status", "audience", "last_reviewed")) == first
    assert list(Article.help_topics.through.objects.values_list("article__slug", "helptopic_id")) == topics
    assert len(first) == 5


def test_the_lab_articles(lab):
    public = {a.title: a for a in kb.public_articles()}
    assert set(public) == {
        "Reset your password",
        "Online banking is down: what to do",
        "Request new equipment",
    }
    assert all(a.last_reviewed is not None for a in public.values())
    assert [t.full_name for t in public["Online banking is down: what to do"].help_topics.all()] == [
        "Report a Problem / Business Critical Outage"
    ]
    agents = Article.objects.get(audience=Article.Audience.AGENTS)
    assert agents.title == "Escalation checklist for banking outages" and agents.status == "published"
    assert Article.objects.filter(status=Article.Status.DRAFT).count() == 1
    assert "<strong>Forgot your password?</strong>" in public["Reset your password"].body_html
