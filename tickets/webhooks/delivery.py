"""The HTTP POST of a delivery, behind a guard against server-side request forgery.

A hook's URL is resolved here, every address it resolves to is checked, and the connection is
made to a checked address, never to the name again: a name that resolves to a public address
for the check and to ``127.0.0.1`` for the connection (DNS rebinding) gets nowhere. Unless the
hook allows private addresses, any address that is not globally routable (loopback, private,
link-local such as the cloud metadata 169.254.169.254, multicast, reserved, unspecified, shared,
and IPv4 addresses wrapped in IPv6) refuses the whole URL. The name still goes in the Host
header and, over HTTPS, in the TLS SNI, and the certificate is checked against it. Redirects are
not followed: a 3xx is a failed try like any other answer outside 2xx.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

ERROR_LENGTH = 500
DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "HelpDesk-Webhooks/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The URL may not be delivered to (it is not http(s), or reaches a private network);
    trying again would not help. The message says why."""


class Failed(Exception):
    """This try failed (the name did not resolve, the connection failed or timed out);
    a later one may succeed."""


@dataclass(frozen=True)
class Target:
    """Where a URL is sent: the name it was given and the checked addresses it resolved to."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a public-looking IPv6 one leads to (6to4, Teredo, NAT64)."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def why_not_public(ip: IPAddress) -> str | None:
    """What kind of non-public address ``ip`` is, or None for a globally routable one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        reason = why_not_public(ip.ipv4_mapped)
        return f"{reason} (IPv4-mapped)" if reason else None
    for kind, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return kind
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return "site-local"
        embedded = _embedded_ipv4(ip)
        reason = why_not_public(embedded) if embedded is not None else None
        if reason:
            return f"{reason} (inside IPv6)"
    if not ip.is_global:
        return "non-public"
    return None


def _parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"The URL is not valid: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Refused("Only http and https URLs are delivered to.")
    if not parts.hostname:
        raise Refused("The URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise Refused("A URL with a user name or password is not delivered to; the signature authenticates.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, parts.hostname, port or DEFAULT_PORTS[scheme], path


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise Failed(f"{host} could not be resolved: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise Failed(f"{host} resolved to no address.")
    return list(dict.fromkeys(addresses))


def check(url: str, *, allow_private: bool) -> Target:
    """Parse and resolve ``url``; refuse it if it may not be delivered to.

    Raises ``Refused`` (never deliverable as it is) or ``Failed`` (the name did not resolve).
    """
    scheme, host, port, path = _parse(url)
    addresses = _resolve(host, port)
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        reason = why_not_public(ip)
        if reason and not allow_private:
            where = f"{host} is" if host == address else f"{host} resolves to {address},"
            raise Refused(f"{where} a {reason} address; the hook does not allow private addresses.")
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=tuple(addresses))


def _connect(target: Target, timeout: float) -> socket.socket:
    """A TCP connection to the first checked address that answers."""
    last: OSError | None = None
    for address in target.addresses:
        try:
            return socket.create_connection((address, target.port), timeout=timeout)
        except OSError as exc:
            last = exc
    raise Failed(f"Could not connect to {target.host}:{target.port}: {last}")


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address, with the URL's name in the Host header."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target

    def connect(self) -> None:
        self.sock = _connect(self.target, self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address; SNI and the certificate check use the name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self.target = target

    def connect(self) -> None:
        sock = _connect(self.target, self.timeout)
        try:
            self.sock = self._context.wrap_socket(sock, server_hostname=self.target.host)
        except BaseException:
            sock.close()
            raise


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    if connection.sock is not None:
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float | None = None) -> Response:
    """POST ``body`` to a checked target. Raises ``Failed`` when no answer came.

    Each network operation waits at most ``timeout`` (``WEBHOOK_TIMEOUT_SECONDS``), and the whole
    exchange is cut at twice that, so a receiver that answers a byte at a time cannot hold a
    worker for long.
    """
    if timeout is None:
        timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    cls = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    connection = cls(target, timeout)
    cut = threading.Event()
    watchdog = threading.Timer(2 * timeout, _cut, args=(connection, cut))
    watchdog.daemon = True
    started = time.monotonic()
    watchdog.start()
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Connection": "close",
                **headers,
            },
        )
        answer = connection.getresponse()
        # The answer's body is not used; a little is read so the receiver sees it taken.
        answer.read(1024)
        if cut.is_set():
            raise OSError("cut")
        return Response(answer.status, answer.reason, int((time.monotonic() - started) * 1000))
    except Failed:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        if cut.is_set():
            raise Failed(
                f"Cut off after {elapsed} ms: the answer took longer than {2 * timeout:g} s."
            ) from None
        kind = "Timed out" if isinstance(exc, TimeoutError) else "Failed"
        raise Failed(f"{kind} after {elapsed} ms: {exc.__class__.__name__}: {exc}") from None
    finally:
        watchdog.cancel()
        connection.close()
