"""Who may open the reports: the dashboard, every CSV export and the SLA what-if. Signed-out
visitors are sent to the console's sign-in; a requester, a View Only agent and an agent are
refused (403); a Supervisor and a Supreme Admin read them. The Reports link in the console's
bar is shown to those who may follow it only."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from agents.urls import urlpatterns
from agents.views.reports import TABLES
from tests.factories import AgentFactory
from tickets.models import SLAPlan

LOGIN = "/agents/login/"
NAMES = {"reports", "reports_export", "reports_what_if"}


def _urls():
    plan = SLAPlan.objects.get(name="Sev-A").pk
    return [
        reverse("agents:reports"),
        reverse("agents:reports") + "?period=7",
        *(reverse("agents:reports_export", args=[table]) for table in sorted(TABLES)),
        reverse("agents:reports_what_if"),
        reverse("agents:reports_what_if") + f"?plan={plan}&period=90",
    ]


@pytest.fixture
def viewer(lab):
    return AgentFactory(username="viewer", role="View Only", departments=[lab.support])


@pytest.fixture
def supervisor(lab):
    return AgentFactory(username="sup", role="Supervisor", departments=[lab.support])


def test_the_reports_urls_are_these(lab):
    """A new reports URL fails here until it is added to the list the tests below walk."""
    names = {pattern.name for pattern in urlpatterns if pattern.name.startswith("reports")}
    assert names == NAMES
    assert {url.split("?")[0] for url in _urls()} >= {
        reverse("agents:reports"),
        reverse("agents:reports_what_if"),
        *(reverse("agents:reports_export", args=[t]) for t in TABLES),
    }
    assert set(TABLES) == {"funnel", "stages", "attainment", "rates", "trend", "teams", "agents", "topics"}


def test_signed_out_visitors_are_sent_to_the_console_sign_in(client, lab):
    for url in _urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{LOGIN}?next="), url


@pytest.mark.parametrize("who", ["requester", "view only", "agent"])
def test_anyone_without_the_permission_is_refused(client, lab, viewer, who):
    user = {"requester": lab.karen, "view only": viewer, "agent": lab.john}[who]
    assert not user.has_perm("tickets.view_reports")
    client.force_login(user)
    for url in _urls():
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"Tickets created in the period" not in response.content
        assert "text/csv" not in response.get("Content-Type", "")


def test_the_permission_alone_is_not_enough_the_reports_are_for_staff(client, lab):
    lab.karen.user_permissions.add(Permission.objects.get(codename="view_reports"))
    client.force_login(lab.karen)
    assert client.get(reverse("agents:reports")).status_code == 403


@pytest.mark.parametrize("who", ["supervisor", "supreme admin"])
def test_supervisors_and_supreme_admins_read_every_page_and_export(client, lab, supervisor, who):
    client.force_login(supervisor if who == "supervisor" else lab.jane)
    for url in _urls():
        response = client.get(url)
        assert response.status_code == 200, url
        if "/export/" in url:
            assert response["Content-Type"] == "text/csv; charset=utf-8"
            assert response["Content-Disposition"].startswith('attachment; filename="')


def test_an_unknown_table_is_404(client, lab):
    client.force_login(lab.jane)
    assert client.get(reverse("agents:reports_export", args=["tickets"])).status_code == 404


@pytest.mark.parametrize(
    ("who", "shown"), [("supervisor", True), ("supreme admin", True), ("agent", False), ("view only", False)]
)
def test_the_reports_link_is_shown_to_those_who_may_follow_it(client, lab, supervisor, viewer, who, shown):
    user = {"supervisor": supervisor, "supreme admin": lab.jane, "agent": lab.john, "view only": viewer}[who]
    client.force_login(user)
    page = client.get(reverse("agents:alerts")).content.decode()
    assert (f'href="{reverse("agents:reports")}">Reports</a>' in page) is shown
