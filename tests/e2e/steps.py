"""What people do in the browser, found as a person finds it: links, buttons and fields by
their visible names and labels."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import Person, number_in

PASSWORD = "Password1"


# -- the requester, in the portal -----------------------------------------------------------------


def portal_sign_in(person: Person, email: str) -> None:
    person.go("/")
    page = person.page
    page.get_by_role("navigation").get_by_role("link", name="Sign in").click()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def portal_open_ticket(person: Person, *, topic: str, subject: str, body: str) -> str:
    """Open a ticket from the home page; returns its number, read off the confirmation."""
    page = person.page
    person.go("/")
    page.get_by_role("link", name="Open a New Ticket").click()
    page.get_by_label("Help topic").select_option(label=topic)
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Describe the problem").fill(body)
    # As a person would: the help articles suggested beside the form come (htmx) before the click,
    # so that no suggestion is still on its way when the page leaves. The description's "change"
    # asks for them when it loses focus: left here, it would fire on the click itself and the
    # request would be cut short by the page leaving (htmx logs that as an error).
    with page.expect_response(lambda r: "/help/suggest/" in r.url):
        page.get_by_label("Describe the problem").press("Tab")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Open the ticket").click()
    confirmation = page.get_by_text("Your ticket number is")
    expect(confirmation).to_be_visible()
    return number_in(confirmation.inner_text())


def portal_ticket(person: Person, subject: str) -> None:
    """Open one of my tickets from My tickets."""
    page = person.page
    person.go("/")
    page.get_by_role("link", name="My tickets").first.click()
    page.get_by_role("link", name=subject).click()
    expect(page.get_by_role("heading", name=subject)).to_be_visible()


def portal_stage(person: Person) -> str:
    """The stage the progress view says the ticket is in now."""
    return person.page.locator('[aria-current="step"] .step-label').inner_text()


# -- agents, in the console ---------------------------------------------------------------------------


def console_sign_in(person: Person, username: str) -> None:
    person.go("/agents/login/")
    page = person.page
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Queues")).to_be_visible()


def console_sign_out(person: Person) -> None:
    person.page.get_by_role("button", name="Sign out").click()
    expect(person.page.get_by_label("Username")).to_be_visible()


def open_queue(person: Person, queue: str) -> None:
    person.page.get_by_role("navigation", name="Queues").get_by_role("link", name=queue).click()


def queue_row(person: Person, subject: str):
    """The queue's row of the ticket with this subject."""
    return person.page.get_by_role("row").filter(has=person.page.get_by_role("link", name=subject))


def open_from_queue(person: Person, queue: str, subject: str) -> None:
    open_queue(person, queue)
    queue_row(person, subject).get_by_role("link", name=subject).click()
    expect(person.page.get_by_role("heading", name=subject)).to_be_visible()


def set_property(person: Person, label: str, option: str) -> None:
    """Change a property in place (htmx): the panel, the strip and the thread are replaced."""
    page = person.page
    # A page just opened may show its form before htmx has wired it up (the script comes last):
    # a change then would post nothing.
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    with page.expect_response(lambda r: "/properties/" in r.url and r.request.method == "POST"):
        page.get_by_label(label, exact=True).select_option(label=option)
    expect(page.get_by_label(label, exact=True).locator("option:checked")).to_have_text(option)
    settled(person)


def settled(person: Person) -> None:
    """Wait until htmx has swapped the new content in and wired it up (a person is never as
    quick as a test: a change made in the same instant would find the old content)."""
    person.page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def thread(person: Person):
    return person.page.get_by_role("region", name="Thread")


def trail(person: Person) -> list[tuple[str, ...]]:
    """The thread as a person reads it: ("event", text) for each event line, (kind, author,
    text) for each message, reply and note."""
    found: list[tuple[str, ...]] = []
    for item in thread(person).locator(":scope > .thread-event, :scope > article").all():
        if "thread-event" in (item.get_attribute("class") or ""):
            text = item.inner_text().replace("●", "").strip()
            found.append(("event", text.rsplit(" ", 3)[0].strip()))  # without its "3 Dec, 08:46"
        else:
            badge = item.locator(".kind-badge").inner_text().strip()
            author = item.locator(".card-header .fw-semibold").inner_text().strip()
            found.append((badge, author, item.locator(".message-body").inner_text().strip()))
    return found


def act(
    person: Person, button: str, fields: dict[str, str] | None = None, *, selects: dict | None = None
) -> None:
    """Run a lifecycle action: a one-click button, or a button that opens its dialog, where
    the fields are filled (by label) and the dialog's own button is pressed."""
    if fields is None and selects is None:
        actions = person.page.get_by_role("region", name="Actions")
        actions.get_by_role("button", name=button, exact=True).click()
        return
    dialog = open_dialog(person, button)
    for label, value in (selects or {}).items():
        dialog.get_by_label(label).select_option(label=value)
    for label, value in (fields or {}).items():
        dialog.get_by_label(label).fill(value)
    dialog.get_by_role("button", name=button, exact=True).click()


def open_dialog(person: Person, button: str):
    """Press an action's "…" button and wait for its dialog to have faded in."""
    page = person.page
    page.get_by_role("region", name="Actions").get_by_role("button", name=f"{button}…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.modal.show .modal-dialog')).transform === 'none'"
    )
    return dialog


def compose(person: Person, body: str, *, kind: str = "Reply to the requester") -> None:
    page = person.page
    page.get_by_label(kind).check()
    page.get_by_label("Message", exact=True).fill(body)
    page.get_by_role("button", name="Send").click()
    expect(thread(person).get_by_text(body)).to_be_visible()
