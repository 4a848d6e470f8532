"""Attempt counting: who gets slowed down, for how long, and what does not count."""

from types import SimpleNamespace

import pytest
from django.core.cache import cache

from tickets import throttle
from tickets.throttle import allow, is_blocked, reset

LIMIT = 3
WINDOW = 60


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, set to the start of a window and moved by hand."""
    now = SimpleNamespace(value=1_700_000_000.0 - 1_700_000_000.0 % WINDOW)
    monkeypatch.setattr(throttle, "time", SimpleNamespace(time=lambda: now.value))
    return now


def attempts(scope: str, ident: str, n: int, *, limit: int = LIMIT, window: int = WINDOW) -> list[bool]:
    return [allow(scope, ident, limit=limit, window=window) for _ in range(n)]


def test_the_first_attempts_up_to_the_limit_pass_and_the_rest_are_refused(clock):
    assert attempts("login", "karen@example.org", LIMIT + 2) == [True] * LIMIT + [False, False]


def test_a_limit_of_one_allows_exactly_one(clock):
    assert attempts("reset-mail", "karen@example.org", 3, limit=1) == [True, False, False]


def test_one_address_being_throttled_does_not_slow_down_another(clock):
    attempts("login", "mallory@example.org", LIMIT + 1)
    assert allow("login", "mallory@example.org", limit=LIMIT, window=WINDOW) is False
    assert attempts("login", "karen@example.org", LIMIT) == [True] * LIMIT


def test_being_throttled_in_one_scope_does_not_count_in_another(clock):
    attempts("login", "10.0.0.1", LIMIT + 1)
    assert attempts("guest-ticket", "10.0.0.1", LIMIT) == [True] * LIMIT
    assert not is_blocked("status-mail", "10.0.0.1", limit=LIMIT, window=WINDOW)


def test_changing_the_case_of_an_address_does_not_get_around_the_limit(clock):
    results = [
        allow("login", ident, limit=LIMIT, window=WINDOW)
        for ident in ["Karen@Example.org", "karen@example.org", "KAREN@EXAMPLE.ORG", "kAREN@example.ORG"]
    ]
    assert results == [True, True, True, False]
    assert is_blocked("login", "KaReN@eXaMpLe.OrG", limit=LIMIT, window=WINDOW)


def test_a_new_window_starts_fresh(clock):
    assert attempts("login", "karen@example.org", LIMIT + 1)[-1] is False
    clock.value += WINDOW - 1
    assert allow("login", "karen@example.org", limit=LIMIT, window=WINDOW) is False
    clock.value += 1
    assert attempts("login", "karen@example.org", LIMIT + 1) == [True] * LIMIT + [False]


def test_is_blocked_says_whether_the_next_attempt_would_be_refused(clock):
    assert not is_blocked("login", "karen@example.org", limit=LIMIT, window=WINDOW)
    attempts("login", "karen@example.org", LIMIT - 1)
    assert not is_blocked("login", "karen@example.org", limit=LIMIT, window=WINDOW)
    attempts("login", "karen@example.org", 1)
    assert is_blocked("login", "karen@example.org", limit=LIMIT, window=WINDOW)
    assert allow("login", "karen@example.org", limit=LIMIT, window=WINDOW) is False


def test_asking_is_blocked_counts_no_attempt(clock):
    for _ in range(10):
        assert not is_blocked("login", "karen@example.org", limit=LIMIT, window=WINDOW)
    assert attempts("login", "karen@example.org", LIMIT + 1) == [True] * LIMIT + [False]


def test_is_blocked_ends_with_the_window(clock):
    attempts("login", "karen@example.org", LIMIT)
    assert is_blocked("login", "karen@example.org", limit=LIMIT, window=WINDOW)
    clock.value += WINDOW
    assert not is_blocked("login", "karen@example.org", limit=LIMIT, window=WINDOW)


def test_reset_lets_the_same_address_in_again_and_only_that_one(clock):
    attempts("login", "karen@example.org", LIMIT + 1)
    attempts("login", "mallory@example.org", LIMIT + 1)
    reset("login", "KAREN@example.org", window=WINDOW)
    assert not is_blocked("login", "karen@example.org", limit=LIMIT, window=WINDOW)
    assert attempts("login", "karen@example.org", LIMIT) == [True] * LIMIT
    assert is_blocked("login", "mallory@example.org", limit=LIMIT, window=WINDOW)


def test_reset_of_something_never_counted_is_harmless(clock):
    reset("login", "nobody@example.org", window=WINDOW)
    assert allow("login", "nobody@example.org", limit=LIMIT, window=WINDOW) is True


def test_an_attempt_made_as_the_count_expires_is_still_counted(clock, monkeypatch):
    """The count can vanish between ``add`` and ``incr``; that attempt starts a new count of one."""

    class ExpiresBeforeIncr:
        def add(self, *args, **kwargs):
            return False

        def __getattr__(self, name):
            return getattr(cache, name)

    monkeypatch.setattr(throttle, "cache", ExpiresBeforeIncr())
    assert allow("login", "karen@example.org", limit=1, window=WINDOW) is True
    monkeypatch.setattr(throttle, "cache", cache)
    assert allow("login", "karen@example.org", limit=1, window=WINDOW) is False
