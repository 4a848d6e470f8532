"""End-user accounts: registration, e-mail confirmation, and the link to past tickets.

An account's user name is its e-mail address. It stays inactive until the owner opens the
confirmation link we mail, and only then is it joined to the requester with that address:
that is what lets a guest who registers later see their earlier tickets, and what stops a
stranger from registering someone else's address to read them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils.crypto import constant_time_compare
from django.utils.translation import ngettext

from tickets import links, services, throttle
from tickets.mailout import notifications, tasks
from tickets.models import Requester


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


@transaction.atomic
def account_register(*, email: str, name: str, password: str) -> Any:
    """Create an inactive account and mail its confirmation link.

    An existing account is never changed here, since nobody has yet shown they own the
    mailbox: an active one's owner is told by mail that they already have an account; a
    pending one (registered, never confirmed) gets its confirmation link again, still for
    the password chosen first; a blocked one gets nothing. An address is mailed at most
    ``THROTTLE_MAIL_REQUESTS`` times an hour, however many clients register it (counted in
    the shared cache, so across processes). The page answers the same in every case.
    Returns the new user, or None when the address had one already.
    """
    email = normalize_email(email)
    User = get_user_model()
    existing = User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).order_by("-is_active")
    user = existing.first()
    if user is not None:
        if user.is_active and _may_mail("register-mail", email):
            transaction.on_commit(lambda: tasks.mail_account_exists.delay(user.pk))
        elif _is_pending(user) and _may_mail("register-mail", email):
            transaction.on_commit(lambda: tasks.mail_account_confirmation.delay(user.pk))
        return None
    first, _, last = name.strip().partition(" ")
    user = User(username=email, email=email, is_active=False, first_name=first[:150], last_name=last[:150])
    user.set_password(password)
    user.save()
    if _may_mail("register-mail", email):
        transaction.on_commit(lambda: tasks.mail_account_confirmation.delay(user.pk))
    return user


def _may_mail(scope: str, email: str) -> bool:
    """Count one mail of this kind to ``email``; False past THROTTLE_MAIL_REQUESTS an hour (a
    stranger asking for mail to someone's address again and again must not flood it)."""
    limit, window = settings.THROTTLE_MAIL_REQUESTS
    return throttle.allow(scope, email, limit=limit, window=window)


def password_reset_mail(*, to_email: str, context: dict[str, Any]) -> None:
    """Mail a password-reset link as every other automatic mail goes (marked automatic,
    through the mail task), at most ``THROTTLE_MAIL_REQUESTS`` times an hour per address."""
    if _may_mail("reset-mail", to_email):
        tasks.send_email.delay(notifications.password_reset(to_email, context))


def _is_pending(user: Any) -> bool:
    """Registered here and never confirmed (confirming signs in, so a confirmed account has
    a last login); an account an admin deactivated is not pending."""
    return not user.is_active and user.last_login is None and not user.is_staff


@transaction.atomic
def account_confirm(token: str) -> Any | None:
    """Activate the account a valid confirmation token names and join it to its tickets."""
    data = links.confirm_claim(token)
    if data is None:
        return None
    User = get_user_model()
    user = User.objects.select_for_update().filter(pk=data.get("u"), email=data.get("e")).first()
    state = links.account_state(user) if user is not None else ""
    if user is None or not _is_pending(user) or not constant_time_compare(str(data.get("s")), state):
        return None
    user.is_active = True
    user.save(update_fields=["is_active"])
    services.requester_get_or_create(email=user.email, name=user.get_full_name() or user.email, user=user)
    return user


def requester_for_user(user: Any) -> Any:
    """The requester record of a signed-in end user, created on their first ticket."""
    existing = Requester.objects.filter(user_id=user.pk).first()
    if existing is not None:
        return existing
    return services.requester_get_or_create(
        email=user.email or user.username, name=user.get_full_name() or user.get_username(), user=user
    )


# -- sign-in throttling, for the portal's and the console's sign-in forms ----------------------


def _login_keys(username: str, ip: str) -> list[tuple[str, str]]:
    return [("login-user", username.strip().lower()), ("login-ip", ip)]


def login_blocked(username: str, ip: str) -> bool:
    limit, window = settings.THROTTLE_LOGIN_FAILURES
    return any(
        throttle.is_blocked(scope, key, limit=limit, window=window)
        for scope, key in _login_keys(username, ip)
    )


def login_failed(username: str, ip: str) -> None:
    limit, window = settings.THROTTLE_LOGIN_FAILURES
    for scope, key in _login_keys(username, ip):
        throttle.allow(scope, key, limit=limit, window=window)


def login_unlock(username: str) -> None:
    """After a password reset: whoever reads the account's mail may sign in again."""
    throttle.reset("login-user", username.strip().lower(), window=settings.THROTTLE_LOGIN_FAILURES[1])


def locked_out_message() -> str:
    minutes = settings.THROTTLE_LOGIN_FAILURES[1] // 60
    return ngettext(
        "Too many failed sign-ins. Wait %(minutes)s minute, or reset your password.",
        "Too many failed sign-ins. Wait %(minutes)s minutes, or reset your password.",
        minutes,
    ) % {"minutes": minutes}
