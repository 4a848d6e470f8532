"""My alerts: an agent turns the mail alerts they don't want off, and only their own."""

from django.core import mail
from django.urls import reverse

from tests.factories import AgentFactory
from tickets.models import AgentProfile

URL = reverse("agents:alerts")


def checked(page: str) -> set[str]:
    import re

    return {name for name in AgentProfile.ALERTS if re.search(rf'<input[^>]*name="{name}"[^>]*checked', page)}


def test_every_alert_is_on_at_first_and_named(john):
    page = john.get(URL).content.decode()
    assert checked(page) == set(AgentProfile.ALERTS)
    assert "A new ticket in my departments" in page and "A ticket I answer for is overdue" in page
    assert "john@example.com" in page


def test_unticking_an_alert_turns_it_off_and_the_mail_stops(
    john, lab, new_ticket, django_capture_on_commit_callbacks
):
    on = {name: "on" for name in AgentProfile.ALERTS if name != "alert_new_ticket"}
    response = john.post(URL, on)
    assert response.status_code == 302 and response["Location"] == URL
    profile = AgentProfile.objects.get(user=lab.john)
    assert [getattr(profile, name) for name in AgentProfile.ALERTS] == [False, True, True, True, True]
    assert checked(john.get(URL).content.decode()) == set(on)
    with django_capture_on_commit_callbacks(execute=True):
        new_ticket()
    assert [m.to for m in mail.outbox] == [["karen@example.com"]]


def test_an_agent_changes_only_their_own_alerts(john, lab):
    john.post(URL, {"user": lab.jane.pk, "agent": lab.jane.pk})
    assert all(getattr(lab.jane.agent, name) for name in AgentProfile.ALERTS)
    lab.jane.agent.refresh_from_db()
    assert all(getattr(lab.jane.agent, name) for name in AgentProfile.ALERTS)
    assert not any(getattr(AgentProfile.objects.get(user=lab.john), name) for name in AgentProfile.ALERTS)


def test_a_manager_without_a_profile_gets_one_on_saving(browser, lab):
    manager = AgentFactory(username="boss", email="boss@example.com")
    AgentProfile.objects.filter(user=manager).delete()
    page = browser(manager).get(URL).content.decode()
    assert checked(page) == set(AgentProfile.ALERTS)  # no profile: every alert on
    browser(manager).post(URL, {"alert_overdue": "on"})
    profile = AgentProfile.objects.get(user=manager)
    assert profile.alert_overdue and not profile.alert_new_ticket
    assert not profile.departments.exists()  # saving alerts grants no tickets


def test_unticking_every_box_turns_every_alert_off(john, lab):
    assert john.post(URL, {}).status_code == 302
    assert not any(getattr(AgentProfile.objects.get(user=lab.john), name) for name in AgentProfile.ALERTS)


def test_a_view_only_agent_may_set_their_alerts(browser, lab):
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.support])
    assert browser(viewer).post(URL, {}).status_code == 302
    assert not AgentProfile.objects.get(user=viewer).alert_new_ticket


def test_the_navbar_links_to_my_alerts(john):
    assert f'href="{URL}"' in john.get(reverse("agents:home")).content.decode()


def test_the_service_refuses_an_alert_that_does_not_exist(lab):
    import pytest

    from tickets import services

    with pytest.raises(services.TicketActionError, match="No such alert: is_superuser"):
        services.agent_alerts_update(user=lab.john, alerts={"is_superuser": True})


def test_a_requester_has_no_alerts_to_set(lab):
    import pytest
    from django.core.exceptions import PermissionDenied

    from tickets import services

    with pytest.raises(PermissionDenied):
        services.agent_alerts_update(user=lab.karen, alerts={"alert_overdue": False})
    assert not AgentProfile.objects.filter(user=lab.karen).exists()
