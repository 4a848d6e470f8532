"""The API's callers: API clients with a key or a session, the keys of each scope, and a
ticket of Karen's in Support (John's department; Jane sees every ticket)."""

import pytest
from rest_framework.test import APIClient

from tickets import apikeys, services
from tickets.models import ApiKey, State


@pytest.fixture
def api():
    """An API client: with ``key`` (the key's text) as a Bearer key, else signed in as ``user``
    by its session, else anonymous. ``csrf=True`` checks CSRF as browsers' requests are."""

    def make(user=None, *, key=None, csrf=False):
        client = APIClient(enforce_csrf_checks=csrf)
        if key is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        elif user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def make_key(db):
    """The text of a new key of ``owner`` with this scope."""

    def make(owner, scope=ApiKey.Scope.ACT, **options):
        options.setdefault("name", f"{scope} key of {owner.username}")
        _, raw = apikeys.apikey_create(owner=owner, scope=scope, **options)
        return raw

    return make


@pytest.fixture
def integration(lab, make_key):
    """A "create only" key, as a monitoring system would hold."""
    return make_key(lab.admin, ApiKey.Scope.CREATE, name="Monitoring")


@pytest.fixture
def ticket(new_ticket):
    """Karen's ticket, open in Support."""
    made = new_ticket()
    assert made.state == State.OPEN
    return made


@pytest.fixture
def resolved(lab, ticket):
    """Karen's ticket, taken by John and resolved."""
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed: the load balancer is back.")
    ticket.refresh_from_db()
    return ticket


def url(number, *parts):
    return "/".join([f"/api/v1/tickets/{number}", *parts]) + "/"


def etag(version):
    return f'"{version}"'
