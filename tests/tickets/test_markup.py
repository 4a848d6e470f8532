"""Markdown from requesters and agents: raw HTML shows as text, links cannot run scripts, and no
text, however long or odd, takes long to render."""

import importlib
import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.utils.safestring import SafeString

from agents.forms import ComposerForm
from portal.forms import OpenTicketForm, ReplyForm
from tickets.mailin import store
from tickets.markup import MARKDOWN_MAX_CHARS, for_mail, plain_text, render_markdown
from tickets.models import ThreadEntry

# What the page may receive; kept here, not imported, so a widened allow-list shows up as a failure.
SAFE_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
SAFE_ATTRIBUTES = {"a": {"href", "title", "rel"}, "th": {"align"}, "td": {"align"}}
REL = re.compile(r'\brel="([^"]*)"')


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """The tags a browser would build, with their attributes."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def tags(html: str) -> set[str]:
    return {tag for tag, _ in elements(html)}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("hello <svg onload=alert(1)>", "&lt;svg onload=alert(1)&gt;"),
        ('<iframe src="https://evil.example"></iframe>', "&lt;iframe src="),
        ('<form action="https://evil.example"><input name=pw></form>', "&lt;form action="),
        ("<a href=javascript:alert(1)>click</a>", "&lt;a href=javascript:alert(1)&gt;click&lt;/a&gt;"),
        ("<div>\n<script>alert(1)</script>\n</div>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<!-- hidden --> visible", "&lt;!-- hidden --&gt; visible"),
    ],
)
def test_raw_html_is_shown_as_the_text_that_was_typed(text, shown):
    html = render_markdown(text)
    assert shown in html
    assert tags(html) <= {"p", "br"}


@pytest.mark.parametrize("tag", ["img", "script", "svg", "iframe", "form", "input", "div"])
def test_no_html_tag_typed_by_a_writer_reaches_the_page(tag):
    html = render_markdown(f"before <{tag} onload=alert(1) src=x></{tag}> after\n\n<{tag}>\n\n</{tag}>")
    assert tag not in tags(html)
    assert f"&lt;{tag}" in html


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x]( javascript:alert(1))",
        "[x](<javascript:alert(1)>)",
        "[x](java&#09;script:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](javascript&colon;alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
    ],
)
def test_a_link_to_a_script_scheme_keeps_its_text_but_loses_its_target(text):
    html = render_markdown(text)
    assert "href" not in html
    assert "javascript" not in html.lower().replace("&#09;", "")
    assert ">x</a>" in html


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("[bank](https://bank.example/status?x=1&y=2)", "https://bank.example/status?x=1&amp;y=2"),
        ("[bank](http://bank.example/)", "http://bank.example/"),
        ("[mail us](mailto:help@bank.example)", "mailto:help@bank.example"),
        ("<https://bank.example/status>", "https://bank.example/status"),
        ("[ref link][r]\n\n[r]: https://bank.example/r", "https://bank.example/r"),
    ],
)
def test_web_and_mail_links_keep_their_target_and_tell_browsers_not_to_follow_or_open(text, href):
    html = render_markdown(text)
    assert f'href="{href}"' in html
    [rel] = REL.findall(html)
    assert {"nofollow", "noopener"} <= set(rel.split())


@pytest.mark.parametrize(
    "text",
    [
        '[x](https://bank.example "t" onmouseover="alert(1)")',
        '[x](https://bank.example "t\\" onmouseover=alert(1) x=\\"")',
        '[x](https://bank.example/"onmouseover="alert(1))',
        '<https://bank.example/"onmouseover="alert(1)>',
    ],
)
def test_a_link_cannot_smuggle_an_event_handler_attribute(text):
    found = elements(render_markdown(text))
    # CommonMark reads a title followed by more text as no link at all: then it is all text.
    links = [attrs for tag, attrs in found if tag == "a"]
    assert len(links) <= 1
    for link in links:
        assert set(link) <= {"href", "title", "rel"}
        assert (link.get("href") or "").startswith("https://bank.example")
    assert not [name for _, attrs in found for name in attrs if name.startswith("on")]
    assert "onmouseover" in render_markdown(text)  # still shown, as text


@pytest.mark.parametrize(
    "text",
    [
        "![tracker](https://tracker.example/x.png)",
        '![tracker](https://tracker.example/x.png "title")',
        "![tracker][t]\n\n[t]: https://tracker.example/x.png",
        "![tracker]\n\n[tracker]: https://tracker.example/x.png",
    ],
)
def test_an_image_in_markdown_loads_nothing_when_the_ticket_is_read(text):
    html = render_markdown(text)
    assert "<img" not in html
    assert "src=" not in html


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*soft* and **loud**", ["<em>soft</em>", "<strong>loud</strong>"]),
        ("- one\n- two", ["<ul>", "<li>one</li>", "<li>two</li>"]),
        ("1. first\n2. second", ["<ol>", "<li>first</li>", "<li>second</li>"]),
        ("Use `ping <host>` now", ["<code>ping &lt;host&gt;</code>"]),
        ("```\nif a < b:\n    print('<b>')\n```", ["<pre><code>", "if a &lt; b:", "print('&lt;b&gt;')"]),
        ("    indented <i>code</i>", ["<pre><code>indented &lt;i&gt;code&lt;/i&gt;"]),
        ("> quoted", ["<blockquote>", "quoted"]),
        ("## Steps", ["<h2>Steps</h2>"]),
        ("line one\nline two", ["line one<br>", "line two"]),
        ("| a | b |\n|---|---|\n| c | d |", ["<table>", "<th>a</th>", "<td>d</td>"]),
    ],
)
def test_ordinary_markdown_still_renders(text, expected):
    html = render_markdown(text)
    for fragment in expected:
        assert fragment in html


def test_the_result_is_marked_safe_for_templates_and_empty_text_gives_nothing():
    assert isinstance(render_markdown("*hi*"), SafeString)
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


def test_table_column_alignment_survives():
    html = render_markdown("| a | b |\n|:-:|--:|\n| c | d |")
    assert 'align="center"' in html and 'align="right"' in html


def test_a_hostile_mixture_produces_only_allow_listed_tags_and_attributes():
    text = (
        "# Title <img src=x onerror=alert(1)>\n\n"
        "*a* [b](javascript:alert(1)) ![c](https://tracker.example/c.png)\n\n"
        "<style>body{display:none}</style>\n\n"
        "| h <b onclick=x> |\n|---|\n| [d](data:text/html,x) |\n\n"
        "```html\n<script>alert(1)</script>\n```\n\n"
        '<a href="https://evil.example" onclick="alert(1)">e</a>\n'
    )
    found = elements(render_markdown(text))
    assert {"h1", "em", "a", "table", "pre"} <= {tag for tag, _ in found}
    for tag, attrs in found:
        assert tag in SAFE_TAGS
        assert set(attrs) <= SAFE_ATTRIBUTES.get(tag, set()), (tag, attrs)
        assert not (attrs.get("href") or "").lower().startswith(("javascript:", "data:"))


# -- what it costs ----------------------------------------------------------------------------------
# Each channel's longest text: the portal's forms, the console's composer, a mail body (cut at
# MAX_BODY_CHARS, plus the note saying so), and fields with no limit of their own (an agent's
# resolution message, a phone ticket), which only the request size bounds.
CHANNEL_MAXIMA = {
    "markdown limit": MARKDOWN_MAX_CHARS,
    "portal": max(ReplyForm.base_fields["body"].max_length, OpenTicketForm.base_fields["body"].max_length),
    "console": ComposerForm.base_fields["body"].max_length,
    "e-mail": store.MAX_BODY_CHARS + 100,
    "no form limit": 1_000_000,
}


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


def _backtick_runs(n: int) -> str:
    runs, size, i = [], 0, 1
    while size < n:
        runs.append("e" + "`" * i)
        size, i = size + i + 1, i + 1
    return "".join(runs)[:n]


def _nested(opener: str, middle: str, closer: str) -> Callable[[int], str]:
    return lambda n: opener * (k := (n - len(middle)) // (len(opener) + len(closer))) + middle + closer * k


def _nested_lists(n: int) -> str:
    lines, size, depth = [], 0, 0
    while size < n:
        lines.append("  " * depth + "* a\n")
        size, depth = size + len(lines[-1]), depth + 1
    return "".join(lines)[:n]


# The inputs that make Markdown parsers backtrack (cmark's pathological tests, and what took
# Python-Markdown 12 s for 10,000 "[" and more than a minute for 100,000).
PATHOLOGICAL = {
    "link openers [": _repeat("["),
    "link openers [a](": _repeat("[a]("),
    "link openers [a": _repeat("[a"),
    "unclosed links [a](b": _repeat("[a](b"),
    "link in image [![": _repeat("[!["),
    "nested brackets": _nested("[", "a", "]"),
    "emphasis _a": _repeat("_a"),
    "nested emphasis": _nested("*a **a ", "b", " a** a*"),
    "mismatched emphasis *a_": _repeat("*a_ "),
    "backtick runs": _backtick_runs,
    "backticks `a": _repeat("`a"),
    "angle brackets <": _repeat("<"),
    "unclosed comments": _repeat("<!--"),
    "block quotes": _repeat("> "),
    "nested lists": _nested_lists,
    "line breaks": _repeat("[\n"),
    "table rows": lambda n: "| a | b |\n|---|---|\n" + _repeat("| [c | *d |\n")(n - 20),
    "table columns": lambda n: _repeat("|a")(n // 2) + "\n" + _repeat("|-")(n // 2 - 1),
}


@pytest.mark.parametrize("make", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_no_text_a_channel_accepts_takes_long_to_render(make):
    for channel, length in CHANNEL_MAXIMA.items():
        text = make(length)
        # CPU time, not wall time: other work on the machine does not count against the text.
        # The bound is generous; what it catches is a render that grows faster than the text.
        started = time.process_time()
        html = render_markdown(text)
        took = time.process_time() - started
        assert took < 1.0, f"{channel}: {len(text):,} characters took {took:.1f} s"
        assert html


def test_text_past_the_limit_is_shown_as_typed_and_preformatted():
    text = (
        "# Not a heading\n<script>alert(1)</script>  [x](javascript:alert(1))\n\n" + "a " * MARKDOWN_MAX_CHARS
    )
    html = render_markdown(text)
    assert html.startswith(
        '<pre class="plain-text"># Not a heading\n&lt;script&gt;alert(1)&lt;/script&gt;  [x]'
    )
    assert [tag for tag, _ in elements(html)] == ["pre"]
    assert isinstance(html, SafeString)


def test_the_limit_is_where_markdown_stops():
    assert render_markdown("*a*" + " " * (MARKDOWN_MAX_CHARS - 3)).startswith("<p><em>a</em></p>")
    assert render_markdown("*a*" + " " * (MARKDOWN_MAX_CHARS - 2)).startswith('<pre class="plain-text">*a*')


def test_plain_text_wraps_in_mail_too_where_style_sheets_do_not_reach():
    mailed = for_mail(plain_text("a <b> line\nand another"))
    assert mailed.startswith('<pre class="plain-text" style="white-space:pre-wrap;')
    assert mailed.endswith(">a &lt;b&gt; line\nand another</pre>")
    assert for_mail(render_markdown("*a*")) == render_markdown("*a*")


# -- rendered once, when saved ---------------------------------------------------------------------


def test_an_entry_keeps_its_html_from_when_it_was_saved(new_ticket):
    ticket = new_ticket(body="*Nothing* works <img src=x onerror=alert(1)>")
    message = ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    assert message.body_html == render_markdown(message.body)
    assert "<em>Nothing</em> works &lt;img" in message.html
    message.body = "**Edited**"
    message.save(update_fields=["body"])
    message.refresh_from_db()
    assert message.body_html == "<p><strong>Edited</strong></p>\n"


def test_an_entry_without_stored_html_shows_its_body_as_plain_text(new_ticket):
    new_ticket(body="*raw* <b>")
    ThreadEntry.objects.update(body_html="")  # as rows put in by SQL (the bench's seed) are
    message = ThreadEntry.objects.get(kind=ThreadEntry.Kind.MESSAGE)
    assert message.html == '<pre class="plain-text">*raw* &lt;b&gt;</pre>'


def test_the_migration_renders_the_entries_saved_before_it(new_ticket, monkeypatch):
    migration = importlib.import_module("tickets.migrations.0010_fill_body_html")
    monkeypatch.setattr(migration, "BATCH", 2)
    for body in ("*one*", "two [x](javascript:alert(1))", "[" * (MARKDOWN_MAX_CHARS + 1)):
        new_ticket(body=body)
    expected = {entry.pk: entry.body_html for entry in ThreadEntry.objects.all()}
    assert len(expected) > 4 and all(expected.values())
    ThreadEntry.objects.update(body_html="")
    migration.fill_body_html(django_apps, SimpleNamespace(connection=connection))
    assert dict(ThreadEntry.objects.values_list("pk", "body_html")) == expected
