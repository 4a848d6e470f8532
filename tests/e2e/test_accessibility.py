"""Accessibility: axe-core's WCAG 2.0 and 2.1 rules (levels A and AA) over the main pages of
the portal and the console, in a light and a dark colour scheme, with the lab's tickets in
every stage. Any serious or critical violation fails the test, named with its rule, its impact
and the elements it was found on.

axe-core is vendored in tests/e2e/vendor/axe-core/ (see its README) and injected by the test
only: the test's browser contexts bypass the content security policy, which otherwise refuses
a script the page did not ask for. The product itself never loads axe.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import steps
from tickets import lab as lab_data
from tickets.models import Article, State, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# The rules of WCAG 2.0 and 2.1 at levels A and AA; best practices are not checked here.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}

RUN_AXE = """tags => axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
  .then(results => results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")),
  })))"""

# Bootstrap's own dark theme, switched on the way its documentation does it. The pages do not
# switch to it by themselves yet (they stay light under a dark ``prefers-color-scheme``), so the
# dark run both asks for the dark scheme and sets the theme: our styles must read well in it.
DARK_THEME = "document.documentElement.setAttribute('data-bs-theme', 'dark')"


def violations_on(person, path: str, *, dark_theme: bool) -> list[str]:
    """The serious and critical violations axe finds on one page, one line each."""
    person.go(path)
    page = person.page
    page.wait_for_load_state("networkidle")
    if dark_theme:
        page.evaluate(DARK_THEME)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE, WCAG_TAGS)
    return [
        f"{path}: {v['id']} ({v['impact']}) {v['help']}: {', '.join(v['targets'])}"
        for v in found
        if v["impact"] in FAILING_IMPACTS
    ]


@pytest.fixture
def tickets_everywhere(lab):
    """The lab's tickets (one in every stage, with priorities) and its knowledge base."""
    lab_data.load_articles(lab)
    lab_data.load_tickets(lab)
    return lab


@pytest.mark.parametrize(
    "scheme, dark_theme", [("light", False), ("dark", True)], ids=["light", "dark"]
)
def test_the_main_pages_have_no_serious_accessibility_violation(
    person, tickets_everywhere, scheme, dark_theme
):
    lab = tickets_everywhere
    karens = Ticket.objects.filter(requester=lab.karen.requester).order_by("-pk").first()
    escalated = Ticket.objects.filter(state=State.ESCALATED).first() or karens
    article = Article.objects.filter(
        audience=Article.Audience.PUBLIC, status=Article.Status.PUBLISHED
    ).first()
    # Reduced motion turns Bootstrap's colour transitions off: axe reads the colours of the
    # theme just set, not those of a button half-way to them.
    options = {"bypass_csp": True, "color_scheme": scheme, "reduced_motion": "reduce"}
    found: list[str] = []

    guest = person(**options)
    for path in ("/", "/tickets/new/", "/status/", "/accounts/login/", "/accounts/register/", "/help/",
                 f"/help/{article.slug}/", "/agents/login/"):
        found += violations_on(guest, path, dark_theme=dark_theme)

    karen = person(**options)
    steps.portal_sign_in(karen, lab.karen.email)
    for path in ("/", "/tickets/new/", "/tickets/", f"/tickets/{karens.number}/"):
        found += violations_on(karen, path, dark_theme=dark_theme)

    # The lab's major incident and Ken's report of it: the "Known problem" notice, the panel.
    incident = Ticket.objects.get(is_major_incident=True)
    kens = incident.reports.get(requester=lab.ken.requester)
    ken = person(**options)
    steps.portal_sign_in(ken, lab.ken.email)
    found += violations_on(ken, f"/tickets/{kens.number}/", dark_theme=dark_theme)

    jane = person(**options)
    steps.console_sign_in(jane, "jane")
    for path in ("/agents/", "/agents/queues/all/", f"/agents/tickets/{escalated.number}/",
                 f"/agents/tickets/{karens.number}/", "/agents/tickets/new/", "/agents/reports/",
                 f"/agents/tickets/{incident.number}/", f"/agents/tickets/{kens.number}/"):
        found += violations_on(jane, path, dark_theme=dark_theme)

    assert found == [], "\n".join(found)


@pytest.mark.parametrize("language", ["ar", "de"])
def test_the_main_pages_in_arabic_and_german_have_no_serious_accessibility_violation(
    person, tickets_everywhere, language
):
    """The same rules with the pages turned right to left (Arabic) or with German's long words:
    the language is the browser's (Accept-Language), and each page says it (lang, dir)."""
    lab = tickets_everywhere
    karens = Ticket.objects.filter(requester=lab.karen.requester).order_by("-pk").first()
    options = {"bypass_csp": True, "reduced_motion": "reduce", "locale": language}
    found: list[str] = []
    guest = person(**options)
    for path in ("/", "/tickets/new/", "/help/", "/agents/login/"):
        found += violations_on(guest, path, dark_theme=False)
    karen = person(**options)
    karen.go("/accounts/login/")
    karen.page.locator("input[name=username]").fill(lab.karen.email)
    karen.page.locator("input[name=password]").fill(steps.PASSWORD)
    karen.page.locator("main button[type=submit]").click()
    karen.page.wait_for_url("**/tickets/")  # signed in: her list, not the sign-in page again
    for path in ("/tickets/", f"/tickets/{karens.number}/"):
        found += violations_on(karen, path, dark_theme=False)
    jane = person(**options)
    jane.go("/agents/login/")
    jane.page.locator("input[name=username]").fill("jane")
    jane.page.locator("input[name=password]").fill(steps.PASSWORD)
    jane.page.locator("main button[type=submit]").click()
    for path in ("/agents/queues/all/", f"/agents/tickets/{karens.number}/", "/agents/alerts/"):
        found += violations_on(jane, path, dark_theme=False)
    assert jane.page.evaluate("document.documentElement.lang") == language
    assert found == [], "\n".join(found)
