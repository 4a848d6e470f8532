import pytest


@pytest.fixture
def client(browser):
    return browser()
