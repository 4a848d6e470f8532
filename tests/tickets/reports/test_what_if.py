"""SLA what-if (tickets.reports.sla.what_if): the period's tickets replayed from their logs under
another plan, or other hours, beside the outcomes they had. The histories are test_figures'."""

from __future__ import annotations

import pytest

from tests.tickets.reports import test_figures
from tests.tickets.reports.test_figures import PERIOD, Desk, at
from tickets.models import SLAPlan
from tickets.reports import sla
from tickets.reports.types import Attainment, Period, ReportFilters

desk = test_figures.desk  # the fixture: the same five histories

ACTUAL = [
    Attainment("first_response", "First response", 3, 1),
    Attainment("resolution", "Resolution", 3, 1),
]


def test_a_stricter_plan_turns_met_into_missed(lab, desk: Desk):
    """Sev-A (24/7, 1 hour to answer, 1 to resolve): only bounced, answered by its resolve an
    hour after creation, is still on time; bounced's second resolve came 3 hours after its
    escalation restarted the clock."""
    found = sla.what_if(lab.jane, PERIOD, ReportFilters(), plan=SLAPlan.objects.get(name="Sev-A"))
    assert found.actual == ACTUAL
    assert found.replayed == [
        Attainment("first_response", "First response", 1, 3),
        Attainment("resolution", "Resolution", 0, 4),
    ]
    assert (found.plan_name, found.first_response_hours, found.resolution_hours) == ("Sev-A", 1, 1)
    assert found.tickets == 4
    assert found.notes


def test_the_plan_s_own_plan_replays_to_what_the_tickets_had(lab, desk: Desk):
    payments = ReportFilters(help_topic_id=desk.weekend.help_topic_id)
    found = sla.what_if(lab.jane, PERIOD, payments, plan=SLAPlan.objects.get(name="Sev-C"))
    assert found.replayed == found.actual == [
        Attainment("first_response", "First response", 1, 0),
        Attainment("resolution", "Resolution", 0, 1),
    ]


def test_business_hours_turn_a_missed_weekend_into_a_met_one(lab, desk: Desk):
    """Under the Default SLA (24/7) the Friday ticket's first reply on Monday is days late; the
    tickets made on weekdays keep their outcomes under Sev-C's office hours."""
    default = sla.what_if(lab.jane, PERIOD, ReportFilters(), plan=SLAPlan.objects.get(name="Default SLA"))
    assert default.replayed == [
        Attainment("first_response", "First response", 2, 2),
        Attainment("resolution", "Resolution", 3, 1),
    ]
    assert any("High" in note for note in default.notes)  # its own hours per priority apply
    office = sla.what_if(lab.jane, PERIOD, ReportFilters(), plan=SLAPlan.objects.get(name="Sev-C"))
    assert office.replayed == [
        Attainment("first_response", "First response", 4, 0),
        Attainment("resolution", "Resolution", 3, 1),
    ]
    assert any("Office hours" in note for note in office.notes)


def test_hours_given_in_the_form_override_the_plan_s(lab, desk: Desk):
    """The Default SLA with 2 hours to a first response, for every priority: paused (answered
    after 3 hours) and sysadmins (3 h 30) miss it, bounced (1 hour) meets it; the resolution
    keeps the plan's hours (18, High 8)."""
    default = SLAPlan.objects.get(name="Default SLA")
    found = sla.what_if(lab.jane, PERIOD, ReportFilters(), plan=default, first_response_hours=2)
    assert found.replayed == [
        Attainment("first_response", "First response", 1, 3),
        Attainment("resolution", "Resolution", 3, 1),
    ]
    assert (found.first_response_hours, found.resolution_hours) == (2, 18)
    both = sla.what_if(
        lab.jane, PERIOD, ReportFilters(), plan=default, first_response_hours=4, resolution_hours=4
    )
    # Four hours to resolve: sysadmins (3 h 30) and bounced (3 hours after its escalation
    # restarted the clock) meet them; paused ran 5 hours besides its pause.
    assert both.replayed[1] == Attainment("resolution", "Resolution", 2, 2)


def test_what_if_counts_only_what_the_user_may_see_in_the_period(lab, desk: Desk):
    sev_a = SLAPlan.objects.get(name="Sev-A")
    johns = sla.what_if(lab.john, PERIOD, ReportFilters(), plan=sev_a)
    assert johns.tickets == 3  # not the SysAdmins ticket
    assert johns.actual == sla.attainment(lab.john, PERIOD, ReportFilters())
    monday = sla.what_if(lab.jane, Period(at(30, 0), at(1, 0)), ReportFilters(), plan=sev_a)
    assert monday.tickets == 1
    assert monday.replayed == [
        Attainment("first_response", "First response", 0, 1),
        Attainment("resolution", "Resolution", 0, 1),
    ]


@pytest.mark.parametrize("plan_name", ["Sev-A", "Sev-C"])
def test_replaying_costs_a_fixed_number_of_queries(lab, desk: Desk, plan_name, django_assert_max_num_queries):
    plan = SLAPlan.objects.get(name=plan_name)
    sla.what_if(lab.jane, PERIOD, ReportFilters(), plan=plan)
    with django_assert_max_num_queries(8):
        sla.what_if(lab.jane, PERIOD, ReportFilters(), plan=plan)
