"""A small SMTP server on loopback that records what it accepts, for the multi-node test.

It can be told to stall the next DATA command (before the message is sent, so before it is
accepted), which holds a Celery worker in the middle of a mail task until the test kills it.
"""

from __future__ import annotations

import email
import re
import socketserver
import threading
import time
from dataclasses import dataclass, field

# A stalled session gives up by itself after this long, so a test that fails never hangs.
STALL_SECONDS = 90


@dataclass
class Received:
    message_id: str
    to: list[str]
    subject: str


@dataclass
class SinkState:
    messages: list[Received] = field(default_factory=list)
    # The recipient whose next message is stalled at DATA (once), or "" for none.
    stall_for: str = ""
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_stall(self, recipients: list[str]) -> bool:
        """True once, for the first message to ``stall_for`` after it was set."""
        with self.lock:
            if self.stall_for and self.stall_for in recipients:
                self.stall_for = ""
                return True
            return False

    def record(self, raw: bytes, recipients: list[str]) -> None:
        parsed = email.message_from_bytes(raw)
        with self.lock:
            message_id, subject = str(parsed.get("Message-ID", "")).strip(), str(parsed.get("Subject", ""))
            self.messages.append(Received(message_id, recipients, subject))

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [message for message in self.messages if address in message.to]

    def message_ids(self) -> list[str]:
        with self.lock:
            return [message.message_id for message in self.messages]


def _address(command: str) -> str:
    """The address of ``RCPT TO:<a@b> [params]``."""
    found = re.search(r"<([^>]*)>", command)
    return (found.group(1) if found else command.split(":", 1)[-1].strip()).lower()


class _Session(socketserver.StreamRequestHandler):
    state: SinkState

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        state = self.server.state  # type: ignore[attr-defined]
        recipients: list[str] = []
        self.reply("220 sink.test ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-sink.test")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 sink.test")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(_address(line.decode(errors="replace")))
                self.reply("250 OK")
            elif verb == "DATA":
                if state.take_stall(recipients):
                    state.stalled.set()
                    # Hold the client here; it is killed meanwhile, or the test lets it go.
                    state.release.wait(STALL_SECONDS)
                    return  # drop the connection: nothing was accepted
                self.reply("354 go ahead")
                raw = bytearray()
                while True:
                    chunk = self.rfile.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    raw += chunk[1:] if chunk.startswith(b"..") else chunk
                state.record(bytes(raw), recipients)
                self.reply("250 accepted")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # RSET, NOOP and the rest
                self.reply("250 OK")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink:
    def __init__(self) -> None:
        self.state = SinkState()
        self.server = _Server(("127.0.0.1", 0), _Session)
        self.server.state = self.state  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="smtp-sink", daemon=True)

    def start(self) -> SmtpSink:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.state.release.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, address: str, count: int, seconds: float) -> list[Received]:
        """The messages to ``address``, once there are ``count`` of them or time is up."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.state.to(address)) < count:
            time.sleep(0.2)
        return self.state.to(address)
