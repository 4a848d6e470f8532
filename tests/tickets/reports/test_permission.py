"""Who may see the reports: the "view reports" permission, given to Supervisors and Supreme Admins."""

import pytest
from django.contrib.auth.models import Group

from tickets import roles


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("Supreme Admin", True), ("Supervisor", True), ("Agent", False), ("View Only", False)],
)
def test_the_roles_that_may_view_reports(db, django_user_model, role, allowed):
    roles.roles_sync()
    user = django_user_model.objects.create_user("someone", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    assert user.has_perm("tickets.view_reports") is allowed


def test_the_lab_gives_jane_the_reports_and_not_john(lab):
    assert lab.jane.has_perm("tickets.view_reports")
    assert not lab.john.has_perm("tickets.view_reports")
