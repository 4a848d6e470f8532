"""Schemathesis against our own /api/schema/: requests generated from the schema, sent to the
application in process (WSGI), every answer checked: no server error, a status code the schema
names, a body that matches the schema, and the content type it declares.

Three callers: Jane's key (she sees every ticket, so the lists carry real rows of the lab's
tickets), Karen's (a requester: her own tickets, public entries) and a monitoring integration's
"create only" key (mostly refusals, which must match the schema too)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tickets import apikeys
from tickets import lab as lab_data
from tickets.models import ApiKey

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@pytest.fixture
def api_schema(lab, settings):
    settings.ALLOWED_HOSTS = ["*"]
    lab_data.load_tickets(lab)
    # The WSGI handler closes the database connection after each request unless it is told
    # not to, as Django's test client is: the test's transaction must survive the requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def key_for(owner, scope) -> dict[str, str]:
    raw = apikeys.apikey_create(name=str(owner), owner=owner, scope=scope, rate_limit=100_000)[1]
    return {"Authorization": f"Bearer {raw}"}


# Each operation of the schema, run as its own Hypothesis test. (schemathesis's pytest loader,
# ``schema.parametrize()``, does not run under pytest 9.2: it reads a private attribute that
# pytest removed.)
SETTINGS = settings(
    max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
CALLERS = {
    "agent": lambda lab: key_for(lab.jane, ApiKey.Scope.ACT),
    "requester": lambda lab: key_for(lab.karen, ApiKey.Scope.ACT),
    "integration": lambda lab: key_for(lab.admin, ApiKey.Scope.CREATE),
}


@pytest.mark.django_db
@pytest.mark.parametrize("caller", CALLERS)
def test_every_answer_matches_the_schema(api_schema, lab, caller):
    headers = CALLERS[caller](lab)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 14
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @SETTINGS
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
