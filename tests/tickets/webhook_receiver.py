"""A webhook receiver for the tests: an HTTP server on 127.0.0.1 in a thread that records what
it is sent and answers with the status it is told. Every socket has a timeout, so a test that
goes wrong waits seconds, not forever."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tickets.models import Webhook

TIMEOUT = 5


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = TIMEOUT

            def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/helpdesk?source=test"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True

    @property
    def events(self) -> list[str]:
        return [r.json["event"] for r in self.received]


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        receiver.thread.join(TIMEOUT)


def make_hook(owner: Any, url: str, **fields: Any) -> Webhook:
    fields.setdefault("events", list(Webhook.Event.values))
    fields.setdefault("allow_private", True)
    return Webhook.objects.create(
        name=fields.pop("name", "Test receiver"),
        url=url,
        secret=fields.pop("secret", "receiver-secret"),
        owner=owner,
        **fields,
    )
