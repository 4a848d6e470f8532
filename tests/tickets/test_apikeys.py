"""API keys (made once, stored hashed, revoked, expired, limited) and the stored answers of
idempotent requests; the admin that makes and revokes keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tickets import apikeys, idempotency
from tickets.models import ApiKey, IdempotencyRecord
from tickets.sla import jobs

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_only_as_its_hash(lab):
    key, raw = apikeys.apikey_create(name="Monitoring", owner=lab.john)
    assert raw.startswith("hd_") and len(raw) > 40
    stored = ApiKey.objects.get(pk=key.pk)
    assert raw not in (stored.hashed_key, stored.prefix, stored.name)
    assert stored.hashed_key == apikeys.hash_key(raw) and raw.startswith(stored.prefix)
    assert apikeys.apikey_authenticate(raw) == key


def test_unknown_revoked_expired_and_orphaned_keys_are_refused(lab):
    key, raw = apikeys.apikey_create(name="Monitoring", owner=lab.john)
    assert apikeys.apikey_authenticate(raw + "x") is None
    assert apikeys.apikey_authenticate("not-a-key") is None
    apikeys.apikey_revoke(key)
    assert apikeys.apikey_authenticate(raw) is None

    soon, raw = apikeys.apikey_create(
        name="Short", owner=lab.john, expires_at=timezone.now() + timedelta(hours=1)
    )
    assert apikeys.apikey_authenticate(raw) == soon
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert apikeys.apikey_authenticate(raw) is None

    _, raw = apikeys.apikey_create(name="Left", owner=lab.jane)
    lab.jane.is_active = False
    lab.jane.save()
    assert apikeys.apikey_authenticate(raw) is None


def test_last_use_is_written_at_most_once_a_minute(lab, django_assert_num_queries):
    key, raw = apikeys.apikey_create(name="Monitoring", owner=lab.john)
    with django_assert_num_queries(2):  # read, and the first use written
        apikeys.apikey_authenticate(raw)
    with django_assert_num_queries(1):
        apikeys.apikey_authenticate(raw)
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        apikeys.apikey_authenticate(raw)
    assert ApiKey.objects.get(pk=key.pk).last_used_at > first


def test_rate_limit_counts_per_key_and_says_how_long_to_wait():
    assert [apikeys.rate_limit_wait("key:1", limit=3) for _ in range(3)] == [0, 0, 0]
    wait = apikeys.rate_limit_wait("key:1", limit=3)
    assert 1 <= wait <= apikeys.RATE_WINDOW
    assert apikeys.rate_limit_wait("key:2", limit=3) == 0


def test_an_idempotent_answer_is_stored_replayed_and_forgotten_after_the_window(db, settings):
    fingerprint = idempotency.fingerprint("POST", "/api/v1/tickets/", {"subject": "Down"})
    record = idempotency.begin(principal="key:1", key="abc", fingerprint=fingerprint)
    assert isinstance(record, IdempotencyRecord)
    idempotency.finish(record, status_code=201, body={"number": "100001"}, headers={"ETag": '"3"'})

    replay = idempotency.begin(principal="key:1", key="abc", fingerprint=fingerprint)
    assert replay == idempotency.Replay(201, {"number": "100001"}, {"ETag": '"3"'})
    # Another caller's key of the same text is theirs alone.
    assert isinstance(
        idempotency.begin(principal="key:2", key="abc", fingerprint=fingerprint), IdempotencyRecord
    )
    with pytest.raises(idempotency.IdempotencyMismatch):
        idempotency.begin(principal="key:1", key="abc", fingerprint=idempotency.fingerprint("POST", "/x", {}))

    later = timezone.now() + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS, minutes=1)
    with time_machine.travel(later):
        assert isinstance(
            idempotency.begin(principal="key:1", key="abc", fingerprint=fingerprint), IdempotencyRecord
        )
    # Both answers left (key:2's, and key:1's new one) are forgotten once their windows end.
    assert idempotency.purge_expired(now=later) == 1
    assert (
        idempotency.purge_expired(now=later + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS, minutes=1)) == 1
    )
    assert not IdempotencyRecord.objects.exists()


# -- the admin -------------------------------------------------------------------------------


def test_the_admin_shows_a_new_key_once_and_only_its_hash_is_kept(admin_client, lab):
    response = admin_client.post(
        reverse("admin:tickets_apikey_add"),
        {"name": "Monitoring", "owner": lab.john.pk, "scope": "create", "rate_limit": 60},
        follow=True,
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="Monitoring")
    shown = [str(m) for m in response.context["messages"]]
    raw = next(word for text in shown for word in text.split() if word.startswith("hd_"))
    assert apikeys.apikey_authenticate(raw) == key
    # Never again: not on the key's page, not in the list.
    for url in (
        reverse("admin:tickets_apikey_change", args=[key.pk]),
        reverse("admin:tickets_apikey_changelist"),
    ):
        page = admin_client.get(url).content.decode()
        assert key.prefix in page and raw not in page
    # Saving the key again keeps its secret.
    admin_client.post(
        reverse("admin:tickets_apikey_change", args=[key.pk]),
        {"name": "Zabbix", "owner": lab.john.pk, "scope": "create", "rate_limit": 60},
    )
    assert ApiKey.objects.get(pk=key.pk).hashed_key == key.hashed_key
    assert apikeys.apikey_authenticate(raw).name == "Zabbix"


def test_the_admin_revokes_keys_for_good(admin_client, lab):
    key, raw = apikeys.apikey_create(name="Monitoring", owner=lab.john)
    response = admin_client.post(
        reverse("admin:tickets_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
        follow=True,
    )
    assert "Revoked 1 key." in response.content.decode()
    assert apikeys.apikey_authenticate(raw) is None
    assert "revoked" in admin_client.get(reverse("admin:tickets_apikey_changelist")).content.decode()
    # A revoked key's page is read-only.
    response = admin_client.post(
        reverse("admin:tickets_apikey_change", args=[key.pk]),
        {"name": "Back", "owner": lab.john.pk, "scope": "act", "rate_limit": 60},
    )
    assert response.status_code == 403
    assert ApiKey.objects.get(pk=key.pk).name == "Monitoring"


def test_agents_without_admin_rights_cannot_reach_the_keys(client, lab):
    client.force_login(lab.john)
    response = client.get(reverse("admin:tickets_apikey_changelist"))
    assert response.status_code in (302, 403)


def test_the_periodic_job_forgets_old_idempotent_answers(db, settings):
    record = idempotency.begin(principal="user:1", key="k", fingerprint="f")
    idempotency.finish(record, status_code=201, body={}, headers={})
    jobs.run_timers()
    assert IdempotencyRecord.objects.count() == 1
    jobs.run_timers(now=timezone.now() + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS, minutes=1))
    assert not IdempotencyRecord.objects.exists()
