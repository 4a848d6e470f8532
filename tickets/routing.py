"""Intake routing rules: which of the admin's ordered rules apply to a new ticket, and what
they set. Evaluated by the intake (``tickets.services``); pure functions over plain values.

Every comparison ignores case. Regular expressions are the admin's, checked when saved; the
text they run over is cut to ``MAX_TEXT`` characters so that a long body cannot make a
careless pattern run for minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tickets import catalog
from tickets.models import RoutingCondition, RoutingRule

MAX_TEXT = 20_000

Field = RoutingCondition.Field
Operator = RoutingCondition.Operator


@dataclass(frozen=True)
class Facts:
    """What the rules look at, taken from the new ticket."""

    email: str
    subject: str
    body: str
    help_topic: str
    source: str


@dataclass
class Outcome:
    """The actions of the rules that applied, later rules overriding earlier ones."""

    rules: list[str] = field(default_factory=list)
    department: Any = None
    team: Any = None
    agent: Any = None
    priority: Any = None
    sla: Any = None
    help_topic: Any = None
    spam: bool = False
    quiet: bool = False
    # Which rule set each action, for the log rows of the moves they cause.
    set_by: dict[str, str] = field(default_factory=dict)

    def add(self, rule: RoutingRule) -> None:
        self.rules.append(rule.name)
        for name in ("department", "team", "agent", "priority", "sla", "help_topic"):
            value = getattr(rule, f"set_{name}")
            if value is not None:
                setattr(self, name, value)
                self.set_by[name] = rule.name
        if rule.reject_as_spam and not self.spam:
            self.spam = True
            self.set_by["spam"] = rule.name
        self.quiet = self.quiet or rule.suppress_auto_response or rule.reject_as_spam


def _domain_of(email: str) -> str:
    return email.rpartition("@")[2].strip().lower().rstrip(".")


def condition_holds(condition: RoutingCondition, facts: Facts) -> bool:
    text = str(getattr(facts, condition.field, ""))[:MAX_TEXT]
    value = condition.value.strip()
    if condition.operator == Operator.EQUALS:
        return text.strip().casefold() == value.casefold()
    if condition.operator == Operator.CONTAINS:
        return value.casefold() in text.casefold()
    if condition.operator == Operator.DOMAIN:
        domain, wanted = _domain_of(text), value.lower().lstrip("@").rstrip(".")
        return domain == wanted or domain.endswith("." + wanted)
    if condition.operator == Operator.REGEX:
        try:
            return re.search(value, text, flags=re.IGNORECASE) is not None
        except re.error:
            return False  # saved before validation existed: a broken rule matches nothing
    return False


def rule_matches(rule: RoutingRule, facts: Facts) -> bool:
    """A rule without conditions matches nothing: a catch-all must say what it catches."""
    conditions = list(rule.conditions.all())
    if not conditions:
        return False
    results = (condition_holds(condition, facts) for condition in conditions)
    return all(results) if rule.match == RoutingRule.Match.ALL else any(results)


def evaluate(rules: Iterable[RoutingRule], facts: Facts) -> Outcome:
    outcome = Outcome()
    for rule in rules:
        if rule_matches(rule, facts):
            outcome.add(rule)
            if rule.stop_on_match:
                break
    return outcome


# What a rule sets, and the catalog's table that holds it.
_TARGETS = {
    "set_department": "departments",
    "set_team": "teams",
    "set_agent": "agents",
    "set_priority": "priorities",
    "set_sla": "sla_plans",
    "set_help_topic": "help_topics",
}


def active_rules() -> list[RoutingRule]:
    """The active rules in order, with their conditions (two queries, one while no rule is
    active); what they set comes from the catalog."""
    rules = list(RoutingRule.objects.filter(is_active=True).prefetch_related("conditions"))
    return catalog.attach(rules, _TARGETS)
