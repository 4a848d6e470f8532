"""Deflection on the open-ticket form: the articles suggested beside it (htmx asks as the
requester picks a topic and types; a plain link to the search without JavaScript), and an
article opened from there, where "Yes, this solved it" counts a deflection and opens no ticket
and "No" goes back to the form with the topic chosen."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tickets.models import Article, ArticleDay, Ticket

# A word no lab article holds, so the lab's own articles never join a search here.
WORD = "wombat"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def article(lab):
    def make(title, *, body=None, topics=("Report a Problem",), **fields):
        fields = {"status": Article.Status.PUBLISHED, "audience": Article.Audience.PUBLIC, **fields}
        made = Article.objects.create(title=title, body=body or f"What to do about the {WORD}.", **fields)
        made.help_topics.set([lab.topic(topic) for topic in topics])
        return made

    return make


def _suggest(client, **params):
    response = client.get(reverse("portal:help_suggest"), params)
    assert response.status_code == 200
    return response.content.decode()


def _titles(fragment):
    return re.findall(r'<a class="fw-semibold" href="[^"]*">([^<]*)</a>', fragment)


# -- the form -------------------------------------------------------------------------------------


def test_the_form_asks_for_suggestions_as_the_topic_subject_and_description_change(client, lab):
    page = client.get(reverse("portal:open_ticket")).content.decode()
    trigger = re.search(r'<div hx-get="/help/suggest/"[^>]*>', page).group(0)
    assert 'hx-trigger="keyup changed delay:500ms, change"' in trigger
    assert 'hx-include="#id_help_topic, #id_subject, #id_body"' in trigger
    assert 'hx-target="#kb-suggestions"' in trigger
    # The three fields are inside the element that asks; the others (name, e-mail, files) not.
    asking = page[page.index(trigger) : page.index('id="id_attachments"')]
    for field in ("id_help_topic", "id_subject", "id_body"):
        assert f'id="{field}"' in asking
    for field in ("id_name", "id_email", "id_phone"):
        assert f'id="{field}"' in page and f'id="{field}"' not in asking
    # Without JavaScript: a plain link to the search.
    assert f'<a href="{reverse("portal:help_search")}">Search the help articles</a>' in page
    assert 'id="kb-suggestions"' in page


def test_a_form_sent_back_with_errors_shows_suggestions_for_what_was_typed(client, lab, article):
    article(f"Reset your {WORD} password", topics=["Password Reset"])
    topic = lab.topic("Password Reset").pk
    response = client.post(
        reverse("portal:open_ticket"),
        {"help_topic": topic, "subject": f"Forgot my {WORD} password", "body": "", "name": "", "email": ""},
    )
    page = response.content.decode()
    assert response.status_code == 200 and Ticket.objects.count() == 0
    assert f"Reset your {WORD} password" in _titles(page)
    assert f"?from=ticket&amp;topic={topic}" in page


def test_the_form_opened_with_a_topic_suggests_that_topics_articles(client, lab, article):
    article(f"Reset your {WORD} password", topics=["Password Reset"])
    article(f"Ask for a {WORD}", topics=["Equipment Request"])
    topic = lab.topic("Password Reset").pk
    page = client.get(reverse("portal:open_ticket"), {"topic": topic}).content.decode()
    assert f"Reset your {WORD} password" in _titles(page)
    assert f"Ask for a {WORD}" not in page


# -- the suggestions ------------------------------------------------------------------------------


def test_nothing_asked_suggests_nothing(client, article):
    article(f"Reset your {WORD} password")
    page = _suggest(client)
    assert _titles(page) == []
    assert "As you choose a help topic and describe the problem" in page


def test_at_most_five_suggestions_each_opening_the_article_from_the_form(client, lab, article):
    for i in range(7):
        article(f"{WORD.title()} tip {i}")
    topic = lab.topic("Report a Problem").pk
    page = _suggest(client, q=WORD, topic=topic)
    assert len(_titles(page)) == 5
    first = Article.objects.get(title=_titles(page)[0])
    assert f'href="{reverse("portal:help_article", args=[first.slug])}?from=ticket&amp;topic={topic}"' in page


def test_the_forms_own_fields_work_as_topic_and_q(client, lab, article):
    article(f"Reset your {WORD} password", topics=["Password Reset"])
    article(f"Order a {WORD}", body="A new one for your desk.", topics=["Equipment Request"])
    topic = lab.topic("Password Reset").pk
    page = _suggest(client, help_topic=topic, subject=f"my {WORD}", body="password forgotten")
    titles = _titles(page)
    # The chosen topic's article first.
    assert titles[0] == f"Reset your {WORD} password"
    assert f"topic={topic}" in page


def test_a_word_being_typed_is_matched_as_a_prefix(client, article):
    article(f"Reset your {WORD} password")
    assert f"Reset your {WORD} password" in _titles(_suggest(client, q=f"{WORD} passw"))


def test_a_topic_not_offered_is_ignored(client, lab, article):
    article(f"Reset your {WORD} password")
    hidden = lab.topic("Feedback")
    hidden.is_public = False
    hidden.save()
    page = _suggest(client, q=WORD, topic=hidden.pk)
    assert f"topic={hidden.pk}" not in page
    assert f"Reset your {WORD} password" in _titles(page)


def test_markup_in_what_was_typed_is_shown_as_text(client, article):
    article(f"Reset your {WORD} password", body=f"The {WORD} onerror trick and {XSS} in the body.")
    page = _suggest(client, q=f"{XSS} {WORD}", subject=XSS)
    assert XSS not in page
    assert "onerror=alert" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", "")


@pytest.mark.parametrize("query", ['"', "'", "a & | ! b", "foo:*", "((", "<->", "\\", "x" * 5000])
def test_junk_typed_never_errors(client, article, query):
    article(f"Reset your {WORD} password")
    _suggest(client, q=query)
    _suggest(client, subject=query, body=query)


# -- opened from the form -------------------------------------------------------------------------


@pytest.fixture
def from_form(lab, article):
    """An article as a suggestion opens it: from the ticket form, with the chosen topic."""
    shown = article(f"Reset your {WORD} password", topics=["Password Reset"])
    topic = lab.topic("Password Reset").pk
    url = reverse("portal:help_article", args=[shown.slug]) + f"?from=ticket&topic={topic}"
    return shown, topic, url


def test_the_article_opened_from_the_form_asks_whether_it_solved_it(client, from_form):
    shown, topic, url = from_form
    page = client.get(url).content.decode()
    assert "Yes, this solved it" in page
    assert '<input type="hidden" name="from" value="ticket">' in page
    assert f'<input type="hidden" name="topic" value="{topic}">' in page
    assert f'href="{reverse("portal:open_ticket")}?topic={topic}"' in page
    assert ArticleDay.objects.get(article=shown).help_topic_id == topic


def test_yes_this_solved_it_counts_a_deflection_and_opens_no_ticket(client, from_form):
    shown, topic, url = from_form
    client.get(url)
    tickets = Ticket.objects.count()
    response = client.post(
        reverse("portal:help_answer", args=[shown.slug]), {"answer": "yes", "from": "ticket", "topic": topic}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Glad it helped — no ticket was opened" in page
    assert f'href="{reverse("portal:home")}"' in page
    assert Ticket.objects.count() == tickets
    shown.refresh_from_db()
    assert shown.deflection_count == 1
    assert (shown.helpful_count, shown.not_helpful_count) == (0, 0)
    assert ArticleDay.objects.get(article=shown, help_topic_id=topic).deflections == 1


def test_a_deflection_counts_once_per_browser_session(client, browser, from_form):
    shown, topic, _ = from_form
    url = reverse("portal:help_answer", args=[shown.slug])
    data = {"answer": "yes", "from": "ticket", "topic": topic}
    assert "Glad it helped" in client.post(url, data).content.decode()
    assert "Glad it helped" in client.post(url, data).content.decode()
    shown.refresh_from_db()
    assert shown.deflection_count == 1
    browser().post(url, data)
    shown.refresh_from_db()
    assert shown.deflection_count == 2


def test_no_goes_back_to_the_form_with_the_topic_chosen(client, from_form):
    shown, topic, _ = from_form
    response = client.post(
        reverse("portal:help_answer", args=[shown.slug]), {"answer": "no", "from": "ticket", "topic": topic}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('portal:open_ticket')}?topic={topic}"
    page = client.get(response["Location"]).content.decode()
    assert f'<option value="{topic}" selected>' in page
    shown.refresh_from_db()
    assert (shown.deflection_count, shown.not_helpful_count) == (0, 1)
    assert Ticket.objects.count() == 0


def test_no_without_a_topic_goes_back_on_the_articles_topic(client, from_form):
    shown, topic, _ = from_form
    url = reverse("portal:help_answer", args=[shown.slug])
    response = client.post(url, {"answer": "no", "from": "ticket"})
    assert response["Location"] == f"{reverse('portal:open_ticket')}?topic={topic}"
