"""The admin: configuration pages, and tickets that are read-only and moved by the services."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets import services
from tickets.models import (
    AgentProfile,
    BusinessHours,
    BusinessHoursWindow,
    Department,
    HelpTopic,
    Holiday,
    Priority,
    SLAPlan,
    Team,
    ThreadEntry,
    Ticket,
    TicketTransition,
)
from tickets.roles import ROLES

pytestmark = pytest.mark.django_db


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def config(admin_user):
    hours = BusinessHours.objects.create(name="Office", time_zone="Europe/London")
    BusinessHoursWindow.objects.create(schedule=hours, weekday=0, opens=time(9), closes=time(17))
    Holiday.objects.create(schedule=hours, date=date(2030, 12, 25), name="Christmas")
    sla = SLAPlan.objects.create(name="Standard", grace_hours=24, first_response_hours=4, is_default=True)
    SLAPlan.objects.create(name="Office hours", grace_hours=8, schedule="business", business_hours=hours)
    priority = Priority.objects.create(name="Normal", rank=2, is_default=True)
    Priority.objects.create(name="High", rank=3, colour="#dc3545")
    support = Department.objects.create(name="Support", is_default=True, sla=sla, manager=admin_user)
    billing = Department.objects.create(name="Billing", parent=support)
    level2 = Department.objects.create(name="Level 2", tier=2)
    team = Team.objects.create(name="Frontline", lead=admin_user)
    experts = Team.objects.create(name="Experts", tier=2)
    topic = HelpTopic.objects.create(name="Report a Problem", department=support, priority=priority)
    HelpTopic.objects.create(name="Access Issue", parent=topic, team=team)
    return {
        "sla": sla,
        "priority": priority,
        "support": support,
        "billing": billing,
        "level2": level2,
        "team": team,
        "experts": experts,
        "hours": hours,
    }


def make_ticket(subject="Printer on fire", body="It is really on fire.", email="ann@example.com"):
    requester = services.requester_get_or_create(email=email, name="Ann Example")
    return services.ticket_create(requester=requester, subject=subject, body=body)


@pytest.fixture
def ticket(config):
    return make_ticket()


def make_agent(django_user_model, username, *, role="Agent", departments=(), teams=()):
    user = django_user_model.objects.create_user(username=username, password="pw", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    if departments or teams:
        profile = AgentProfile.objects.create(user=user)
        profile.departments.set(departments)
        profile.teams.set(teams)
    return user


def change_url(ticket):
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def transition_url(ticket, name):
    return reverse("admin:tickets_ticket_transition", args=[ticket.pk, name])


def ticket_snapshot(ticket):
    ticket.refresh_from_db()
    return (
        ticket.state,
        ticket.version,
        ticket.assignee_id,
        ticket.team_id,
        ticket.transitions.count(),
        ticket.thread.count(),
    )


# -- roles ---------------------------------------------------------------------------------


def test_roles_exist_after_migrate_with_their_permissions():
    for name, codenames in ROLES.items():
        group = Group.objects.get(name=name)
        assert set(group.permissions.values_list("codename", flat=True)) == set(codenames)


# -- configuration pages -------------------------------------------------------------------


def test_every_registered_changelist_renders(admin_client, ticket):
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        # The lifecycle timers are one row: their list leads straight to it.
        response = admin_client.get(url, follow=True)
        assert response.status_code == 200, url


def test_config_change_pages_render(admin_client, config):
    for obj in (
        config["hours"],
        config["sla"],
        config["support"],
        config["team"],
        HelpTopic.objects.get(name="Report a Problem"),
        config["priority"],
    ):
        opts = obj._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert admin_client.get(url).status_code == 200, url


def test_thread_and_transitions_are_not_registered_on_their_own():
    assert not admin.site.is_registered(ThreadEntry)
    assert not admin.site.is_registered(TicketTransition)


def test_team_changelist_counts_members(admin_client, config, django_user_model):
    for name in ("a1", "a2"):
        make_agent(django_user_model, name, teams=[config["team"]])
    response = admin_client.get(reverse("admin:tickets_team_changelist"))
    rows = {t.name: t._members for t in response.context["cl"].result_list}
    assert rows == {"Frontline": 2, "Experts": 0}


def test_user_add_page_offers_the_agent_profile(admin_client, config):
    response = admin_client.get(reverse("admin:auth_user_add"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "agent-0-departments" in content or "agent-0-teams" in content
    assert 'name="is_staff"' in content


def test_user_created_with_agent_profile(admin_client, config):
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newagent",
            "usable_password": "true",
            "password1": "a-long-Passw0rd!",
            "password2": "a-long-Passw0rd!",
            "first_name": "New",
            "last_name": "Agent",
            "email": "new@example.com",
            "is_staff": "on",
            "groups": [Group.objects.get(name="Agent").pk],
            "agent-TOTAL_FORMS": "1",
            "agent-INITIAL_FORMS": "0",
            "agent-MIN_NUM_FORMS": "0",
            "agent-MAX_NUM_FORMS": "1",
            "agent-0-departments": [config["support"].pk],
            "agent-0-teams": [config["team"].pk],
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    profile = AgentProfile.objects.get(user__username="newagent")
    assert list(profile.departments.all()) == [config["support"]]
    assert list(profile.teams.all()) == [config["team"]]
    assert profile.user.is_staff


# -- the ticket pages ----------------------------------------------------------------------


def test_ticket_changelist_queries_do_not_grow_with_tickets(admin_client, config):
    url = reverse("admin:tickets_ticket_changelist")
    make_ticket(subject="one")
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for n in range(5):
        ticket = make_ticket(subject=f"more {n}", email=f"r{n}@example.com")
        services.ticket_assign(ticket=ticket, actor=ticket.department.manager, team=config["team"])
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 6
    assert len(many) == len(few)


def test_ticket_change_page_is_read_only_with_thread_and_log(admin_client, ticket):
    response = admin_client.get(change_url(ticket))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Open" in content
    assert "It is really on fire." in content  # the thread
    assert "intake" in content  # the transition log
    assert 'name="state"' not in content
    assert 'name="subject"' not in content
    assert 'name="_save"' not in content
    # Only the moves available now: an open ticket can be assigned, taken or cancelled.
    names = [a["name"] for a in response.context["ticket_actions"]]
    assert set(names) == {"assign", "claim", "cancel"}
    assert transition_url(ticket, "assign") in content
    assert transition_url(ticket, "resolve") not in content


def test_ticket_cannot_be_added_changed_or_deleted(admin_client, ticket):
    before = ticket_snapshot(ticket)
    assert admin_client.get(reverse("admin:tickets_ticket_add")).status_code == 403
    response = admin_client.post(change_url(ticket), {"subject": "hacked", "state": "closed"})
    assert response.status_code == 403
    assert admin_client.post(reverse("admin:tickets_ticket_delete", args=[ticket.pk])).status_code in (
        403,
        302,
    )
    assert ticket_snapshot(ticket) == before
    assert Ticket.objects.get(pk=ticket.pk).subject == "Printer on fire"


def test_assign_to_a_team(admin_client, admin_user, ticket, config):
    response = admin_client.post(
        transition_url(ticket, "assign"), {"team": config["team"].pk, "version": ticket.version}
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(ticket)
    ticket.refresh_from_db()
    assert ticket.state == "assigned"
    assert ticket.team == config["team"]
    log = TicketTransition.objects.get(ticket=ticket, name="assign")
    assert (log.source, log.target, log.actor) == ("open", "assigned", admin_user)
    messages = [str(m) for m in admin_client.get(change_url(ticket)).context["messages"]]
    assert any("assigned" in m for m in messages)


def test_button_post_shows_the_form_and_changes_nothing(admin_client, ticket):
    before = ticket_snapshot(ticket)
    response = admin_client.post(transition_url(ticket, "assign"), {"_start": "1", "version": ticket.version})
    assert response.status_code == 200
    assert 'name="team"' in response.content.decode()
    assert not response.context["form"].errors
    assert ticket_snapshot(ticket) == before


@pytest.mark.parametrize("name", ["assign", "claim", "cancel"])
def test_get_shows_the_form_and_changes_nothing(admin_client, ticket, name):
    before = ticket_snapshot(ticket)
    response = admin_client.get(transition_url(ticket, name))
    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()
    assert ticket_snapshot(ticket) == before


def test_claim_button_runs_at_once(admin_client, admin_user, ticket):
    response = admin_client.post(transition_url(ticket, "claim"), {"_start": "1", "version": ticket.version})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.state, ticket.assignee) == ("assigned", admin_user)


def test_resolve_without_a_message_reshows_the_form(admin_client, admin_user, ticket, config):
    services.ticket_assign(ticket=ticket, actor=admin_user, team=config["team"])
    before = ticket_snapshot(ticket)
    response = admin_client.post(
        transition_url(ticket, "resolve"), {"message": "  ", "version": ticket.version}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["message"]
    assert "errornote" in response.content.decode()
    assert ticket_snapshot(ticket) == before
    assert not TicketTransition.objects.filter(ticket=ticket, name="resolve").exists()


def test_resolve_with_a_message(admin_client, admin_user, ticket, config):
    services.ticket_assign(ticket=ticket, actor=admin_user, team=config["team"])
    response = admin_client.post(
        transition_url(ticket, "resolve"), {"message": "Put it out.", "version": ticket.version}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == "resolved"
    assert ticket.thread.filter(kind="reply", body="Put it out.").exists()


def test_assign_form_needs_an_agent_or_a_team(admin_client, ticket):
    before = ticket_snapshot(ticket)
    response = admin_client.post(transition_url(ticket, "assign"), {"version": ticket.version})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert ticket_snapshot(ticket) == before


def test_escalate_error_from_the_service_is_a_message(admin_client, admin_user, ticket, config):
    services.ticket_assign(ticket=ticket, actor=admin_user, team=config["team"])
    before = ticket_snapshot(ticket)
    # Frontline is tier 1, like the ticket: the service refuses.
    response = admin_client.post(
        transition_url(ticket, "escalate"),
        {"team": config["team"].pk, "summary": "Too hard", "version": ticket.version},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == change_url(ticket)
    messages = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert any(level == "error" and "higher tier" in text for level, text in messages)
    assert ticket_snapshot(ticket) == before


def test_escalate(admin_client, admin_user, ticket, config):
    services.ticket_assign(ticket=ticket, actor=admin_user, team=config["team"])
    response = admin_client.post(
        transition_url(ticket, "escalate"),
        {"team": config["experts"].pk, "summary": "Needs an expert", "version": ticket.version},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.state, ticket.tier, ticket.team) == ("escalated", 2, config["experts"])


def test_stale_version_is_refused(admin_client, admin_user, ticket, config):
    stale = ticket.version
    services.ticket_claim(ticket=ticket, actor=admin_user)
    before = ticket_snapshot(ticket)
    response = admin_client.post(
        transition_url(ticket, "assign"), {"team": config["team"].pk, "version": stale}, follow=True
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("changed since you opened it" in m for m in messages)
    assert ticket_snapshot(ticket) == before


def test_unavailable_transition_is_refused(admin_client, ticket):
    before = ticket_snapshot(ticket)
    # An open ticket cannot be closed (only resolved ones can).
    response = admin_client.post(
        transition_url(ticket, "close"), {"reason": "", "version": ticket.version}, follow=True
    )
    messages = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert any(level == "error" for level, _ in messages)
    assert ticket_snapshot(ticket) == before
    assert admin_client.get(transition_url(ticket, "close")).status_code == 302


def test_unknown_transition_is_404(admin_client, ticket):
    assert admin_client.post(transition_url(ticket, "intake"), {}).status_code == 404
    assert admin_client.post(transition_url(ticket, "explode"), {}).status_code == 404


def test_transition_url_needs_csrf(admin_user, ticket, config, client):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)
    before = ticket_snapshot(ticket)
    response = csrf_client.post(transition_url(ticket, "assign"), {"team": config["team"].pk})
    assert response.status_code == 403
    assert ticket_snapshot(ticket) == before


# -- who may do what -----------------------------------------------------------------------


def test_staff_without_permissions_gets_nothing(client, django_user_model, ticket, config):
    user = make_agent(django_user_model, "nobody", role=None, departments=[config["support"]])
    client.force_login(user)
    before = ticket_snapshot(ticket)
    assert client.get(reverse("admin:tickets_ticket_changelist")).status_code == 403
    assert client.get(change_url(ticket)).status_code in (403, 404)
    assert client.get(transition_url(ticket, "assign")).status_code in (403, 404)
    response = client.post(transition_url(ticket, "assign"), {"team": config["team"].pk})
    assert response.status_code in (403, 404)
    assert ticket_snapshot(ticket) == before


def test_agent_of_another_department_gets_404(client, django_user_model, ticket, config):
    user = make_agent(django_user_model, "outsider", role="Supervisor", departments=[config["billing"]])
    client.force_login(user)
    before = ticket_snapshot(ticket)
    changelist = client.get(reverse("admin:tickets_ticket_changelist"))
    assert changelist.status_code == 200
    assert list(changelist.context["cl"].result_list) == []
    # The change view does not show it (the admin redirects with "does not exist").
    response = client.get(change_url(ticket))
    assert response.status_code == 302
    assert client.get(transition_url(ticket, "assign")).status_code == 404
    assert client.post(transition_url(ticket, "assign"), {"team": config["team"].pk}).status_code == 404
    assert client.post(transition_url(ticket, "claim"), {}).status_code == 404
    assert ticket_snapshot(ticket) == before


def test_agent_sees_their_ticket_and_may_only_take_it(client, django_user_model, ticket, config):
    agent = make_agent(django_user_model, "agent", departments=[config["support"]])
    client.force_login(agent)
    response = client.get(change_url(ticket))
    assert response.status_code == 200
    content = response.content.decode()
    assert "It is really on fire." in content  # the thread inline, without ThreadEntry permissions
    assert {a["name"] for a in response.context["ticket_actions"]} == {"assign", "claim", "cancel"}
    response = client.post(transition_url(ticket, "claim"), {"version": ticket.version})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.state, ticket.assignee) == ("assigned", agent)


def test_view_only_agent_gets_no_buttons_and_cannot_move(client, django_user_model, ticket, config):
    viewer = make_agent(django_user_model, "viewer", role="View Only", departments=[config["support"]])
    client.force_login(viewer)
    response = client.get(change_url(ticket))
    assert response.status_code == 200
    assert response.context["ticket_actions"] == []
    before = ticket_snapshot(ticket)
    response = client.post(transition_url(ticket, "assign"), {"team": config["team"].pk}, follow=True)
    messages = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert any(level == "error" and "may not assign" in text for level, text in messages)
    assert ticket_snapshot(ticket) == before
