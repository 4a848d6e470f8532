"""The project's own URLs (helpdesk/urls.py), classified: a new one fails here until someone
decides who may use it. The doors' URLs are classified in their own test_access modules."""

import pytest
from django.urls import URLPattern

from helpdesk.urls import urlpatterns

# Anyone, without a session: a load balancer's probes (tests/ops/test_health.py).
PUBLIC = {"healthz", "readyz"}
# Allowed addresses or the token only (tests/ops/test_metrics.py).
RESTRICTED = {"metrics"}
# Anyone: the site's icon (a redirect to the static file; tests/test_demo_pages.py).
ICON = {"favicon"}
# Anyone, by POST with a CSRF token: the language picker (tests/i18n/test_preferences.py); what it
# stores is the caller's own choice, on their own account only.
LANGUAGE = {"set_language"}


def test_every_project_url_is_classified():
    names = {pattern.name for pattern in urlpatterns if isinstance(pattern, URLPattern)}
    assert names == PUBLIC | RESTRICTED | ICON | LANGUAGE


@pytest.mark.django_db
def test_the_icon_answers_anyone_with_a_redirect_to_the_static_file(client):
    response = client.get("/favicon.ico", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_probes_answer_a_remote_anonymous_caller(client, name):
    response = client.get(f"/{name}", REMOTE_ADDR="203.0.113.7")
    # readyz may be unready in a bare test database (no job run yet); it still answers, with JSON.
    assert response.status_code in {200, 503}
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(RESTRICTED))
def test_restricted_urls_refuse_a_remote_anonymous_caller(client, name):
    assert client.get(f"/{name}", REMOTE_ADDR="203.0.113.7").status_code == 403
    assert client.get(f"/{name}", REMOTE_ADDR="127.0.0.1").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(PUBLIC | RESTRICTED))
def test_they_take_no_writes(client, name):
    assert client.post(f"/{name}", REMOTE_ADDR="127.0.0.1").status_code in {403, 405}
