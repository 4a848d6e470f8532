"""The signature of a webhook delivery: what a receiver checks with ``signing.verify``."""

from __future__ import annotations

import hashlib
import hmac

from tickets.webhooks import signing

SECRET = "s3cret-shared-with-the-receiver"
BODY = b'{"id":1,"event":"ticket.created","ticket":{"number":"100001"}}'
NOW = 1_800_000_000


def test_the_header_is_t_and_v1_the_hmac_of_t_dot_body():
    header = signing.signature(SECRET, BODY, now=NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"


def test_headers_name_the_event_and_the_delivery():
    headers = signing.headers(SECRET, BODY, event="ticket.created", delivery_id=42, now=NOW)
    assert headers["X-Webhook-Event"] == "ticket.created"
    assert headers["X-Webhook-Delivery"] == "42"
    assert headers["X-Signature"].startswith(f"t={NOW},v1=")


def test_a_good_signature_verifies_within_the_window():
    header = signing.signature(SECRET, BODY, now=NOW)
    assert signing.verify(SECRET, header, BODY, tolerance=300, now=NOW)
    assert signing.verify(SECRET, header, BODY, tolerance=300, now=NOW + 299)
    assert signing.verify(SECRET, header, BODY, tolerance=300, now=NOW - 299)


def test_a_tampered_body_is_refused():
    header = signing.signature(SECRET, BODY, now=NOW)
    assert not signing.verify(SECRET, header, BODY.replace(b"100001", b"100002"), tolerance=300, now=NOW)
    assert not signing.verify(SECRET, header, BODY + b" ", tolerance=300, now=NOW)


def test_a_wrong_secret_is_refused():
    header = signing.signature(SECRET, BODY, now=NOW)
    assert not signing.verify("another-secret", header, BODY, tolerance=300, now=NOW)


def test_an_old_timestamp_is_refused_even_with_a_good_signature():
    """A delivery captured and sent again later (a replay) is out of the window."""
    header = signing.signature(SECRET, BODY, now=NOW)
    assert not signing.verify(SECRET, header, BODY, tolerance=300, now=NOW + 301)
    assert not signing.verify(SECRET, header, BODY, tolerance=300, now=NOW - 301)


def test_a_timestamp_changed_to_a_fresh_one_breaks_the_signature():
    digest = signing.signature(SECRET, BODY, now=NOW).split("v1=")[1]
    assert not signing.verify(SECRET, f"t={NOW + 600},v1={digest}", BODY, tolerance=300, now=NOW + 600)


def test_malformed_headers_are_refused():
    for header in ("", "garbage", f"t={NOW}", "v1=abc", "t=soon,v1=abc", f"t={NOW},v1="):
        assert not signing.verify(SECRET, header, BODY, tolerance=300, now=NOW)


def test_any_of_several_signatures_may_match():
    """A sender rotating its secret may sign with both."""
    good = signing.signature(SECRET, BODY, now=NOW).split("v1=")[1]
    assert signing.verify(SECRET, f"t={NOW},v1={'0' * 64},v1={good}", BODY, tolerance=300, now=NOW)


def test_the_tolerance_defaults_to_the_setting(settings):
    settings.WEBHOOK_SIGNATURE_TOLERANCE_SECONDS = 10
    header = signing.signature(SECRET, BODY, now=NOW)
    assert signing.verify(SECRET, header, BODY, now=NOW + 10)
    assert not signing.verify(SECRET, header, BODY, now=NOW + 11)
