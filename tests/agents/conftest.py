import pytest


@pytest.fixture
def ticket(new_ticket):
    """Karen's ticket, just through intake: open, in Support, unassigned."""
    return new_ticket()


@pytest.fixture
def john(browser, lab):
    """John's browser, signed in to the console."""
    return browser(lab.john)


@pytest.fixture
def jane(browser, lab):
    """Jane's browser, signed in to the console."""
    return browser(lab.jane)
