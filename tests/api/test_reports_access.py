"""Who may read the reports in the API: supervisors and Supreme Admins (the "view reports"
permission), by session or by a key that may read; nobody else, on every reports URL."""

import pytest
from django.contrib.auth.models import Group

from tests.factories import AgentFactory
from tickets.models import ApiKey, SLAPlan

PATHS = ["/api/v1/reports/dashboard/", "/api/v1/reports/what-if/"]


def query(path):
    """The parameters each URL needs to answer 200."""
    if "what-if" in path:
        return {"plan": SLAPlan.objects.get(name="Default SLA").pk}
    return {}


@pytest.fixture
def supervisor(lab):
    return AgentFactory(username="sue", role="Supervisor", departments=[lab.support])


@pytest.fixture
def viewer(lab):
    return AgentFactory(username="viewer", role="View Only", departments=[lab.support])


@pytest.mark.parametrize("path", PATHS)
def test_the_anonymous_get_401(db, api, path):
    answer = api().get(path)
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthenticated"
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("who", ["karen", "john", "viewer"])
@pytest.mark.parametrize("how", ["session", "read key", "act key"])
def test_requesters_view_only_agents_and_plain_agents_get_403(lab, api, make_key, viewer, path, who, how):
    user = viewer if who == "viewer" else getattr(lab, who)
    if how == "session":
        client = api(user)
    else:
        client = api(key=make_key(user, ApiKey.Scope.READ if how == "read key" else ApiKey.Scope.ACT))
    answer = client.get(path, query(path))
    assert answer.status_code == 403, answer.json()
    assert answer.json() == {
        "code": "forbidden",
        "message": "Only supervisors read the reports (the “view reports” permission).",
    }


@pytest.mark.parametrize("path", PATHS)
def test_a_create_only_key_gets_403_even_a_supreme_admins(lab, api, make_key, path):
    client = api(key=make_key(lab.jane, ApiKey.Scope.CREATE))
    answer = client.get(path, query(path))
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("who", ["jane", "supervisor"])
@pytest.mark.parametrize("how", ["session", "read key", "act key"])
def test_supervisors_and_supreme_admins_read_them(lab, api, make_key, supervisor, path, who, how):
    user = supervisor if who == "supervisor" else lab.jane
    if how == "session":
        client = api(user)
    else:
        client = api(key=make_key(user, ApiKey.Scope.READ if how == "read key" else ApiKey.Scope.ACT))
    answer = client.get(path, query(path))
    assert answer.status_code == 200, answer.json()
    assert set(answer.json()) >= {"period", "filters"}


@pytest.mark.parametrize("path", PATHS)
def test_a_supervisor_who_loses_the_permission_is_refused(lab, api, supervisor, path):
    client = api(supervisor)
    assert client.get(path, query(path)).status_code == 200
    supervisor.groups.set([Group.objects.get(name="Agent")])
    assert api(supervisor).get(path, query(path)).status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_a_key_limited_to_a_department_reports_on_it_only(lab, api, make_key, time_machine, path):
    time_machine.move_to("2026-12-03 10:00Z", tick=False)
    client = api(key=make_key(lab.jane, ApiKey.Scope.READ, department=lab.sysadmins))
    mine = client.get(path, query(path))
    assert mine.status_code == 200 and mine.json()["filters"]["department"] == lab.sysadmins.pk
    same = client.get(path, {**query(path), "department": lab.sysadmins.pk})
    assert same.status_code == 200 and same.json() == mine.json()
    other = client.get(path, {**query(path), "department": lab.support.pk})
    assert other.status_code == 403
    assert other.json()["message"] == "This API key reports on the SysAdmins department only."


@pytest.mark.parametrize("path", PATHS)
def test_a_deactivated_supervisors_session_is_refused(lab, api, supervisor, path):
    client = api(supervisor)
    supervisor.is_active = False
    supervisor.save()
    assert client.get(path, query(path)).status_code == 401
