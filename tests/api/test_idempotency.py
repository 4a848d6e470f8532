"""Idempotency-Key: a retried POST gets the first answer again and nothing is done twice, even
when the two arrive at the same moment; the same key with another body is 422."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from rest_framework.test import APIClient

from tests.api.conftest import url
from tickets import apikeys
from tickets import lab as lab_data
from tickets.models import ApiKey, ThreadEntry, Ticket

LIST = "/api/v1/tickets/"
OUTAGE = {
    "requester_email": "ops@example.org",
    "requester_name": "Ops desk",
    "subject": "Core switch down",
    "body": "The core switch stopped answering.",
}


def test_the_same_key_and_body_twice_make_one_ticket(lab, api, integration):
    client = api(key=integration)
    first = client.post(LIST, OUTAGE, format="json", HTTP_IDEMPOTENCY_KEY="outage-1")
    again = client.post(LIST, OUTAGE, format="json", HTTP_IDEMPOTENCY_KEY="outage-1")

    assert first.status_code == again.status_code == 201
    assert Ticket.objects.count() == 1
    assert again.json() == first.json() and again.json()["number"] == Ticket.objects.get().number
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert (again["Location"], again["ETag"]) == (first["Location"], first["ETag"])


def test_the_same_multipart_request_again_is_replayed(lab, api, integration):
    def send():
        files = [SimpleUploadedFile("trace.txt", b"09:00 link down\n", content_type="text/plain")]
        return api(key=integration).post(LIST, {**OUTAGE, "attachments": files}, HTTP_IDEMPOTENCY_KEY="m-1")

    assert send().status_code == 201 and send()["Idempotent-Replayed"] == "true"
    assert Ticket.objects.count() == 1


def test_the_same_key_with_another_body_is_422(lab, api, integration):
    client = api(key=integration)
    client.post(LIST, OUTAGE, format="json", HTTP_IDEMPOTENCY_KEY="outage-1")
    answer = client.post(LIST, {**OUTAGE, "subject": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="outage-1")
    assert answer.status_code == 422 and answer.json()["code"] == "idempotency_key_reused"
    assert Ticket.objects.count() == 1


def test_keys_belong_to_their_caller(lab, api, integration, make_key):
    other = make_key(lab.admin, ApiKey.Scope.CREATE, name="Other monitor")
    for key in (integration, other):
        api(key=key).post(LIST, OUTAGE, format="json", HTTP_IDEMPOTENCY_KEY="outage-1")
    assert Ticket.objects.count() == 2


def test_a_retried_reply_is_sent_once(lab, api, ticket):
    client = api(lab.john)
    for _ in range(2):
        answer = client.post(url(ticket.number, "replies"), {"body": "On it"}, HTTP_IDEMPOTENCY_KEY="r-1")
        assert answer.status_code == 201
    assert answer["Idempotent-Replayed"] == "true"
    assert ticket.thread.filter(kind=ThreadEntry.Kind.REPLY).count() == 1


def test_a_retried_transition_is_run_once(lab, api, ticket):
    client = api(lab.john)
    first = client.post(url(ticket.number, "transitions", "claim"), HTTP_IDEMPOTENCY_KEY="c-1")
    again = client.post(url(ticket.number, "transitions", "claim"), HTTP_IDEMPOTENCY_KEY="c-1")
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert ticket.transitions.filter(name="claim").count() == 1


def test_a_refused_request_is_not_kept_so_the_corrected_one_may_use_its_key(lab, api, integration):
    client = api(key=integration)
    refused = client.post(LIST, {**OUTAGE, "body": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert refused.status_code == 400
    answer = client.post(LIST, OUTAGE, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert answer.status_code == 201 and not answer.has_header("Idempotent-Replayed")


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there"])
def test_a_bad_idempotency_key_is_400(lab, api, integration, key):
    answer = api(key=integration).post(LIST, OUTAGE, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert answer.status_code == 400 and "Idempotency-Key" in answer.json()["fields"]
    assert not Ticket.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_identical_creations_at_the_same_moment_make_one_ticket():
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite takes one writer at a time (transaction_mode IMMEDIATE), so the two requests "
            "never overlap there; the race is real on PostgreSQL"
        )
    lab = lab_data.load_configuration()
    _, raw = apikeys.apikey_create(name="Monitoring", owner=lab.admin, scope=ApiKey.Scope.CREATE)
    barrier = threading.Barrier(2)
    answers = []

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        try:
            barrier.wait(timeout=10)
            answers.append(client.post(LIST, OUTAGE, format="json", HTTP_IDEMPOTENCY_KEY="same-moment"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [a.status_code for a in answers] == [201, 201]
    assert Ticket.objects.count() == 1
    assert answers[0].json()["number"] == answers[1].json()["number"] == Ticket.objects.get().number
    assert sorted(a.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
