"""Intake routing rules: conditions, order, stop on match, every action, and the log naming them."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from tests.factories import AgentFactory
from tickets import lab as lab_data
from tickets import routing
from tickets.models import (
    HelpTopic,
    Priority,
    RoutingCondition,
    RoutingRule,
    SLAPlan,
    State,
    Ticket,
)

Field = RoutingCondition.Field
Op = RoutingCondition.Operator


def rule(name, *conditions, position=0, **actions):
    made = RoutingRule.objects.create(name=name, position=position, **actions)
    for field, operator, value in conditions:
        RoutingCondition.objects.create(rule=made, field=field, operator=operator, value=value)
    return made


def facts(**given):
    values = {"email": "karen@example.com", "subject": "", "body": "", "help_topic": "", "source": "web"}
    return routing.Facts(**{**values, **given})


def test_online_banking_in_the_subject_routes_karens_ticket_to_sysadmins_as_emergency(
    lab, new_ticket, django_capture_on_commit_callbacks
):
    """The lab's example rule, switched on: Example 1's ticket lands in SysAdmins with
    Emergency at intake, and the intake's log row names the rule."""
    RoutingRule.objects.filter(name=lab_data.EXAMPLE_RULE).update(is_active=True)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = new_ticket()
    assert (ticket.state, ticket.department, ticket.priority.name) == (State.OPEN, lab.sysadmins, "Emergency")
    intake = ticket.transitions.get(name="intake")
    assert intake.reason == f"Routing rules applied: “{lab_data.EXAMPLE_RULE}”"
    event = ticket.thread.filter(kind="event").first().body
    assert "department SysAdmins, priority Emergency" in event and lab_data.EXAMPLE_RULE in event
    # SysAdmins' agents hear of it (Jane), Support's (John) do not; Karen gets her acknowledgement.
    assert sorted(m.to[0] for m in mail.outbox) == ["jane@example.com", "karen@example.com"]


def test_the_example_rule_is_off_in_the_lab_so_example_1_is_untouched(lab, new_ticket):
    assert not RoutingRule.objects.get(name=lab_data.EXAMPLE_RULE).is_active
    ticket = new_ticket()
    assert (ticket.department, ticket.priority.name) == (lab.support, "Normal")
    assert ticket.transitions.get(name="intake").reason == ""


@pytest.mark.parametrize(
    ("field", "operator", "value", "given", "matches"),
    [
        (Field.EMAIL, Op.EQUALS, "KAREN@example.com", {}, True),
        (Field.EMAIL, Op.EQUALS, "karen@example.co", {}, False),
        (Field.EMAIL, Op.DOMAIN, "example.com", {}, True),
        (Field.EMAIL, Op.DOMAIN, "@Example.COM", {}, True),
        (Field.EMAIL, Op.DOMAIN, "example.com", {"email": "ops@eu.example.com"}, True),
        (Field.EMAIL, Op.DOMAIN, "example.com", {"email": "ops@notexample.com"}, False),
        (Field.EMAIL, Op.CONTAINS, "karen", {}, True),
        (Field.SUBJECT, Op.CONTAINS, "online banking", {"subject": "Online Banking is down"}, True),
        (Field.SUBJECT, Op.CONTAINS, "online banking", {"subject": "Printer jam"}, False),
        (Field.SUBJECT, Op.EQUALS, "printer jam", {"subject": "  Printer Jam "}, True),
        (Field.BODY, Op.REGEX, r"\bVPN\b", {"body": "my vpn drops"}, True),
        (Field.BODY, Op.REGEX, r"^urgent", {"body": "not urgent"}, False),
        (
            Field.HELP_TOPIC,
            Op.EQUALS,
            "Report a Problem / Access Issue",
            {"help_topic": "Report a Problem / Access Issue"},
            True,
        ),
        (Field.HELP_TOPIC, Op.CONTAINS, "problem", {"help_topic": "Feedback"}, False),
        (Field.SOURCE, Op.EQUALS, "phone", {"source": "phone"}, True),
        (Field.SOURCE, Op.EQUALS, "phone", {"source": "web"}, False),
    ],
)
def test_each_condition(db, field, operator, value, given, matches):
    made = rule("R", (field, operator, value))
    assert routing.rule_matches(made, facts(**given)) is matches


