import pytest

from tickets.mailin import store
from tickets.models import InboundMessage


@pytest.fixture
def ingest(django_capture_on_commit_callbacks):
    """Ingest as the pipe does, with the mail the message causes sent."""

    def run(raw: bytes) -> InboundMessage:
        with django_capture_on_commit_callbacks(execute=True):
            return store.ingest(raw)

    return run
