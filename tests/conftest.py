import pytest
from django.core.cache import cache

from tests.factories import AgentFactory, RequesterFactory
from tickets import lab as lab_data
from tickets import services


@pytest.fixture(autouse=True)
def _fresh_cache_and_media(settings, tmp_path):
    """Each test starts with no throttle counts (they live in the cache) and stores its files
    under its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def lab(db):
    """The lab configuration of docs (departments, team, agents, plans, topics)."""
    return lab_data.load_configuration()


@pytest.fixture
def karen(lab):
    return lab.karen.requester


@pytest.fixture
def new_ticket(lab, karen):
    """Karen's Example 1 ticket, just through intake."""

    def make(subject="Entire mobile/online banking system is down", topic="Report a Problem", **kwargs):
        return services.ticket_create(
            requester=kwargs.pop("requester", karen),
            subject=subject,
            body=kwargs.pop("body", "Nobody can log in to online banking."),
            help_topic=lab.topic(topic),
            actor=kwargs.pop("actor", lab.karen),
            **kwargs,
        )

    return make


@pytest.fixture
def stranger(lab):
    """An agent of a department that has nothing to do with the lab's tickets."""
    from tests.factories import DepartmentFactory

    return AgentFactory(
        username="stranger", role="Supervisor", departments=[DepartmentFactory(name="Facilities")]
    )


@pytest.fixture
def other_requester(db):
    return RequesterFactory(name="Mallory", email="mallory@example.org")


@pytest.fixture
def browser(django_capture_on_commit_callbacks):
    """A new test client, signed in as ``user`` if given, whose requests behave as in
    production: work queued with ``transaction.on_commit`` (mail) runs when the request's
    transaction commits."""
    from django.test import Client

    def make(user=None):
        new = Client()
        plain = new.request

        def request(**kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return plain(**kwargs)

        new.request = request
        if user is not None:
            new.force_login(user)
        return new

    return make
