"""Factories for the tests, in one place."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from tickets.models import AgentProfile, Department, Priority, Requester, SLAPlan, Team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("Password1")


class AgentFactory(UserFactory):
    """A staff user with a role and the departments and teams whose tickets they see."""

    is_staff = True

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=extracted or "Agent"))

    @factory.post_generation
    def departments(self, create, extracted, **kwargs):
        if create:
            profile, _ = AgentProfile.objects.get_or_create(user=self)
            profile.departments.add(*(extracted or []))

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create:
            profile, _ = AgentProfile.objects.get_or_create(user=self)
            profile.teams.add(*(extracted or []))


class RequesterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Requester

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"requester{n}@example.org")
    user = factory.SubFactory(UserFactory, email=factory.SelfAttribute("..email"))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"Department {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    tier = 1


class PriorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Priority

    name = factory.Sequence(lambda n: f"Priority {n}")
    rank = factory.Sequence(lambda n: 100 + n)


class SLAPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SLAPlan

    name = factory.Sequence(lambda n: f"Plan {n}")
    grace_hours = 8
