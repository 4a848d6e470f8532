"""End-user accounts: register (confirmed by e-mail), sign in, sign out, reset a password."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from portal.forms import RegisterForm, SignInForm, ThrottledPasswordResetForm
from tickets import accounts, throttle


def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:my_tickets")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        limit, window = settings.THROTTLE_MAIL_REQUESTS
        if not throttle.allow("register-ip", throttle.client_ip(request), limit=limit, window=window):
            form.add_error(
                None, _("Too many registrations from your address. Please wait an hour and try again.")
            )
            return render(request, "portal/accounts/register.html", {"form": form}, status=429)
        data = form.cleaned_data
        accounts.account_register(email=data["email"], name=data["name"], password=data["password1"])
        # The same page whether or not the address had an account: the mail tells them which.
        return render(request, "portal/accounts/register_done.html", {"email": data["email"]})
    return render(request, "portal/accounts/register.html", {"form": form})


def register_confirm(request: HttpRequest, token: str) -> HttpResponse:
    user = accounts.account_confirm(token)
    if user is None:
        return render(request, "portal/link_invalid.html", status=404)
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    messages.success(request, _("Your e-mail address is confirmed. Here are your tickets."))
    return redirect("portal:my_tickets")


class SignInView(auth_views.LoginView):
    template_name = "portal/accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response


class SignOutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "portal/accounts/password_reset_form.html"
    form_class = ThrottledPasswordResetForm
    # The mail is templates/emails/password_reset* (tickets.mailout.notifications.password_reset).
    success_url = reverse_lazy("portal:password_reset_done")
    # Links are built on our configured address, never on the request's Host header.
    extra_email_context = {
        "helpdesk_name": settings.HELPDESK_NAME,
        "base_url": settings.HELPDESK_BASE_URL.rstrip("/"),
    }

    def form_valid(self, form: Any) -> HttpResponse:
        limit, window = settings.THROTTLE_MAIL_REQUESTS
        if not throttle.allow("reset-ip", throttle.client_ip(self.request), limit=limit * 4, window=window):
            form.add_error(None, _("Too many requests in a short time. Please wait an hour and try again."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portal/accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portal/accounts/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        # Whoever reads the account's mail may sign in again at once: the lock-out message
        # offers exactly this way out.
        accounts.login_unlock(self.user.get_username())
        return super().form_valid(form)


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "portal/accounts/password_reset_complete.html"
