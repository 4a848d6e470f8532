"""Staff sign-in and sign-out for the console."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from agents.forms import AgentSignInForm


class SignInView(auth_views.LoginView):
    template_name = "agents/login.html"
    authentication_form = AgentSignInForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        from django.urls import reverse

        return reverse("agents:home")

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response


class SignOutView(auth_views.LogoutView):
    next_page = "agents:login"
