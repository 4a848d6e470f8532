"""The admin of webhooks: the pages load, the form checks the URL against private networks and
edits the events as checkboxes; ping, switch on again, and send again."""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from tests.tickets.webhook_receiver import make_hook, running_receiver
from tickets.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

ADD = reverse("admin:tickets_webhook_add")
HOOKS = reverse("admin:tickets_webhook_changelist")
DELIVERIES = reverse("admin:tickets_webhookdelivery_changelist")


@pytest.fixture
def public_dns(monkeypatch):
    """Every name resolves to a public address (no DNS is asked)."""

    def getaddrinfo(host, port, *args, **kwargs):
        address = host if host[0].isdigit() or ":" in host else "93.184.216.34"
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _form(admin_user, **fields):
    data = {
        "name": "CRM",
        "url": "https://crm.example.com/hooks/helpdesk",
        "events": ["ticket.created", "ticket.overdue"],
        "department": "",
        "secret": "a-shared-secret",
        "owner": admin_user.pk,
        "is_active": "on",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def test_the_pages_load(admin_client, admin_user):
    hook = make_hook(admin_user, "https://crm.example.com/in", events=["ticket.created"])
    sent = WebhookDelivery.objects.create(
        webhook=hook, event="ticket.created", payload={"event": "ticket.created"}, error="<b>boom</b>"
    )
    assert admin_client.get(HOOKS).status_code == 200
    page = admin_client.get(reverse("admin:tickets_webhook_change", args=[hook.pk]))
    assert page.status_code == 200
    assert b"All deliveries of this webhook" in page.content and b"&lt;b&gt;boom" in page.content
    added = admin_client.get(ADD)
    assert added.status_code == 200 and b'type="checkbox" name="events"' in added.content
    assert admin_client.get(DELIVERIES).status_code == 200
    detail = admin_client.get(reverse("admin:tickets_webhookdelivery_change", args=[sent.pk]))
    assert detail.status_code == 200 and f"&quot;id&quot;: {sent.pk}".encode() in detail.content
    assert admin_client.get(reverse("admin:tickets_webhookdelivery_add")).status_code == 403


def test_a_hook_is_added_with_its_events(admin_client, admin_user, public_dns):
    answer = admin_client.post(ADD, _form(admin_user, events=["ticket.overdue", "ticket.created"]))
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    hook = Webhook.objects.get()
    assert hook.events == ["ticket.created", "ticket.overdue"]
    assert hook.url == "https://crm.example.com/hooks/helpdesk" and not hook.allow_private


def test_a_new_hook_gets_a_secret_and_its_owner_offered(admin_client, admin_user):
    form = admin_client.get(ADD).context["adminform"].form
    assert len(form.fields["secret"].initial) == 64
    assert form.initial["owner"] == admin_user.pk


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1:8000/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.1.2.3/hook", "private"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:192.168.0.1]/hook", "private"),
        ("ftp://crm.example.com/hook", "Only http and https"),
    ],
)
def test_a_private_url_is_refused(admin_client, admin_user, url, error):
    answer = admin_client.post(ADD, _form(admin_user, url=url))
    assert answer.status_code == 200
    assert error in str(answer.context["adminform"].form.errors["url"])
    assert not Webhook.objects.exists()


def test_a_name_resolving_to_a_private_address_is_refused(admin_client, admin_user, monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("192.168.1.20", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answer = admin_client.post(ADD, _form(admin_user, url="https://intranet.example.com/"))
    assert "resolves to 192.168.1.20" in str(answer.context["adminform"].form.errors["url"])


def test_a_private_url_is_accepted_when_allowed(admin_client, admin_user):
    answer = admin_client.post(ADD, _form(admin_user, url="http://127.0.0.1:9/hook", allow_private="on"))
    assert answer.status_code == 302
    assert Webhook.objects.get().allow_private


def test_some_event_is_required(admin_client, admin_user, public_dns):
    answer = admin_client.post(ADD, _form(admin_user, events=None))
    assert "events" in answer.context["adminform"].form.errors


def test_ping_switch_on_and_send_again(
    admin_client, admin_user, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 5

    def post(url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return admin_client.post(url, data)

    with running_receiver() as receiver:
        hook = make_hook(admin_user, receiver.url)
        Webhook.objects.filter(pk=hook.pk).update(
            is_active=False, consecutive_failures=15, disabled_at="2026-01-01T00:00Z", disabled_reason="x"
        )
        assert post(HOOKS, {"action": "send_ping", "_selected_action": [hook.pk]}).status_code == 302
        assert receiver.events == ["ping"]  # a ping goes even to a hook switched off
        ping = WebhookDelivery.objects.get()
        assert ping.status == WebhookDelivery.Status.DELIVERED

        post(HOOKS, {"action": "switch_on", "_selected_action": [hook.pk]})
        hook.refresh_from_db()
        assert hook.is_active and hook.consecutive_failures == 0
        assert hook.disabled_at is None and hook.disabled_reason == ""

        post(DELIVERIES, {"action": "send_again", "_selected_action": [ping.pk]})
        assert receiver.events == ["ping", "ping"]
        assert receiver.received[1].json["id"] == ping.pk
