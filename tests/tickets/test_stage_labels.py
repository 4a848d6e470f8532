"""The eight public stage names: the stage strip shows them side by side, so no two may match."""

from django.urls import reverse

from tickets.models import PUBLIC_STAGE_LABELS, State
from tickets.stages import STAGES, progress


def test_every_stage_has_a_public_label_and_no_two_are_the_same():
    assert set(PUBLIC_STAGE_LABELS) == set(State.values)
    labels = list(PUBLIC_STAGE_LABELS.values())
    assert len(labels) == 8
    assert len({label.casefold() for label in labels}) == 8, labels


def test_the_strip_names_creation_and_intake_apart(new_ticket):
    ticket = new_ticket()
    steps = progress(ticket, set(), public=True)
    assert [step.label for step in steps][:2] == ["Submitted", "Received"]
    assert len({step.label for step in steps}) == len(STAGES) == 8


def test_the_home_page_lists_all_eight_stages(client, lab):
    page = client.get(reverse("portal:home")).content.decode()
    for label in PUBLIC_STAGE_LABELS.values():
        assert f"<li>{label}</li>" in page
