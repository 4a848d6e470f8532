"""Markdown written by requesters and agents, turned into HTML that is safe to show.

Raw HTML in the text is shown as text, as the writer typed it (the parser's HTML pass-through
is switched off). The output still goes through nh3 with a short allow-list, so nothing a
Markdown construct produces can carry a script: links only to http, https and mailto.
Remote images are left out on purpose: they would tell a third party when a ticket is read.

Rendering is bounded: the parser (markdown-it-py, a CommonMark port) is linear on the inputs
that make backtracking parsers explode (runs of ``[``, ``[a](``, emphasis, backticks), but its
constant is large, so text longer than ``MARKDOWN_MAX_CHARS`` is not parsed at all: it is shown
escaped and preformatted. A thread entry is rendered once, when it is saved
(``ThreadEntry.body_html``); pages and mail show the stored HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import unquote

import nh3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

# Measured: the slowest inputs known (runs of "[" or "[![") take about 0.25 s of CPU at this
# length; anything longer reads better preformatted anyway (logs, pasted mail, stack traces).
MARKDOWN_MAX_CHARS = 10_000

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}

# What a browser ignores in a URL (so "java\tscript:" is "javascript:"), and a scheme before
# the first "/", "?" or "#".
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"([^/?#]*):")
_ALIGN = re.compile(r"text-align:(left|center|right)")


def _href_allowed(href: str) -> bool:
    url = _IGNORED_IN_URL.sub("", unquote(html.unescape(href))).lower()
    scheme = _SCHEME.match(url)
    return scheme is None or scheme.group(1) in URL_SCHEMES


def _walk(tokens: Iterable[Token]) -> Iterable[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def _links_and_alignment(state: StateCore) -> None:
    """A link to another scheme keeps its text and loses its target (the parser would
    otherwise show "[x](javascript:...)" as text); a table cell's alignment is an attribute,
    not a style, which the allow-list (and the Content-Security-Policy) would drop."""
    for token in _walk(state.tokens):
        if token.type == "link_open" and not _href_allowed(str(token.attrGet("href") or "")):
            del token.attrs["href"]
        elif token.type in ("th_open", "td_open") and "style" in token.attrs:
            align = _ALIGN.fullmatch(str(token.attrs.pop("style")))
            if align:
                token.attrs["align"] = align.group(1)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable("table")
    # An image becomes a plain link: nothing remote loads when a ticket is read.
    md.disable("image")
    # Every link is parsed, and its target judged after (above), so its text survives.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.core.ruler.push("links_and_alignment", _links_and_alignment)
    return md


_MARKDOWN = _parser()  # holds no state between renders


PLAIN_TEXT = '<pre class="plain-text">'
# Mail clients ignore style sheets (and pages may not have inline styles: the CSP).
PLAIN_TEXT_IN_MAIL = '<pre class="plain-text" style="white-space:pre-wrap;overflow-wrap:anywhere;margin:0;">'


def plain_text(text: str | None) -> SafeString:
    """The text as typed: escaped, its lines and spaces kept (the page wraps long lines)."""
    return format_html(PLAIN_TEXT + "{}</pre>", text or "")


def for_mail(html: SafeString) -> SafeString:
    """Stored HTML as an HTML mail shows it: plain text wraps there too."""
    if html.startswith(PLAIN_TEXT):
        return mark_safe(PLAIN_TEXT_IN_MAIL + html[len(PLAIN_TEXT) :])  # noqa: S308 - a tag of ours
    return html


def render_markdown(text: str | None) -> SafeString:
    """Sanitized HTML for what a person wrote; preformatted text past ``MARKDOWN_MAX_CHARS``."""
    if not text:
        return SafeString("")
    if len(text) > MARKDOWN_MAX_CHARS:
        return plain_text(text)
    clean = nh3.clean(
        _MARKDOWN.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - nh3 output, allow-listed above
