"""How callers authenticate: Bearer keys (unknown, revoked, expired, a deactivated owner),
sessions with CSRF on writes, and the per-caller rate limit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tickets import apikeys
from tickets.models import ApiKey, Ticket

LIST = "/api/v1/tickets/"
OUTAGE = {"requester_email": "ops@example.org", "requester_name": "Ops", "subject": "Down", "body": "Down."}


def refused(answer):
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'
    assert answer.json()["code"] == "unauthenticated"
    return True


def test_a_valid_key_acts_as_its_owner(lab, api, make_key, ticket):
    key = make_key(lab.john, ApiKey.Scope.ACT)
    assert api(key=key).get(f"/api/v1/tickets/{ticket.number}/").json()["number"] == ticket.number
    assert ApiKey.objects.get().last_used_at is not None


def test_a_revoked_key_is_401(lab, api, make_key):
    key = make_key(lab.john)
    apikeys.apikey_revoke(ApiKey.objects.get())
    assert refused(api(key=key).get(LIST))


def test_an_expired_key_is_401(lab, api, make_key):
    key = make_key(lab.john, expires_at=timezone.now() - timedelta(seconds=1))
    assert refused(api(key=key).get(LIST))
    assert (
        api(key=make_key(lab.john, expires_at=timezone.now() + timedelta(days=1))).get(LIST).status_code
        == 200
    )


def test_the_key_of_a_deactivated_owner_is_401(lab, api, make_key):
    key = make_key(lab.john)
    lab.john.is_active = False
    lab.john.save()
    assert refused(api(key=key).get(LIST))


@pytest.mark.parametrize(
    "header", ["Bearer hd_unknown", "Bearer", "Bearer a b", "Bearer " + "hd_" + "x" * 300]
)
def test_unknown_or_malformed_keys_are_401(db, api, header):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert refused(client.get(LIST))


def test_a_session_write_needs_the_csrf_token(lab, api):
    client = api(lab.john, csrf=True)
    answer = client.post(LIST, OUTAGE, format="json")
    assert answer.status_code == 403 and "CSRF" in answer.json()["message"]
    assert not Ticket.objects.exists()
    # With the token, as the console's pages send it.
    assert client.get(LIST).status_code == 200  # reading needs none
    client.get("/agents/login/")
    token = client.cookies["csrftoken"].value
    assert client.post(LIST, OUTAGE, format="json", HTTP_X_CSRFTOKEN=token).status_code == 201


def test_keys_need_no_csrf_token(lab, api, integration):
    client = api(key=integration, csrf=True)
    assert client.post(LIST, OUTAGE, format="json").status_code == 201


def test_beyond_its_rate_limit_a_key_is_429_with_retry_after(lab, api, make_key):
    client = api(key=make_key(lab.john, rate_limit=3))
    assert [client.get(LIST).status_code for _ in range(3)] == [200, 200, 200]
    answer = client.get(LIST)
    assert answer.status_code == 429 and answer.json()["code"] == "rate_limited"
    assert 0 < int(answer["Retry-After"]) <= 60
    # Another key of the same owner has its own count.
    assert api(key=make_key(lab.john, rate_limit=3)).get(LIST).status_code == 200


def test_a_session_has_its_own_limit(lab, api, settings):
    settings.API_SESSION_RATE_LIMIT = 2
    client = api(lab.john)
    assert [client.get(LIST).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(LIST).has_header("Retry-After")
