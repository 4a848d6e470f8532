"""The configuration tables kept in the cache (tickets.catalog): read once, dropped on change."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory, DepartmentFactory
from tickets import selectors, services
from tickets.catalog import attach_related, catalog
from tickets.models import HelpTopic, Team, Ticket

pytestmark = pytest.mark.django_db


def _queries_to_read() -> int:
    with CaptureQueriesContext(connection) as queries:
        catalog()
    return len(queries)


def test_read_once_then_from_the_cache(lab):
    assert _queries_to_read() > 0
    assert _queries_to_read() == 0


@pytest.mark.parametrize(
    "change",
    [
        lambda lab: DepartmentFactory(name="Facilities"),
        lambda lab: Team.objects.create(name="Night shift"),
        lambda lab: HelpTopic.objects.filter(name="Report a Problem").first().save(),
        lambda lab: AgentFactory(username="newagent", role="Agent"),
        lambda lab: lab.john.agent.teams.add(lab.online_banking),
        lambda lab: Team.objects.get(pk=lab.online_banking.pk).save(),
    ],
    ids=["department", "team", "topic", "agent", "membership", "team saved"],
)
def test_a_change_drops_the_copy(lab, change):
    catalog()
    change(lab)
    assert _queries_to_read() > 0


def test_a_new_team_shows_in_the_console_filters_at_once(client, lab):
    client.force_login(lab.john)
    client.get("/agents/")
    Team.objects.create(name="Night shift")
    assert "Night shift" in client.get("/agents/").content.decode()


def test_requesters_and_sign_ins_keep_the_copy(lab, new_ticket):
    catalog()
    new_ticket(requester=services.requester_get_or_create(name="Walk-in", email="walkin@example.org"))
    lab.john.save(update_fields=["last_login"])
    assert _queries_to_read() == 0


def test_a_membership_is_seen_by_the_queues_at_once(lab, new_ticket):
    ticket = new_ticket()
    outsider = AgentFactory(username="outsider", role="Agent")
    assert not selectors.tickets_visible_to(outsider).filter(pk=ticket.pk).exists()
    outsider.agent.departments.add(ticket.department)
    assert selectors.tickets_visible_to(outsider).filter(pk=ticket.pk).exists()


def test_no_password_hash_is_cached(lab):
    agent = catalog().agents[lab.john.pk]
    assert "password" in agent.get_deferred_fields()


def test_related_rows_come_from_the_catalog_and_missing_ones_are_read(lab, new_ticket):
    ticket = new_ticket()
    catalog()
    rows = list(Ticket.objects.filter(pk=ticket.pk))
    with CaptureQueriesContext(connection) as queries:
        attach_related(rows)
        assert rows[0].department.name == ticket.department.name
        assert rows[0].help_topic.full_name == ticket.help_topic.full_name
    assert len(queries) == 0
    # A topic made without a signal (bulk_create) is not in the copy: read with one query.
    late = HelpTopic.objects.bulk_create([HelpTopic(name="Bulk topic", department=ticket.department)])[0]
    Ticket.objects.filter(pk=ticket.pk).update(help_topic=late)
    rows = list(Ticket.objects.filter(pk=ticket.pk))
    with CaptureQueriesContext(connection) as queries:
        attach_related(rows)
    assert rows[0].help_topic.name == "Bulk topic"
    assert len(queries) == 1


def _fresh(user):
    return type(user).objects.get(pk=user.pk)  # a new request's user: no per-object cache


def test_permissions_are_read_once_then_from_the_cache(lab):
    assert _fresh(lab.john).has_perm("tickets.claim_ticket")
    with CaptureQueriesContext(connection) as queries:
        user = _fresh(lab.john)
        assert user.has_perm("tickets.claim_ticket")
        assert not user.has_perm("tickets.view_all_tickets")
    assert len(queries) == 1  # the user; no permission query


def test_a_role_taken_away_is_seen_at_once(lab):
    from django.contrib.auth.models import Group

    assert _fresh(lab.john).has_perm("tickets.claim_ticket")
    lab.john.groups.clear()
    assert not _fresh(lab.john).has_perm("tickets.claim_ticket")
    lab.john.groups.add(Group.objects.get(name="Agent"))
    assert _fresh(lab.john).has_perm("tickets.claim_ticket")
    Group.objects.get(name="Agent").permissions.clear()
    assert not _fresh(lab.john).has_perm("tickets.claim_ticket")


def test_a_deactivated_account_has_no_permissions(lab):
    assert _fresh(lab.john).has_perm("tickets.claim_ticket")
    type(lab.john).objects.filter(pk=lab.john.pk).update(is_active=False)
    assert not _fresh(lab.john).has_perm("tickets.claim_ticket")
