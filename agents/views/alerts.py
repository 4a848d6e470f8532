"""An agent's own e-mail alerts: which of them they get."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agents.access import agent_required
from agents.forms import AlertsForm
from agents.views.queues import sidebar
from tickets import services
from tickets.models import AgentProfile


@agent_required
def my_alerts(request: HttpRequest) -> HttpResponse:
    profile = AgentProfile.objects.filter(user=request.user).first() or AgentProfile(user=request.user)
    # A form with every box unticked posts nothing at all: it is still a submission.
    form = AlertsForm(
        request.POST if request.method == "POST" else None,
        initial={name: getattr(profile, name) for name in (*AgentProfile.ALERTS, *AlertsForm.PREFERENCES)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        alerts = {name: data[name] for name in AgentProfile.ALERTS}
        services.agent_alerts_update(user=request.user, alerts=alerts)
        services.preferences_set(
            user=request.user, language=data["language"], time_zone=data["time_zone"], session=request.session
        )
        messages.success(request, _("Your alerts are saved."))
        return redirect("agents:alerts")
    return render(request, "agents/alerts.html", {"form": form, "queues": sidebar(request.user)})
