"""Who may use the console's knowledge base URLs: the article search of a ticket's composer, a
draft article from a ticket's answer, and the knowledge base's CSV among the reports' exports.

Anonymous visitors and requesters go to the console's sign-in; an agent outside the ticket
gets the same 404 as for a missing ticket; a View Only agent gets 403 (they may read the ticket,
not write on it nor write articles); nothing is written by a refused request."""

import pytest
from django.urls import reverse

from agents.urls import urlpatterns
from tests.factories import AgentFactory
from tickets import services
from tickets.models import Article, ArticleDay

LOGIN = "/agents/login/"
NAMES = {"article_search", "article_from_ticket"}


@pytest.fixture
def ticket(lab, new_ticket):
    """Karen's ticket in Support, resolved by John: it may become an article."""
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Restart the router.")
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def published(lab):
    made = Article.objects.create(
        title="Router restarts", body="Unplug the router for ten seconds.", status=Article.Status.PUBLISHED
    )
    made.help_topics.set([lab.topic("Report a Problem")])
    return made


@pytest.fixture
def viewer(lab):
    return AgentFactory(username="viewer", role="View Only", departments=[lab.support])


@pytest.fixture
def no_department(lab):
    return AgentFactory(username="nodept", role="Agent")


def _search(ticket, number=None):
    return reverse("agents:article_search", args=[number or ticket.number]) + "?q=router"


def _draft(ticket, number=None):
    return reverse("agents:article_from_ticket", args=[number or ticket.number])


def _written():
    return Article.objects.count(), ArticleDay.objects.count()


def test_the_knowledge_base_urls_are_these():
    """A new knowledge base URL fails here until it is added to the tests below."""
    names = {p.name for p in urlpatterns if p.name.startswith("article")}
    assert names == NAMES


@pytest.mark.parametrize("who", ["anonymous", "requester"])
def test_anyone_but_staff_is_sent_to_the_console_sign_in(client, lab, ticket, published, who):
    if who == "requester":
        client.force_login(lab.karen)  # the very requester of the ticket
    before = _written()
    for response in (client.get(_search(ticket)), client.post(_draft(ticket)), client.get(_draft(ticket))):
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")
    assert _written() == before


@pytest.mark.parametrize("who", ["stranger", "agent without department"])
def test_an_agent_outside_the_ticket_gets_the_404_of_a_missing_ticket(
    client, lab, ticket, published, stranger, no_department, who
):
    user = stranger if who == "stranger" else no_department
    assert user.has_perm("tickets.add_article") and user.has_perm("tickets.work_ticket")
    client.force_login(user)
    before = _written()
    for url in (_search(ticket), _search(ticket, "999999")):
        response = client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 404, url
        assert b"Router restarts" not in response.content
    for url in (_draft(ticket), _draft(ticket, "999999")):
        response = client.post(url)
        assert response.status_code == 404, url
        assert ticket.subject.encode() not in response.content
    assert _written() == before


def test_view_only_may_not_search_to_write_nor_make_an_article(client, lab, ticket, published, viewer):
    client.force_login(viewer)
    before = _written()
    response = client.get(_search(ticket), headers={"HX-Request": "true"})
    assert response.status_code == 403 and b"Router restarts" not in response.content
    assert client.post(_draft(ticket)).status_code == 403
    assert _written() == before


def test_the_draft_takes_a_post_only(client, lab, ticket):
    client.force_login(lab.john)
    before = _written()
    assert client.get(_draft(ticket)).status_code == 405
    assert _written() == before


def test_an_agent_of_the_ticket_uses_both(client, lab, ticket, published):
    """The control for the refusals above: John, of Support, searches and makes a draft."""
    client.force_login(lab.john)
    response = client.get(_search(ticket), headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"Router restarts" in response.content
    response = client.post(_draft(ticket))
    assert response.status_code == 302
    draft = Article.objects.get(status=Article.Status.DRAFT, author=lab.john)
    assert response["Location"] == reverse("admin:tickets_article_change", args=[draft.pk])


# -- the knowledge base's CSV among the reports' exports ----------------------------------------------


def _kb_csv():
    return reverse("agents:reports_export", args=["kb"]) + "?period=30"


def test_signed_out_visitors_are_sent_to_sign_in_for_the_kb_csv(client, lab):
    response = client.get(_kb_csv())
    assert response.status_code == 302 and response["Location"].startswith(f"{LOGIN}?next=")


@pytest.mark.parametrize("who", ["requester", "view only", "agent"])
def test_the_kb_csv_is_refused_without_view_reports(client, lab, viewer, published, who):
    user = {"requester": lab.karen, "view only": viewer, "agent": lab.john}[who]
    client.force_login(user)
    response = client.get(_kb_csv())
    assert response.status_code == 403
    assert "text/csv" not in response.get("Content-Type", "")


def test_a_supervisor_downloads_the_kb_csv(client, lab):
    supervisor = AgentFactory(username="sup", role="Supervisor", departments=[lab.support])
    client.force_login(supervisor)
    response = client.get(_kb_csv())
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
