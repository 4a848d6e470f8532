"""Who sees what, and reads whose cost does not grow with the number of tickets."""

import pytest

from tests.factories import AgentFactory, RequesterFactory
from tickets import selectors, services
from tickets.models import ThreadEntry


def make_tickets(lab, count: int) -> None:
    for n in range(count):
        requester = RequesterFactory()
        ticket = services.ticket_create(
            requester=requester,
            subject=f"Ticket {n}",
            body="Body",
            help_topic=lab.topic("Report a Problem"),
        )
        services.ticket_assign(ticket=ticket, actor=lab.john, agent=lab.john, team=lab.online_banking)
        services.ticket_note(ticket=ticket, actor=lab.john, body="Looking.")


def test_agents_see_their_departments_teams_and_own_tickets(lab, new_ticket, stranger):
    support_ticket = new_ticket()
    assert selectors.ticket_visible_to(lab.john, support_ticket)
    assert not selectors.ticket_visible_to(stranger, support_ticket)
    team_member = AgentFactory(username="ob", role="Agent", teams=[lab.online_banking])
    assert not selectors.ticket_visible_to(team_member, support_ticket)
    services.ticket_assign(ticket=support_ticket, actor=lab.john, team=lab.online_banking)
    assert selectors.ticket_visible_to(team_member, support_ticket)
    services.ticket_assign(ticket=support_ticket, actor=lab.john, agent=stranger, team=None)
    assert selectors.ticket_visible_to(stranger, support_ticket)


def test_supreme_admin_sees_all_and_a_staff_user_with_no_department_sees_none(lab, new_ticket):
    ticket = new_ticket()
    assert selectors.ticket_visible_to(lab.jane, ticket)
    nobody = AgentFactory(username="nobody", role="Agent")
    assert list(selectors.tickets_visible_to(nobody)) == []
    assert selectors.queue_counts(nobody)["all"] == 0


def test_requesters_see_only_their_own_tickets_and_no_internal_entries(lab, new_ticket, other_requester):
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_note(ticket=ticket, actor=lab.john, body="Internal only.")
    assert list(selectors.tickets_of_requester(lab.karen)) == [ticket]
    assert list(selectors.tickets_of_requester(other_requester.user)) == []
    assert not selectors.ticket_visible_to(other_requester.user, ticket)
    assert list(selectors.tickets_visible_to(lab.karen)) == []
    public = list(selectors.thread_for_requester(ticket))
    assert public and all(e.is_public for e in public)
    assert ThreadEntry.Kind.NOTE not in {e.kind for e in public}


@pytest.mark.parametrize(
    "read",
    [
        lambda lab: [
            (
                t.requester.name,
                t.help_topic.full_name,
                str(t.priority),
                str(t.team),
                str(t.assignee),
                str(t.department),
                str(t.sla),
            )
            for t in selectors.ticket_list_for_agent(lab.john)
        ],
        lambda lab: selectors.queue_counts(lab.john),
        lambda lab: [
            (t.help_topic.full_name, t.public_stage) for t in selectors.tickets_of_requester(lab.karen)
        ],
        lambda lab: [
            (e.author_name, list(e.attachments.all()))
            for t in selectors.ticket_list_for_agent(lab.john)[:1]
            for e in selectors.thread_for_agent(t)
        ],
        lambda lab: [
            t.actor_label for t in selectors.transitions_of(selectors.ticket_list_for_agent(lab.john)[0])
        ],
    ],
    ids=["agent list", "queue counts", "requester list", "agent thread", "transition log"],
)
def test_query_counts_do_not_grow_with_tickets(
    lab, django_assert_max_num_queries, read, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_tickets(lab, 3)
    with CaptureQueriesContext(connection) as few:
        read(lab)
    make_tickets(lab, 30)
    with django_assert_max_num_queries(len(few)):
        read(lab)
    assert len(few) <= 5  # with the permission checks and the agent's memberships
