"""The API's schema and its interactive docs: served by us, Swagger UI from our own static files
(no CDN), under the same Content-Security-Policy as every page."""

from __future__ import annotations

import pytest
import yaml
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_and_describes_version_1(client: Client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == settings.SPECTACULAR_SETTINGS["TITLE"]
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_the_docs_page_loads_swagger_ui_from_our_static_files_under_the_csp(client: Client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert "<style" not in page
    scripts = [part.split('"')[1] for part in page.split("<script src=")[1:]]
    assert scripts and all(src.startswith(("/static/", "/api/docs/")) for src in scripts), scripts
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in scripts
    # The page's own start-up script is a separate request (no inline script), pointing at the schema.
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("path", ["/api/", "/api/v2/tickets/", "/api/v1/tickets", "/api/v1/nothing/"])
def test_a_path_that_names_no_endpoint_is_the_apis_json_404(client: Client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "not_found",
        "message": "No such endpoint (paths end with a slash); the endpoints are listed at /api/docs/.",
    }


def test_an_unknown_transition_says_so(admin_client):
    response = admin_client.post("/api/v1/tickets/100001/transitions/teleport/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "No such transition."}
