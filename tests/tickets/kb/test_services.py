"""What reading, voting and deflecting count; a draft from a ticket's answer; publishing."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from tests.factories import AgentFactory
from tickets import services
from tickets.kb import services as kb
from tickets.models import Article, ArticleDay

pytestmark = pytest.mark.django_db

ANSWER = "Installed the **new driver**: printing works."


@pytest.fixture
def article(make_article):
    return make_article("Reset the router", topics=["Report a Problem"])


def test_views_votes_and_deflections_count_on_the_article_and_its_day(article, lab):
    topic = lab.topic("Report a Problem").pk
    kb.article_view(article, topic_id=topic)
    kb.article_view(article, topic_id=topic)
    kb.article_view(article)
    kb.article_vote(article, helpful=True, topic_id=topic)
    kb.article_vote(article, helpful=False)
    kb.article_deflect(article, topic_id=topic)
    article.refresh_from_db()
    counts = (article.view_count, article.helpful_count, article.not_helpful_count, article.deflection_count)
    assert counts == (3, 1, 1, 1)
    today = timezone.localdate()
    days = {
        (d.help_topic_id, d.day): (d.views, d.helpful, d.not_helpful, d.deflections)
        for d in ArticleDay.objects.filter(article=article)
    }
    assert days == {(topic, today): (2, 1, 0, 1), (None, today): (1, 0, 1, 0)}


def test_an_unknown_topic_counts_as_none(article):
    kb.article_view(article, topic_id=987654)
    assert list(ArticleDay.objects.values_list("help_topic_id", "views")) == [(None, 1)]


def test_numbers_over_a_period_per_article_and_topic(article, make_article, lab):
    other = make_article("Other article")
    topic = lab.topic("Report a Problem")
    today = timezone.localdate()
    old = today - datetime.timedelta(days=40)
    ArticleDay.objects.create(article=article, help_topic=topic, day=old, views=100)
    ArticleDay.objects.create(article=article, help_topic=topic, day=today, views=3, deflections=2)
    ArticleDay.objects.create(article=article, help_topic=None, day=today, views=1, helpful=1)
    ArticleDay.objects.create(article=other, help_topic=topic, day=today, views=2, not_helpful=1)
    rows = kb.article_numbers(today - datetime.timedelta(days=6), today)
    assert [(r.article, r.help_topic, r.views, r.helpful, r.not_helpful, r.deflections) for r in rows] == [
        (article, topic, 3, 0, 0, 2),
        (other, topic, 2, 0, 1, 0),
        (article, None, 1, 1, 0, 0),
    ]
    assert kb.per_article(rows)[article] == kb.Totals(views=4, helpful=1, deflections=2)
    assert kb.per_topic(rows)[topic] == kb.Totals(views=5, not_helpful=1, deflections=2)
    assert [r.views for r in kb.article_numbers(old, old)] == [100]


@pytest.fixture
def resolved(lab, new_ticket):
    ticket = new_ticket(subject="Cannot print <b>boarding</b> passes")
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_start_work(ticket=ticket, actor=lab.john)
    services.ticket_reply(ticket=ticket, actor=lab.john, body="Which printer is it?")
    services.ticket_resolve(ticket=ticket, actor=lab.john, message=ANSWER)
    return ticket


def test_a_draft_from_a_resolved_ticket_holds_its_answer_and_topic(resolved, lab):
    article = kb.article_draft_from_ticket(resolved, author=lab.john)
    assert (article.title, article.body, article.status, article.audience, article.author) == (
        "Cannot print <b>boarding</b> passes",
        ANSWER,
        Article.Status.DRAFT,
        Article.Audience.PUBLIC,
        lab.john,
    )
    assert list(article.help_topics.all()) == [lab.topic("Report a Problem")]
    assert article.slug == "cannot-print-bboardingb-passes"
    assert "<strong>new driver</strong>" in article.body_html


def test_a_draft_from_a_closed_ticket_takes_the_resolution_not_later_replies(resolved, lab):
    services.ticket_close(ticket=resolved, actor=lab.john)
    article = kb.article_draft_from_ticket(resolved, author=lab.john)
    assert article.body == ANSWER


def test_a_ticket_not_resolved_makes_no_draft(lab, new_ticket):
    ticket = new_ticket()
    with pytest.raises(kb.ArticleError, match="resolved or closed"):
        kb.article_draft_from_ticket(ticket, author=lab.jane)
    assert not Article.objects.filter(title=ticket.subject).exists()


def test_a_draft_needs_an_agent_who_sees_the_ticket(resolved, lab, stranger):
    for who in (lab.karen, stranger):
        with pytest.raises(PermissionDenied):
            kb.article_draft_from_ticket(resolved, author=who)
    assert not Article.objects.filter(title=resolved.subject).exists()


def test_an_agent_cannot_publish_a_supervisor_can(lab, make_article):
    draft = make_article("Fresh draft", status=Article.Status.DRAFT)
    with pytest.raises(PermissionDenied):
        kb.article_publish(draft, actor=lab.john)
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT
    supervisor = AgentFactory(username="boss", role="Supervisor", departments=[lab.support])
    kb.article_publish(draft, actor=supervisor)
    draft.refresh_from_db()
    assert (draft.status, draft.last_reviewed) == (Article.Status.PUBLISHED, timezone.localdate())
    with pytest.raises(PermissionDenied):
        kb.article_publish(draft, actor=lab.john, status=Article.Status.DRAFT)
    kb.article_publish(draft, actor=lab.jane, status=Article.Status.ARCHIVED)
    draft.refresh_from_db()
    assert draft.status == Article.Status.ARCHIVED


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers")
@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_counts_of_the_day_all_count_in_one_row(lab, make_article):
    article = make_article("Busy article", topics=["Report a Problem"])
    topic = lab.topic("Report a Problem").pk
    readers = 6
    barrier = threading.Barrier(readers)
    failures = []

    def read():
        try:
            barrier.wait()
            kb.article_view(article, topic_id=topic)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    article.refresh_from_db()
    assert article.view_count == readers
    assert list(ArticleDay.objects.values_list("help_topic_id", "views")) == [(topic, readers)]