def test_all_or_any_conditions(db):
    both = (Field.SUBJECT, Op.CONTAINS, "vpn"), (Field.EMAIL, Op.DOMAIN, "example.org")
    all_rule = rule("All", *both)
    any_rule = rule("Any", *both, match=RoutingRule.Match.ANY)
    one = facts(subject="VPN down")
    assert not routing.rule_matches(all_rule, one) and routing.rule_matches(any_rule, one)
    assert routing.rule_matches(all_rule, facts(subject="VPN down", email="a@example.org"))


def test_a_rule_without_conditions_matches_nothing(db):
    assert not routing.rule_matches(rule("Empty"), facts(subject="anything"))


def test_rules_run_in_order_later_ones_override_and_stop_on_match_ends_the_run(lab):
    high, emergency = Priority.objects.get(name="High"), Priority.objects.get(name="Emergency")
    rule(
        "Second", (Field.SUBJECT, Op.CONTAINS, "down"), position=2, set_priority=emergency, stop_on_match=True
    )
    rule("First", (Field.SUBJECT, Op.CONTAINS, "down"), position=1, set_priority=high)
    rule("Third", (Field.SUBJECT, Op.CONTAINS, "down"), position=3, set_department=lab.sysadmins)
    outcome = routing.evaluate(routing.active_rules(), facts(subject="Server down"))
    assert outcome.rules == ["First", "Second"]
    assert outcome.priority == emergency and outcome.department is None


def test_inactive_rules_do_not_run(lab):
    rule("Off", (Field.SUBJECT, Op.CONTAINS, "down"), is_active=False, set_department=lab.sysadmins)
    assert routing.evaluate(routing.active_rules(), facts(subject="Server down")).rules == []


def test_every_property_action_at_intake(lab, new_ticket):
    topic = lab.topic("Report a Problem / Access Issue")
    rule(
        "Everything",
        (Field.SUBJECT, Op.CONTAINS, "vpn"),
        set_department=lab.sysadmins,
        set_team=lab.online_banking,
        set_priority=Priority.objects.get(name="High"),
        set_sla=SLAPlan.objects.get(name="Sev-B"),
        set_help_topic=topic,
    )
    ticket = new_ticket(subject="VPN refuses my password")
    assert (ticket.department, ticket.team, ticket.priority.name, ticket.sla.name, ticket.help_topic) == (
        lab.sysadmins,
        lab.online_banking,
        "High",
        "Sev-B",
        topic,
    )
    assert ticket.state == State.OPEN  # a team alone waits in the queue, as a topic's team does


def test_a_topic_set_by_a_rule_brings_its_defaults(lab, new_ticket):
    topic = lab.topic("Password Reset")
    HelpTopic.objects.filter(pk=topic.pk).update(
        department=lab.sysadmins, sla=SLAPlan.objects.get(name="Sev-C")
    )
    rule("Reset", (Field.SUBJECT, Op.CONTAINS, "password"), set_help_topic=topic)
    ticket = new_ticket(subject="Forgot my password", topic="General Inquiry")
    assert (ticket.help_topic, ticket.department, ticket.sla.name) == (topic, lab.sysadmins, "Sev-C")


def test_a_rule_that_names_an_agent_assigns_the_ticket_and_says_which_rule(lab, new_ticket):
    rule("Printers to John", (Field.SUBJECT, Op.CONTAINS, "printer"), set_agent=lab.john)
    ticket = new_ticket(subject="Printer jams")
    assert (ticket.state, ticket.assignee) == (State.ASSIGNED, lab.john)
    assign = ticket.transitions.get(name="assign")
    assert (assign.actor, assign.actor_label) == (None, "system: routing rule “Printers to John”")


