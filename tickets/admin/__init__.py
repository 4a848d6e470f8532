"""The Django admin: configuration is edited here (``config``); tickets are only looked at and
moved through the services (``tickets``); mail in is watched and replayed (``mail``)."""

# Importing the modules registers their ModelAdmins (Django's autodiscovery imports this package).
from tickets.admin import config, mail, tickets

__all__ = ["config", "mail", "tickets"]
