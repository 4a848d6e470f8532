"""The guard against server-side request forgery: a hook's URL that reaches the help desk's own
network is refused before any connection is tried; the connection goes to the address checked."""

from __future__ import annotations

import socket

import pytest

from tests.factories import UserFactory
from tests.tickets.webhook_receiver import make_hook, running_receiver
from tickets.models import WebhookDelivery
from tickets.webhooks import delivery, signing, tasks


@pytest.fixture
def no_connection(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was tried: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def resolves_to(monkeypatch):
    """Make every name resolve to the given addresses (no DNS is asked); counts the lookups."""
    lookups: list[str] = []

    def fix(*addresses: str) -> list[str]:
        def getaddrinfo(host, port, *args, **kwargs):
            lookups.append(host)
            return [
                (
                    socket.AF_INET6 if ":" in address else socket.AF_INET,
                    socket.SOCK_STREAM,
                    socket.IPPROTO_TCP,
                    "",
                    (address, port, 0, 0) if ":" in address else (address, port),
                )
                for address in addresses
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return lookups

    return fix


PRIVATE_URLS = [
    "http://127.0.0.1/hook",
    "http://127.8.9.10:8000/hook",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0:8000/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://[::1]:8000/hook",
    "http://[fc00::1]/hook",
    "http://[fd12:3456::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://[2002:7f00:1::1]/hook",
    "https://localhost/hook",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_a_private_address_is_refused_before_any_connection(url, no_connection):
    with pytest.raises(delivery.Refused, match="does not allow private addresses"):
        delivery.check(url, allow_private=False)


def test_a_name_resolving_to_a_private_address_is_refused(no_connection, resolves_to):
    resolves_to("10.0.0.7")
    with pytest.raises(delivery.Refused, match=r"hooks\.example\.com resolves to 10\.0\.0\.7"):
        delivery.check("https://hooks.example.com/in", allow_private=False)


def test_a_name_resolving_to_public_and_private_addresses_is_refused(no_connection, resolves_to):
    resolves_to("93.184.216.34", "::1")
    with pytest.raises(delivery.Refused, match="::1, a loopback address"):
        delivery.check("https://hooks.example.com/in", allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/", "javascript:alert(1)", "//x/y"],
)
def test_only_http_and_https_are_delivered_to(url, no_connection):
    with pytest.raises(delivery.Refused, match="Only http and https"):
        delivery.check(url, allow_private=True)


def test_credentials_in_the_url_are_refused(no_connection):
    with pytest.raises(delivery.Refused, match="user name or password"):
        delivery.check("https://user:pass@example.com/", allow_private=True)


def test_allow_private_lets_a_private_address_through(no_connection):
    target = delivery.check("http://127.0.0.1:9/hook", allow_private=True)
    assert target.addresses == ("127.0.0.1",) and target.port == 9


def test_a_public_address_passes(no_connection, resolves_to):
    resolves_to("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    target = delivery.check("https://hooks.example.com/in?x=1", allow_private=False)
    assert target.host == "hooks.example.com"
    assert target.addresses == ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    assert (target.port, target.path) == (443, "/in?x=1")


@pytest.mark.django_db
def test_a_refused_delivery_fails_at_once_without_a_try(no_connection):
    hook = make_hook(UserFactory(), "http://169.254.169.254/latest/meta-data/", allow_private=False)
    sent = WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={"event": "x"})
    assert tasks.attempt(sent) is None  # no retry
    sent.refresh_from_db()
    assert sent.status == WebhookDelivery.Status.FAILED
    assert sent.attempts == 1 and sent.response_code is None
    assert sent.error.startswith("Refused: 169.254.169.254 is a link-local address")


@pytest.mark.django_db
def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(monkeypatch, resolves_to):
    """The name is resolved once; the connection is made to the address checked (a second
    answer from DNS, rebinding the name to 127.0.0.1, is never asked for), and the request
    still names the host. Here the 'public' address is led to a local receiver."""
    lookups = resolves_to("93.184.216.34")
    connected: list[tuple[str, int]] = []

    with running_receiver() as receiver:

        def create_connection(address, *args, **kwargs):
            connected.append(address)
            assert address == ("93.184.216.34", 8080)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(("127.0.0.1", receiver.port))
            return sock

        monkeypatch.setattr(socket, "create_connection", create_connection)
        hook = make_hook(UserFactory(), "http://hooks.example.com:8080/in", allow_private=False)
        sent = WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={"event": "x"})
        tasks.attempt(sent)

    sent.refresh_from_db()
    assert sent.status == WebhookDelivery.Status.DELIVERED, sent.error
    assert lookups == ["hooks.example.com"] and connected == [("93.184.216.34", 8080)]
    [request] = receiver.received
    assert request.headers["Host"] == "hooks.example.com:8080"
    assert request.path == "/in"
    assert signing.verify(hook.secret, request.headers["X-Signature"], request.body)


@pytest.mark.django_db
def test_a_redirect_is_not_followed(settings):
    with running_receiver() as receiver:
        receiver.status = 302
        hook = make_hook(UserFactory(), receiver.url)
        sent = WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={"event": "x"})
        tasks.attempt(sent)
    sent.refresh_from_db()
    assert len(receiver.received) == 1
    assert sent.status == WebhookDelivery.Status.RETRYING
    assert sent.response_code == 302 and "redirects are not followed" in sent.error


def test_https_connects_to_the_checked_address_and_checks_the_certificate_for_the_name(monkeypatch):
    """Over TLS the name goes in the SNI and the certificate is checked against it, while the
    TCP connection goes to the checked address."""
    target = delivery.Target("https", "hooks.example.com", 443, "/in", ("93.184.216.34",))
    connected, wrapped = [], []

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        return socket.socket()

    monkeypatch.setattr(socket, "create_connection", create_connection)
    connection = delivery.PinnedHTTPSConnection(target, timeout=1)
    context = connection._context
    assert context.check_hostname and context.verify_mode.name == "CERT_REQUIRED"

    def wrap_socket(sock, server_hostname=None, **kwargs):
        wrapped.append(server_hostname)
        return sock

    monkeypatch.setattr(context, "wrap_socket", wrap_socket)
    connection.connect()
    connection.close()
    assert connected == [("93.184.216.34", 443)] and wrapped == ["hooks.example.com"]


def test_the_delivery_task_is_registered_under_its_name():
    from helpdesk.celery import app

    app.loader.import_default_modules()
    assert "tickets.tasks.deliver_webhook" in app.tasks
    assert tasks.deliver.name == "tickets.tasks.deliver_webhook"
