"""`manage.py graph_transitions` draws the lifecycle, and docs/lifecycle.svg is the current drawing."""

from io import StringIO
from pathlib import Path

from django.core.management import call_command

from tickets.models import Ticket

SVG = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.svg"


def edges() -> set[str]:
    return {t.name for t in Ticket._meta.get_field("state").get_all_transitions(Ticket)}


def test_graph_transitions_draws_every_transition():
    out = StringIO()
    call_command("graph_transitions", "tickets.Ticket", stdout=out)
    dot = out.getvalue()
    assert dot.lstrip().startswith("digraph")
    for name in edges():
        assert f"label={name}" in dot, name


def test_the_committed_diagram_shows_every_transition_and_state():
    svg = SVG.read_text()
    for name in edges():
        assert f">{name}</text>" in svg, f"{name} missing: run `make graph`"
    for label in (
        "New",
        "Open",
        "Assigned",
        "Awaiting user",
        "In progress",
        "Escalated",
        "Resolved",
        "Closed",
    ):
        assert f">{label}</text>" in svg
