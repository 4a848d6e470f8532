import pytest
from django.core.cache import cache

from tests.factories import AgentFactory, RequesterFactory
from tickets import lab as lab_data
from tickets import services
from tickets.models import Ticket


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


# The status line of the online-banking incident the ``outage`` fixture opens.
OUTAGE_STATUS = "We know about this outage and are working on it."


@pytest.fixture
def outage_reports(lab, new_ticket, django_capture_on_commit_callbacks):
    """Example 1's outage as three reports, not yet linked: Karen's portal ticket, Ken's e-mail
    and a branch's phone call logged by John; their mail sent and cleared."""
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        karens = new_ticket()
        kens = services.ticket_create(
            requester=lab.ken.requester,
            subject="Online banking down?",
            body="I cannot log in since this morning.",
            source=Ticket.Source.EMAIL,
        )
        _, branch = services.ticket_create_for_contact(
            email="branch12@example.com",
            name="Branch 12",
            subject="Customers at the counter cannot use the app",
            body="Three customers so far.",
            source=Ticket.Source.PHONE,
            actor=lab.john,
        )
    mail.outbox.clear()
    return [karens, kens, branch]


@pytest.fixture
def outage(lab, outage_reports, django_capture_on_commit_callbacks):
    """Example 1 as an incident: the incident Jane opened from Karen's ticket (System
    Administrators, Online Banking), Ken's and the branch's tickets linked to it by her. Returns
    the incident and the three reports, freshly read; their mail sent and cleared."""
    from django.core import mail

    karens, kens, branch = outage_reports
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.incident_open(
            actor=lab.jane,
            subject="Online banking outage",
            body="Mobile and online banking are down for everyone.",
            status=OUTAGE_STATUS,
            department=lab.sysadmins,
            team=lab.online_banking,
            first_report=karens,
        )
        for report in (kens, branch):
            services.ticket_link_incident(ticket=report, actor=lab.jane, incident=incident)
    mail.outbox.clear()
    return Ticket.objects.get(pk=incident.pk), [Ticket.objects.get(pk=t.pk) for t in outage_reports]


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
