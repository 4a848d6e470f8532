# ruff: noqa: S310
# S310: requests go to our own HAProxy on loopback only.
"""A browser without a browser: a cookie jar, the forms of a page (CSRF token included) and
a log line per request naming the node that served it, for the multi-node test."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any


@dataclass
class Answer:
    status: int
    url: str
    headers: Any
    body: str

    @property
    def node(self) -> str:
        """The web node that answered: the application's own header, else HAProxy's."""
        return self.headers.get("X-Served-By") or "?"

    def json(self) -> Any:
        return json.loads(self.body)


class _Forms(HTMLParser):
    """Every form of a page: its action and the values it would send as it stands."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            if kind not in {"submit", "button", "file"}:
                fields[name] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, "")
        elif tag == "option" and self._select:
            if "selected" in a:
                fields[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea] += data


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # each hop is followed (and logged) by Browser


class Browser:
    def __init__(self, base: str, who: str) -> None:
        self.base = base
        self.who = who
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects()
        )
        self.nodes: Counter[str] = Counter()

    def _one(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> Answer:
        request = urllib.request.Request(urllib.parse.urljoin(self.base, url), data, headers, method=method)
        try:
            with self.opener.open(request, timeout=30) as response:
                answer = Answer(response.status, request.full_url, response.headers, response.read().decode())
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")
            answer = Answer(error.code, request.full_url, error.headers, body)
        self.nodes[answer.node] += 1
        path = urllib.parse.urlsplit(request.full_url).path
        print(f"{self.who}: {method} {path} -> {answer.status} via {answer.node}", flush=True)
        return answer

    def request(
        self, method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        answer = self._one(method, url, data, headers or {})
        for _ in range(10):
            if answer.status not in {301, 302, 303, 307, 308}:
                break
            answer = self._one("GET", urllib.parse.urljoin(answer.url, answer.headers["Location"]), None, {})
        return answer

    def get(self, url: str) -> Answer:
        return self.request("GET", url)

    def csrf_token(self) -> str:
        return next((cookie.value for cookie in self.jar if cookie.name == "csrftoken"), "") or ""

    def submit(self, page: str, action: str, fields: dict[str, str] | None = None) -> Answer:
        """Open ``page``, fill the form whose action contains ``action`` and send it."""
        answer = self.get(page)
        assert answer.status == 200, f"{page}: {answer.status}"
        parser = _Forms()
        parser.feed(answer.body)
        # A form without an action posts to its own page.
        targets = [urllib.parse.urljoin(answer.url, form["action"] or answer.url) for form in parser.forms]
        matching = [i for i, target in enumerate(targets) if action in urllib.parse.urlsplit(target).path]
        assert matching, f"no form posting to {action!r} on {page}: {targets}"
        form, target = parser.forms[matching[0]], targets[matching[0]]
        values = {**form["fields"], **(fields or {})}
        return self.request(
            "POST", target, urllib.parse.urlencode(values).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": answer.url},
        )  # fmt: skip
