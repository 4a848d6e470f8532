import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def browser(django_capture_on_commit_callbacks):
    """A new test client whose requests behave as in production: work queued with
    ``transaction.on_commit`` (mail) runs when the request's transaction commits."""
    from django.test import Client

    def make():
        new = Client()
        plain = new.request

        def request(**kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return plain(**kwargs)

        new.request = request
        return new

    return make


@pytest.fixture
def client(browser):
    return browser()
