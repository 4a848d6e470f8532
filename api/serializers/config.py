"""The configuration a client needs to fill in the ids: help topics, priorities, and for
agents the departments, teams and SLA plans."""

from __future__ import annotations

from rest_framework import serializers

from tickets.models import Department, HelpTopic, Priority, SLAPlan, Team


class HelpTopicSerializer(serializers.ModelSerializer):
    name = serializers.CharField(
        source="full_name", help_text="With its parents: “Report a Problem / Access”."
    )

    class Meta:
        model = HelpTopic
        fields = ("id", "name")


class PrioritySerializer(serializers.ModelSerializer):
    class Meta:
        model = Priority
        fields = ("id", "name", "rank")


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ("id", "name", "tier")


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ("id", "name", "tier")


class SLAPlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = SLAPlan
        fields = ("id", "name")
