"""Search and suggestions: text stays text, no input is an error, titles rank first, and the
number of queries does not grow with the number of articles. Run on SQLite and PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.kb import search as engine
from tickets.kb import selectors as kb

pytestmark = pytest.mark.django_db

HOSTILE = [
    '"',
    '"unbalanced quote',
    "printer & driver",
    "printer | driver",
    "!printer",
    "print:*",
    "(printer",
    "printer)",
    "'",
    "a' | 'b",
    "<->",
    "printer <-> driver",
    "-",
    "or",
    "\\",
    "%_",
    "printer\x00",
    "::",
    "*",
    "",
    "   ",
    "ü printer 打印机",
]


@pytest.fixture
def printer(make_article):
    return make_article(
        "Printer driver",
        "Install the printer driver from the <script>alert(1)</script> portal, then restart the printer.",
        topics=["Personal Computer Issues"],
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_no_input_is_an_error(printer, text, lab):
    kb.search(text)
    kb.search(text, audience="agents", topic_id=lab.topic("Personal Computer Issues").pk)
    kb.suggest(text, None)
    kb.suggest(text, lab.topic("Personal Computer Issues").pk)


def test_operators_are_read_as_a_web_search_reads_them(printer):
    for text in ('"printer driver"', "printer & driver", "printer | driver", "(printer", '"printer'):
        assert [hit.article for hit in kb.search(text)] == [printer], text


def test_markup_in_a_body_is_text_in_its_page_and_its_snippet(printer):
    assert "<script>" not in printer.body_html
    assert "&lt;script&gt;" in printer.body_html
    (hit,) = kb.search("portal")
    assert "<script>" not in hit.snippet_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hit.snippet_html
    assert "<mark>portal</mark>" in hit.snippet_html


def test_a_snippet_has_no_tag_but_mark(make_article):
    make_article(
        "Markup",
        'Click <a href="javascript:alert(1)" onclick="x()">here</a> <img src=x onerror=alert(1)> '
        "and then the <b>restart</b> button. \ue000Private\ue001 markers stay text.",
    )
    for hits in (kb.search("restart"), kb.suggest("restart", None)):
        (hit,) = hits
        without_marks = hit.snippet_html.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in without_marks and ">" not in without_marks
        assert "&lt;img src=x onerror=alert(1)&gt;" in hit.snippet_html
        assert "<mark>Private</mark>" not in hit.snippet_html


def test_markup_in_a_query_is_not_markup_in_a_snippet(printer):
    for text in ("<mark>printer</mark>", "printer <script>", "<b>driver</b>"):
        for hit in kb.search(text) + kb.suggest(text, None):
            assert hit.snippet_html.count("<mark>") == hit.snippet_html.count("</mark>")
            assert "<script" not in hit.snippet_html and "<b>" not in hit.snippet_html


def test_a_title_match_ranks_first(make_article):
    body_only = make_article("Aardvark guide", "Mentions the keyboard once among many other words here.")
    titled = make_article("Keyboard not typing", "What to do when keys do nothing.")
    assert [hit.article for hit in kb.search("keyboard")] == [titled, body_only]
    assert [hit.article for hit in kb.suggest("keyboard", None)] == [titled, body_only]


def test_a_search_needs_every_word_a_suggestion_any(printer, make_article):
    other = make_article("Toner", "Replace the toner cartridge.")
    assert [hit.article for hit in kb.search("printer toner")] == []
    assert {hit.article for hit in kb.suggest("printer toner", None)} == {printer, other}


def test_a_suggestion_reads_the_last_word_as_being_typed(printer, lab):
    assert [hit.article for hit in kb.suggest("my print", None)] == [printer]
    assert kb.suggest("passw", None)[0].article == kb.article_for_portal("reset-your-password")


def test_karen_typing_password_is_offered_reset_your_password(lab):
    for topic in (None, lab.topic("General Inquiry").pk, lab.topic("Password Reset").pk):
        hits = kb.suggest("password", topic)
        assert hits[0].article.title == "Reset your password", topic


def test_suggestions_put_the_topic_family_first_and_stop_at_five(make_article, lab):
    made = [make_article(f"Wifi tip {n}", "wifi wifi wifi") for n in range(6)]
    outage = make_article("Wifi down", "wifi", topics=["Report a Problem / Business Critical Outage"])
    parent = make_article("Problems with wifi", "wifi", topics=["Report a Problem"])
    for topic in ("Report a Problem", "Report a Problem / Business Critical Outage"):
        hits = [hit.article for hit in kb.suggest("wifi", lab.topic(topic).pk)]
        assert len(hits) == 5
        assert set(hits[:2]) == {outage, parent}, topic
        assert set(hits[2:]) <= set(made)
    assert len(kb.suggest("wifi", None, limit=50)) == 5


def test_nothing_typed_gives_the_topic_familys_articles(make_article, lab):
    child = make_article("Outage steps", topics=["Report a Problem / Business Critical Outage"])
    parent = make_article("Problem steps", topics=["Report a Problem"])
    make_article("Elsewhere", topics=["Feedback"])
    outage = lab.topic("Report a Problem / Business Critical Outage").pk
    shown = {hit.article.title for hit in kb.suggest("", outage)}
    assert shown == {child.title, parent.title, "Online banking is down: what to do"}
    assert kb.suggest("", None) == []


def test_a_search_in_a_topic_takes_its_sub_topics(make_article, lab):
    child = make_article("Modem lights", "modem", topics=["Report a Problem / Access Issue"])
    make_article("Modem shop", "modem", topics=["Equipment Request"])
    assert [h.article for h in kb.search("modem", topic_id=lab.topic("Report a Problem").pk)] == [child]


def test_topics_with_articles_nest_as_the_topics_do(make_article, lab):
    child = make_article("Outage steps", topics=["Report a Problem / Business Critical Outage"])
    listed = kb.topics_with_articles()
    names = [topic.full_name for topic, _ in listed]
    problem = names.index("Report a Problem")
    assert names[problem + 1 : problem + 3] == [
        "Report a Problem / Access Issue",
        "Report a Problem / Business Critical Outage",
    ]
    articles = dict(listed)
    assert articles[lab.topic("Report a Problem")] == []
    assert child in articles[lab.topic("Report a Problem / Business Critical Outage")]
    assert "General Inquiry" not in names  # no article of its own or below it


def test_the_sqlite_snippet_marks_words_not_entities():
    html = engine.snippet("Tom & Jerry: amp up the amp <amp>", ["amp"])
    assert html == "Tom &amp; Jerry: <mark>amp</mark> up the <mark>amp</mark> &lt;<mark>amp</mark>&gt;"


def _queries(run):
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured)


@pytest.mark.parametrize(
    "run",
    [
        lambda topic: kb.search("guide"),
        lambda topic: kb.search("guide", audience="agents", topic_id=topic),
        lambda topic: kb.suggest("guide", topic),
        lambda topic: kb.suggest("", topic),
        lambda topic: [a.title for _, articles in kb.topics_with_articles() for a in articles],
    ],
    ids=["search", "search-in-topic", "suggest", "suggest-topic", "topics"],
)
def test_queries_do_not_grow_with_the_articles(run, make_article, lab):
    """The word is in the bodies only: a search asks for the titles, then the bodies (the most
    it ever does)."""
    topic = lab.topic("Report a Problem").pk
    names = ["Report a Problem", "Report a Problem / Access Issue", "Feedback"]
    for n in range(3):
        make_article(f"Article {n}", "A guide.", topics=names)
    run(topic)  # the catalog into the cache
    few = _queries(lambda: run(topic))
    for n in range(3, 30):
        make_article(f"Article {n}", "A guide.", topics=names)
    assert len(kb.search("guide", limit=50)) == 30
    assert _queries(lambda: run(topic)) == few <= 2


def test_a_search_that_the_titles_answer_asks_once(make_article):
    for n in range(6):
        make_article(f"Guide {n}", "A guide.")
    assert _queries(lambda: kb.suggest("guide", None)) == 1
    assert _queries(lambda: kb.search("guide", limit=5)) == 1
