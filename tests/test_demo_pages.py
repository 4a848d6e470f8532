"""What ``make run`` (DEBUG on, the demo) shows: the product's own error pages rather than
Django's debug screens (helpdesk/errorpages.py), the demo logins once, and an icon at
/favicon.ico."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.templatetags.static import static
from django.urls import reverse

from helpdesk.errorpages import ProductErrorPagesMiddleware

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_404 = "There is nothing here, or you may not see it."
DEBUG_404 = "Using the URLconf defined in"


@pytest.fixture
def make_run(settings):
    """The settings ``make run`` starts the dev server with: DEBUG on, nothing else set."""
    settings.DEBUG = True
    settings.SHOW_DEBUG_PAGES = False
    return settings


def test_make_run_leaves_show_debug_pages_off():
    """make run exports DEBUG=1 and nothing that would bring the debug screens back."""
    assert "SHOW_DEBUG_PAGES" not in (ROOT / "Makefile").read_text()


@pytest.mark.django_db
def test_another_requesters_ticket_is_the_products_404(make_run, browser, lab, new_ticket, other_requester):
    theirs = new_ticket(requester=other_requester, actor=None)
    response = browser(lab.karen).get(reverse("portal:ticket", args=[theirs.number]))
    assert response.status_code == 404
    page = response.content.decode()
    assert PRODUCT_404 in page
    assert DEBUG_404 not in page
    assert "Content-Security-Policy" in response.headers


@pytest.mark.django_db
def test_an_unknown_address_is_the_products_404(make_run, client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert PRODUCT_404 in response.content.decode()
    assert DEBUG_404 not in response.content.decode()


@pytest.mark.django_db
def test_an_address_without_its_slash_is_still_redirected(make_run, client):
    """CommonMiddleware's APPEND_SLASH still sees the 404 and redirects."""
    response = client.get("/tickets/new")
    assert response.status_code == 301
    assert response["Location"] == reverse("portal:open_ticket")


@pytest.mark.django_db
def test_show_debug_pages_brings_djangos_debug_404_back(make_run, client):
    make_run.SHOW_DEBUG_PAGES = True
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert DEBUG_404 in response.content.decode()


@pytest.mark.django_db
def test_with_debug_off_the_middleware_leaves_errors_to_django(settings, rf):
    settings.DEBUG = False
    middleware = ProductErrorPagesMiddleware(lambda request: None)
    assert middleware.process_exception(rf.get("/"), RuntimeError("boom")) is None


@pytest.mark.django_db
def test_a_crash_is_the_products_500_and_is_logged(make_run, rf, caplog):
    middleware = ProductErrorPagesMiddleware(lambda request: None)
    request = rf.get("/agents/")
    with caplog.at_level("ERROR", logger="django.request"):
        response = middleware.process_exception(request, RuntimeError("boom"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert [record.exc_info[1].args for record in caplog.records] == [("boom",)]


@pytest.mark.django_db
def test_a_refusal_is_the_products_403(make_run, rf):
    from django.core.exceptions import PermissionDenied

    response = ProductErrorPagesMiddleware(lambda request: None).process_exception(
        rf.get("/"), PermissionDenied("no")
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_load_lab_prints_the_demo_logins_and_make_run_does_not_repeat_them(lab):
    out = StringIO()
    call_command("load_lab", stdout=out)
    assert out.getvalue().count("Demo logins") == 1
    run_recipe = re.search(r"^run: \$\(STAMP\)\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert run_recipe, "the Makefile has no run target"
    assert "Password1" not in run_recipe.group(1)


@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.django_db
def test_favicon_ico_answers_everyone_with_the_sites_icon(client, lab, signed_in):
    if signed_in:
        client.force_login(lab.john)
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == static("favicon.svg")
    assert (ROOT / "static" / "favicon.svg").read_text().startswith("<svg")
