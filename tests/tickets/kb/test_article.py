"""An article's stored HTML and its slug."""

import pytest
from django.core.exceptions import ValidationError

from tickets.models import Article

pytestmark = pytest.mark.django_db


def test_the_body_is_stored_sanitized_and_follows_an_edit():
    body = "[x](javascript:alert(1)) <img src=x onerror=alert(1)> *y*"
    article = Article.objects.create(title="T", body=body)
    assert "javascript" not in article.body_html and "<img" not in article.body_html
    assert "&lt;img src=x onerror=alert(1)&gt;" in article.body_html and "<em>y</em>" in article.body_html
    article.body = "**bold**"
    article.save(update_fields=["body"])
    article.refresh_from_db()
    assert article.body_html == "<p><strong>bold</strong></p>\n"
    assert article.html == article.body_html


def test_a_slug_comes_from_the_title_and_stays_unique():
    first = Article.objects.create(title="Reset your VPN!", body="a")
    second = Article.objects.create(title="Reset your VPN?", body="b")
    third = Article.objects.create(title="Reset your VPN", body="c")
    assert [first.slug, second.slug, third.slug] == ["reset-your-vpn", "reset-your-vpn-2", "reset-your-vpn-3"]
    assert Article.objects.create(title="!!!", body="d").slug == "article"
    kept = Article.objects.create(title="Other", slug="chosen", body="e")
    kept.title = "Renamed"
    kept.save()
    assert kept.slug == "chosen"


@pytest.mark.parametrize("title", ["Search", "Suggest"])
def test_a_title_whose_slug_names_a_help_page_gets_another(db, title):
    """/help/search/ and /help/suggest/ are pages of their own: no article may take them."""
    article = Article.objects.create(title=title, body="Text.")
    assert article.slug == f"{title.lower()}-2"


def test_the_admin_refuses_a_reserved_slug(db):
    with pytest.raises(ValidationError) as refused:
        Article(title="Finding things", slug="search", body="Text.").full_clean()
    assert "slug" in refused.value.message_dict
