import pytest

from tickets.models import Article


@pytest.fixture
def make_article(lab):
    """An article under the given topics (full names), published and public unless told."""

    def make(title, body="", *, topics=("General Inquiry",), **fields):
        fields.setdefault("status", Article.Status.PUBLISHED)
        fields.setdefault("audience", Article.Audience.PUBLIC)
        article = Article.objects.create(title=title, body=body or f"About {title.lower()}.", **fields)
        article.help_topics.set([lab.topic(name) for name in topics])
        return article

    return make
