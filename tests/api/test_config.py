"""The configuration endpoints: help topics and priorities for every caller (an integration
needs the ids), departments, teams and SLA plans for agents only; and the schema of it all."""

import pytest

from tickets.models import ApiKey, HelpTopic, SLAPlan, Team


def names(answer):
    assert answer.status_code == 200, answer.json()
    return [row["name"] for row in answer.json()["results"]]


def test_help_topics_agents_see_every_active_one_others_the_public_ones(lab, api, integration):
    HelpTopic.objects.create(name="Internal only", is_public=False)
    HelpTopic.objects.create(name="Retired", is_active=False)
    for_agents = names(api(lab.john).get("/api/v1/help-topics/"))
    public = names(api(lab.karen).get("/api/v1/help-topics/"))
    assert "Internal only" in for_agents and "Internal only" not in public
    assert "Retired" not in for_agents + public
    assert "Report a Problem / Access Issue" in public
    assert names(api(key=integration).get("/api/v1/help-topics/")) == public


def test_priorities_most_urgent_first_for_everyone(lab, api, integration):
    expected = ["Emergency", "High", "Normal", "Low"]
    assert names(api(key=integration).get("/api/v1/priorities/")) == expected
    assert names(api(lab.karen).get("/api/v1/priorities/")) == expected
    row = api(lab.john).get("/api/v1/priorities/").json()["results"][0]
    assert set(row) == {"id", "name", "rank"}


def test_agents_read_departments_teams_and_sla_plans(lab, api):
    Team.objects.create(name="Old team", is_active=False)
    SLAPlan.objects.create(name="Old plan", grace_hours=1, is_active=False)
    john = api(lab.john)
    assert names(john.get("/api/v1/departments/")) == ["Support", "SysAdmins"]
    assert names(john.get("/api/v1/teams/")) == ["Online Banking"]
    assert "Old plan" not in names(john.get("/api/v1/sla-plans/"))
    assert john.get("/api/v1/teams/").json()["results"][0]["tier"] == 2


@pytest.mark.parametrize("path", ["/api/v1/departments/", "/api/v1/teams/", "/api/v1/sla-plans/"])
def test_only_agents_read_the_internal_configuration(lab, api, make_key, integration, path):
    for client in (api(lab.karen), api(key=integration), api(key=make_key(lab.karen, ApiKey.Scope.READ))):
        answer = client.get(path)
        assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    assert api(key=make_key(lab.jane, ApiKey.Scope.READ)).get(path).status_code == 200


def test_the_schema_describes_every_endpoint_with_its_errors_and_headers(db, client):
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert {
        "/api/v1/tickets/",
        "/api/v1/tickets/{number}/",
        "/api/v1/tickets/{number}/attachments/{attachment_id}/",
        "/api/v1/tickets/{number}/replies/",
        "/api/v1/tickets/{number}/notes/",
        "/api/v1/tickets/{number}/messages/",
        "/api/v1/tickets/{number}/transitions/escalate/",
        "/api/v1/help-topics/",
        "/api/v1/sla-plans/",
    } <= set(paths)
    assert not any("{name}" in path for path in paths)  # the unknown-name fallback is not offered
    create = paths["/api/v1/tickets/"]["post"]
    assert {"201", "400", "401", "403", "422", "429"} <= set(create["responses"])
    assert {p["name"] for p in create["parameters"]} >= {"Idempotency-Key"}
    assert set(create["responses"]["201"]["headers"]) >= {"ETag", "Location"}
    assert set(create["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    patch = paths["/api/v1/tickets/{number}/"]["patch"]
    assert "If-Match" in {p["name"] for p in patch["parameters"]} and "409" in patch["responses"]
    escalate = paths["/api/v1/tickets/{number}/transitions/escalate/"]["post"]
    body = escalate["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][body]["required"] == ["summary"]
    assert set(schema["components"]["securitySchemes"]) == {"apiKey", "session"}
