"""`manage.py load_lab`: the lab of docs, idempotent."""

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from tickets import lab, lab_incident
from tickets.models import Department, HelpTopic, Priority, SLAPlan, State, Team, ThreadEntry, Ticket

SKIP = {"last_login"}


def everything() -> dict[str, list[tuple]]:
    """Every row of every model, minus columns that change by themselves."""
    dump = {}
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in SKIP]
        dump[model._meta.label] = sorted(map(repr, model.objects.values_list(*fields)))
    return dump


def test_load_lab_builds_the_lab(db):
    call_command("load_lab", verbosity=0)
    assert set(Department.objects.values_list("name", flat=True)) >= {"Support", "SysAdmins"}
    assert Department.objects.get(is_default=True).name == "Support"
    assert list(Priority.objects.values_list("name", flat=True)) == [
        "Low",
        "Normal",
        "High",
        "Emergency",
    ]
    assert Priority.objects.get(is_default=True).name == "Normal"
    plans = {p.name: (p.grace_hours, p.schedule) for p in SLAPlan.objects.all()}
    assert (
        plans["Sev-A"] == (1, "24/7") and plans["Sev-B"] == (4, "24/7") and plans["Sev-C"] == (8, "business")
    )
    assert SLAPlan.objects.get(is_default=True).name == "Default SLA"
    assert sorted(t.full_name for t in HelpTopic.objects.select_related("parent")) == sorted(
        [
            "General Inquiry",
            "Feedback",
            "Report a Problem",
            "Report a Problem / Access Issue",
            "Report a Problem / Business Critical Outage",
            "Password Reset",
            "Equipment Request",
            "Personal Computer Issues",
        ]
    )
    team = Team.objects.get(name="Online Banking")
    users = get_user_model().objects
    jane, john = users.get(username="jane"), users.get(username="john")
    assert jane.get_full_name() == "Jane Doe" and jane.is_staff and jane.check_password("Password1")
    assert list(jane.groups.values_list("name", flat=True)) == ["Supreme Admin"]
    assert list(jane.agent.departments.values_list("name", flat=True)) == ["SysAdmins"]
    assert list(team.members.values_list("user__username", flat=True)) == ["jane"]
    assert list(john.agent.departments.values_list("name", flat=True)) == ["Support"]
    assert list(john.groups.values_list("name", flat=True)) == ["Agent"]
    karen = users.get(username="karen@example.com")
    assert not karen.is_staff and karen.requester.email == "karen@example.com"
    assert users.get(username="admin").is_superuser


def test_load_lab_twice_gives_the_same_data(db):
    call_command("load_lab", "--with-tickets", verbosity=0)
    first = everything()
    call_command("load_lab", "--with-tickets", verbosity=0)
    assert everything() == first


def test_demo_tickets_wait_in_every_stage(db):
    call_command("load_lab", "--with-tickets", verbosity=0)
    states = set(Ticket.objects.values_list("state", flat=True))
    # `new` exists only inside the transaction that creates a ticket.
    assert states == {s.value for s in State} - {State.NEW}
    example = Ticket.objects.get(subject__startswith="Entire mobile/online banking")
    assert example.state == State.CLOSED and example.assignee.username == "jane"
    escalated = Ticket.objects.get(state=State.ESCALATED)
    assert (escalated.department.name, escalated.team.name, escalated.tier) == (
        "Support",
        "Online Banking",
        2,
    )
    assert escalated.transitions.filter(name="escalate").exists()


def test_the_lab_has_an_open_online_banking_incident_with_three_reports(db, client):
    call_command("load_lab", "--with-tickets", verbosity=0)
    incident = Ticket.objects.get(is_major_incident=True)
    assert incident.subject == lab_incident.INCIDENT_SUBJECT and incident.state == State.ASSIGNED
    assert incident.incident_status == "We know about this outage and are working on it."
    assert (incident.department.name, incident.team.name) == ("SysAdmins", "Online Banking")
    assert incident.requester.email == "jane@example.com" and incident.assignee.username == "jane"
    reports = list(incident.reports.order_by("pk"))
    assert [(r.source, r.requester.email) for r in reports] == [
        (Ticket.Source.WEB, "ken@example.com"),
        (Ticket.Source.EMAIL, "maria.lopez@example.net"),
        (Ticket.Source.PHONE, "branch12@example.com"),
    ]
    phone = reports[2].thread.order_by("pk").first()
    assert phone.author.username == "john" and phone.on_behalf_of_requester
    for report in reports:
        assert report.state == State.ASSIGNED and report.team.name == "Online Banking"
        replies = list(report.thread.filter(kind=ThreadEntry.Kind.REPLY))
        assert len(replies) == 1 and replies[0].author.username == "jane" and replies[0].is_public
        assert replies[0].body.startswith("We have found the cause")
        linked = f"system: linked to incident #{incident.number}"
        assert report.transitions.filter(actor_label=linked).exists()
    # Ken reads the status line on his report's page in the portal.
    client.force_login(reports[0].requester.user)
    page = client.get(reverse("portal:ticket", args=[reports[0].number])).content.decode()
    assert "Known problem:</strong> We know about this outage and are working on it." in page


def test_a_lab_loaded_before_the_incident_existed_gets_it_once(db):
    configuration = lab.load_configuration()
    lab._stages(configuration)
    before = Ticket.objects.count()
    call_command("load_lab", "--with-tickets", verbosity=0)
    assert Ticket.objects.count() == before + 4 and Ticket.objects.filter(is_major_incident=True).count() == 1
    call_command("load_lab", "--with-tickets", verbosity=0)
    assert Ticket.objects.count() == before + 4
