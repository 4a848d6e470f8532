"""Markdown from requesters and agents: raw HTML shows as text, links cannot run scripts."""

import re
from html.parser import HTMLParser

import pytest
from django.utils.safestring import SafeString

from tickets.markup import render_markdown

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
    [link] = [attrs for tag, attrs in elements(render_markdown(text)) if tag == "a"]
    assert set(link) <= {"href", "title", "rel"}
    assert (link.get("href") or "").startswith("https://bank.example")


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