def test_spam_is_closed_at_once_and_nobody_is_mailed(lab, new_ticket, django_capture_on_commit_callbacks):
    rule("Crypto spam", (Field.BODY, Op.REGEX, r"crypto\s+giveaway"), reject_as_spam=True)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = new_ticket(subject="Free coins", body="Join our CRYPTO  giveaway now")
    assert ticket.state == State.CLOSED and ticket.number  # kept, so a false positive can be found
    assert list(ticket.transitions.values_list("name", "actor_label", "reason")) == [
        ("create", "Karen", ""),
        ("intake", "system: intake", "Routing rules applied: “Crypto spam”"),
        ("cancel", "system: routing rule “Crypto spam”", "Rejected as spam"),
    ]
    assert mail.outbox == []


def test_suppress_auto_response_keeps_the_acknowledgement_only(
    lab, new_ticket, django_capture_on_commit_callbacks
):
    rule("Monitoring", (Field.EMAIL, Op.DOMAIN, "example.com"), suppress_auto_response=True)
    with django_capture_on_commit_callbacks(execute=True):
        new_ticket()
    assert [m.to for m in mail.outbox] == [["john@example.com"]]  # the agents still hear of it


def test_an_inactive_agent_named_by_a_rule_is_not_assigned(lab, new_ticket):
    gone = AgentFactory(username="gone", departments=[lab.support], is_active=False)
    rule("To gone", (Field.SUBJECT, Op.CONTAINS, "printer"), set_agent=gone)
    ticket = new_ticket(subject="Printer jams")
    assert (ticket.state, ticket.assignee) == (State.OPEN, None)


@pytest.mark.parametrize(
    ("field", "operator", "value", "message"),
    [
        (Field.BODY, Op.REGEX, "([a-z", "not a valid regular expression"),
        (Field.SUBJECT, Op.DOMAIN, "example.com", "requester e-mail only"),
        (Field.SUBJECT, Op.CONTAINS, "   ", "Give a value"),
    ],
)
def test_a_condition_that_cannot_work_is_refused_when_saved(db, field, operator, value, message):
    condition = RoutingCondition(rule=rule("R"), field=field, operator=operator, value=value)
    with pytest.raises(ValidationError, match=message):
        condition.full_clean()


def test_a_broken_pattern_saved_anyway_matches_nothing_and_breaks_no_intake(lab, new_ticket):
    rule("Broken", (Field.BODY, Op.REGEX, "([a-z"), set_department=lab.sysadmins)
    ticket = new_ticket()
    assert ticket.department == lab.support and Ticket.objects.count() == 1


def test_a_long_body_is_cut_before_a_pattern_runs(db):
    made = rule("Tail", (Field.BODY, Op.REGEX, "needle$"))
    assert not routing.rule_matches(made, facts(body="x" * routing.MAX_TEXT + "needle"))
    assert routing.rule_matches(made, facts(body="x" * 100 + "needle"))


def test_a_rules_team_overrides_the_topics_team(lab, new_ticket):
    from tests.factories import TeamFactory

    topic = lab.topic("Report a Problem")
    HelpTopic.objects.filter(pk=topic.pk).update(team=TeamFactory(name="Desk-side"))
    rule("Banking team", (Field.SUBJECT, Op.CONTAINS, "online banking"), set_team=lab.online_banking)
    ticket = new_ticket()  # "Entire mobile/online banking system is down", topic Report a Problem
    assert (ticket.help_topic, ticket.team) == (topic, lab.online_banking)


def test_the_first_spam_rule_that_matches_is_the_one_named(lab, new_ticket):
    rule("Crypto", (Field.BODY, Op.CONTAINS, "crypto"), position=1, reject_as_spam=True)
    rule("Giveaway", (Field.BODY, Op.CONTAINS, "giveaway"), position=2, reject_as_spam=True)
    ticket = new_ticket(subject="Free coins", body="Join our crypto giveaway")
    cancel = ticket.transitions.get(name="cancel")
    assert cancel.actor_label == "system: routing rule “Crypto”"
