"""The knowledge base in the console: the composer's article search (published articles only, a
public one offered as a link to the portal, an agents-only one as its text for a note, markup
shown as text, a constant number of queries), a draft article made from a resolved ticket's
answer, and the knowledge base's table on the reports dashboard."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents.views.kb import markdown_link
from tests.factories import AgentFactory
from tickets import services
from tickets.kb import services as kb_services
from tickets.models import Article, State

# A word no lab article holds, so the lab's own articles never join a search here.
WORD = "quokka"


@pytest.fixture
def article(lab):
    def make(title, *, body=None, status="published", audience="public", topic=None):
        made = Article.objects.create(
            title=title,
            body=body if body is not None else f"What to do about the {WORD}: read this.",
            status=status,
            audience=audience,
        )
        made.help_topics.set([lab.topic(topic or "Report a Problem")])
        return made

    return make


@pytest.fixture
def ticket(new_ticket):
    return new_ticket()


@pytest.fixture
def viewer(lab):
    return AgentFactory(username="viewer", role="View Only", departments=[lab.support])


def _search(client, ticket, q, *, htmx=True):
    url = reverse("agents:article_search", args=[ticket.number])
    return client.get(url, {"q": q}, headers={"HX-Request": "true"} if htmx else {})


def _resolve(lab, ticket, message="Clear the browser's cache, then sign in again."):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message=message)
    ticket.refresh_from_db()
    return ticket


# -- the composer's search ------------------------------------------------------------------------


def test_the_composer_offers_the_article_search_to_an_agent_who_may_write(client, lab, ticket, viewer):
    url = reverse("agents:ticket", args=[ticket.number])
    search = reverse("agents:article_search", args=[ticket.number])
    client.force_login(lab.john)
    page = client.get(url).content.decode()
    composer = page.split('class="card shadow-sm mt-3 composer"', 1)[1]
    assert f'hx-get="{search}"' in composer and "Insert an article" in composer
    assert "agents/kb.js" in composer
    client.force_login(viewer)
    assert search not in client.get(url).content.decode()


def test_the_search_finds_published_articles_only(client, lab, ticket, article):
    article(f"The {WORD} guide")
    article(f"{WORD} escalation checklist", audience=Article.Audience.AGENTS)
    article(f"Draft about the {WORD}", status=Article.Status.DRAFT)
    article(f"Archived {WORD} notes", status=Article.Status.ARCHIVED)
    article(f"Agents' draft {WORD}", status=Article.Status.DRAFT, audience=Article.Audience.AGENTS)
    client.force_login(lab.john)
    response = _search(client, ticket, WORD)
    assert response.status_code == 200
    titles = {match.hit.article.title for match in response.context["matches"]}
    assert titles == {f"The {WORD} guide", f"{WORD} escalation checklist"}
    page = response.content.decode()
    assert "Draft about" not in page and "Archived" not in page and "Agents&#x27; draft" not in page


def test_a_public_article_is_a_link_to_the_portal_and_an_agents_only_one_its_text_for_a_note(
    client, lab, ticket, article, settings
):
    settings.HELPDESK_BASE_URL = "https://help.bank.example/"
    public = article(f"The {WORD} guide")
    secret = article(
        f"{WORD} escalation checklist",
        body=f"1. Call the {WORD} team.\n2. Page the manager.",
        audience="agents",
    )
    client.force_login(lab.john)
    response = _search(client, ticket, WORD)
    matches = {match.hit.article.pk: match for match in response.context["matches"]}
    path = reverse("portal:help_article", args=[public.slug])
    link = f"[The {WORD} guide](https://help.bank.example{path})"
    assert matches[public.pk].text == link and not matches[public.pk].agents_only
    assert matches[secret.pk].text == secret.body and matches[secret.pk].agents_only
    page = response.content.decode()
    assert f'data-kb-insert="link" data-kb-text="{link}"' in page
    assert 'data-kb-insert="note" data-kb-text="1. Call the quokka team.\n2. Page the manager."' in page
    # The agents-only article says so beside it, and what inserting it does.
    secret_row = page.split(f"{WORD} escalation checklist", 1)[1].split("</li>", 1)[0]
    assert "Agents only" in secret_row and "never to the requester" in secret_row
    assert "Agents only" not in page.split(f"The {WORD} guide", 1)[1].split("</li>", 1)[0]


def test_markup_in_an_article_and_in_the_query_is_shown_as_text(client, lab, ticket, article):
    article(
        f"<img src=x onerror=alert(1)> {WORD}",
        body=f"<script>alert('{WORD}')</script> [x](javascript:alert(1))",
        audience="agents",
    )
    client.force_login(lab.john)
    response = _search(client, ticket, f"{WORD} <img>")
    assert response.status_code == 200
    page = response.content.decode()
    assert len(response.context["matches"]) == 1
    assert "<img" not in page and "<script" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;alert(&#x27;quokka&#x27;)&lt;/script&gt;" in page
    # The query is shown back when nothing matches: as text too.
    response = _search(client, ticket, "<script>alert(1)</script> wombat")
    page = response.content.decode()
    assert response.context["matches"] == [] and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; wombat" in page


def test_a_title_with_markdown_punctuation_stays_one_link():
    assert markdown_link("Reset [all] *now*", "https://x/help/a/") == r"[Reset \[all\] \*now\*](https://x/help/a/)"


@pytest.mark.parametrize(
    "query",
    ['"', "quokka & | !", "quokka:*", "(quokka", '"unbalanced quokka', "!!", "-", "*", "' OR 1=1 --"]
    + ["x" * 500, "quokka -", "-quokka", "or", "\\", "quokka <-> guide", "quokka\x00"],
)
def test_junk_in_the_query_never_errors(client, lab, ticket, article, query):
    article(f"The {WORD} guide")
    client.force_login(lab.john)
    response = _search(client, ticket, query)
    assert response.status_code == 200
    assert len(response.context["query"]) <= 200


def test_an_empty_query_lists_nothing_and_searches_nothing(client, lab, ticket, article):
    article(f"The {WORD} guide")
    client.force_login(lab.john)
    response = _search(client, ticket, "   ")
    assert response.status_code == 200 and response.context["matches"] == []
    assert "No published article matches" not in response.content.decode()


def test_no_match_says_so(client, lab, ticket, article):
    client.force_login(lab.john)
    response = _search(client, ticket, "wombat")
    assert response.context["matches"] == []
    assert "No published article matches “wombat”." in response.content.decode()


def test_without_javascript_the_search_is_a_page_with_the_text_to_copy(client, lab, ticket, article):
    secret = article(f"{WORD} escalation checklist", body=f"Call the {WORD} team.", audience="agents")
    client.force_login(lab.john)
    response = _search(client, ticket, WORD, htmx=False)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" in page and f"Articles to use in #{ticket.number}" in page
    assert f"readonly>{secret.body}</textarea>" in page
    assert "data-kb-insert" not in page


def _queries(client, ticket) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = _search(client, ticket, WORD)
    assert response.status_code == 200
    return len(queries), len(response.context["matches"])


def test_the_search_costs_the_same_queries_for_3_and_30_articles(client, lab, ticket, article):
    """The word is in the articles' bodies only: the search reads both the titles and the bodies
    (with the word in enough titles it stops at the titles, one query fewer)."""
    topics = ["Report a Problem", "Feedback", "Report a Problem / Business Critical Outage"]
    for i in range(3):
        article(f"Article {i}", audience="agents" if i % 2 else "public", topic=topics[i % 3])
    client.force_login(lab.john)
    _search(client, ticket, WORD)  # the session, the permissions and the catalog into the cache
    few, found_few = _queries(client, ticket)
    for i in range(3, 30):
        article(f"Article {i}", audience="agents" if i % 2 else "public", topic=topics[i % 3])
    many, found_many = _queries(client, ticket)
    assert (found_few, found_many) == (3, 10)
    assert few == many <= 6, (few, many)


# -- a draft article from a resolved ticket's answer ---------------------------------------------------


def _draft_url(ticket):
    return reverse("agents:article_from_ticket", args=[ticket.number])


def test_a_resolved_tickets_answer_becomes_a_draft_opened_in_the_admin(client, lab, ticket):
    _resolve(lab, ticket)
    client.force_login(lab.john)
    response = client.post(_draft_url(ticket))
    draft = Article.objects.get(author=lab.john)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tickets_article_change", args=[draft.pk])
    assert draft.status == Article.Status.DRAFT
    assert draft.title == ticket.subject
    assert "Clear the browser's cache, then sign in again." in draft.body
    assert list(draft.help_topics.all()) == [ticket.help_topic]
    # John, an Agent, edits the draft in the admin and saves it, still a draft.
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Clear the browser" in page.content.decode()


def test_a_closed_tickets_answer_becomes_a_draft_too(client, lab, ticket):
    _resolve(lab, ticket)
    services.ticket_close(ticket=ticket, actor=lab.john, reason="")
    ticket.refresh_from_db()
    assert ticket.state == State.CLOSED
    client.force_login(lab.john)
    page = client.get(reverse("agents:ticket", args=[ticket.number])).content.decode()
    assert "Make an article from this answer" in page
    assert client.post(_draft_url(ticket)).status_code == 302
    assert Article.objects.filter(status=Article.Status.DRAFT, author=lab.john).count() == 1


@pytest.mark.parametrize("state", [State.OPEN, State.ASSIGNED])
def test_an_active_ticket_makes_no_article(client, lab, ticket, state):
    if state == State.ASSIGNED:
        services.ticket_claim(ticket=ticket, actor=lab.john)
    before = Article.objects.count()
    client.force_login(lab.john)
    page = client.get(reverse("agents:ticket", args=[ticket.number])).content.decode()
    assert "Make an article from this answer" not in page and _draft_url(ticket) not in page
    response = client.post(_draft_url(ticket), follow=True)
    assert response.redirect_chain == [(reverse("agents:ticket", args=[ticket.number]), 302)]
    assert "Only a resolved or closed ticket" in response.content.decode()
    assert Article.objects.count() == before


def test_the_button_is_on_a_resolved_ticket_for_those_who_may_write_articles(client, lab, ticket, viewer):
    _resolve(lab, ticket)
    url = reverse("agents:ticket", args=[ticket.number])
    client.force_login(lab.john)
    page = client.get(url).content.decode()
    assert f'action="{_draft_url(ticket)}"' in page and "Make an article from this answer" in page
    assert not viewer.has_perm("tickets.add_article")
    client.force_login(viewer)
    page = client.get(url).content.decode()
    assert "Make an article from this answer" not in page and _draft_url(ticket) not in page


def test_an_agent_without_the_permission_to_write_articles_is_refused(client, lab, ticket, viewer):
    _resolve(lab, ticket)
    before = Article.objects.count()
    client.force_login(viewer)
    assert client.post(_draft_url(ticket)).status_code == 403
    assert Article.objects.count() == before


# -- the reports dashboard's table -----------------------------------------------------------------------


@pytest.fixture
def numbers(lab, article):
    """Two articles read, voted on and deflecting tickets today, one an hour ago, through topics."""
    problem, feedback = lab.topic("Report a Problem"), lab.topic("Feedback")
    guide = article(f"The {WORD} guide")
    tips = article(f"{WORD} tips", topic="Feedback")
    for _ in range(3):
        kb_services.article_view(guide, topic_id=problem.pk)
    kb_services.article_view(tips, topic_id=feedback.pk)
    kb_services.article_vote(guide, helpful=True, topic_id=problem.pk)
    kb_services.article_vote(guide, helpful=False, topic_id=problem.pk)
    kb_services.article_vote(tips, helpful=True, topic_id=feedback.pk)
    kb_services.article_deflect(guide, topic_id=problem.pk)
    kb_services.article_deflect(guide, topic_id=problem.pk)
    kb_services.article_deflect(tips, topic_id=feedback.pk)
    return guide, tips


def test_the_dashboard_shows_the_knowledge_base_numbers_of_the_period(client, lab, numbers):
    guide, tips = numbers
    client.force_login(lab.jane)
    response = client.get(reverse("agents:reports"), {"period": "7"})
    assert response.status_code == 200
    page = response.content.decode()
    section = page.split('aria-labelledby="kb-title"', 1)[1].split("</section>", 1)[0]
    assert "Knowledge base" in section
    rows = _rows(section)
    # Per article, most deflections first: views, helpful, not helpful, deflections.
    assert rows[f"The {WORD} guide"] == ["3", "1", "1", "2"]
    assert rows[f"{WORD} tips"] == ["1", "1", "0", "1"]
    assert rows["Report a Problem"] == ["3", "1", "1", "2"]
    assert rows["Feedback"] == ["1", "1", "0", "1"]
    assert section.index(f"The {WORD} guide") < section.index(f"{WORD} tips")
    assert f'href="{reverse("agents:reports_export", args=["kb"])}?period=7"' in section


def test_the_knowledge_base_numbers_are_of_the_period_only(client, lab, numbers):
    client.force_login(lab.jane)
    today = timezone.localdate()
    before = (today - timedelta(days=10)).isoformat()
    response = client.get(
        reverse("agents:reports"), {"period": "custom", "start": before, "end": before}
    )
    assert response.status_code == 200
    section = response.content.decode().split('aria-labelledby="kb-title"', 1)[1].split("</section>", 1)[0]
    assert WORD not in section
    assert "No article was read" in section


def test_the_knowledge_base_table_as_csv(client, lab, numbers):
    client.force_login(lab.jane)
    response = client.get(reverse("agents:reports_export", args=["kb"]), {"period": "7"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="kb-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Kind", "Id", "Name", "Views", "Helpful", "Not helpful", "Deflections"]
    guide, tips = numbers
    assert ["article", str(guide.pk), f"The {WORD} guide", "3", "1", "1", "2"] in rows
    assert ["topic", str(lab.topic("Feedback").pk), "Feedback", "1", "1", "0", "1"] in rows


def _rows(section: str) -> dict[str, list[str]]:
    """Each table row's heading and its numbers."""
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section, flags=re.S):
        head = re.search(r"<th scope=\"row\"[^>]*>(.*?)</th>", row, flags=re.S)
        if head:
            name = re.sub(r"<[^>]+>", "", head.group(1)).strip()
            found[name] = re.findall(r"<td class=\"num\">(.*?)</td>", row)
    return found
