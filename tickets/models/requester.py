"""The person a ticket is for, with the language and time zone their mail is written in."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Requester(models.Model):
    """The person a ticket is for; a portal account is optional (guests, e-mail, phone)."""

    email = models.EmailField(max_length=254, verbose_name=_("email"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    phone = models.CharField(max_length=40, blank=True, verbose_name=_("phone"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requester",
        verbose_name=_("user"),
    )
    # What every mail to them is written in and when: blank is the help desk's own
    # (settings.LANGUAGE_CODE, settings.TIME_ZONE). Set from the portal they wrote in, an
    # e-mail's Content-Language, or their own choice (tickets/locales.py).
    language = models.CharField(max_length=10, blank=True, verbose_name=_("language"))
    time_zone = models.CharField(max_length=64, blank=True, verbose_name=_("time zone"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("requester")
        verbose_name_plural = _("requesters")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("email"), name="unique_requester_email")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
