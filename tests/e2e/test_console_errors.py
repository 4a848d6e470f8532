"""The browser tests' rule for console errors: every error fails a test, except the pair htmx
logs for a request that the page's leaving cut short."""

from tests.e2e.conftest import real_errors


def test_a_request_cut_short_by_leaving_the_page_is_not_an_error():
    pair = ["htmx:afterRequest, [object HTMLDivElement]", "htmx:sendAbort, [object HTMLDivElement]"]
    assert real_errors(pair) == []


def test_every_other_error_stays():
    csp = "Refused to apply inline style because it violates the Content Security Policy directive"
    assert real_errors([csp]) == [csp]
    # A failed request (no abort) is an error, and so is anything beside an aborted one.
    assert real_errors(["htmx:afterRequest, [object HTMLFormElement]"]) == [
        "htmx:afterRequest, [object HTMLFormElement]"
    ]
    assert real_errors(["htmx:sendAbort, x", "htmx:afterRequest, x", csp]) == [csp]
