"""The Django admin: configuration is edited here (``config``); tickets are only looked at and
moved through the services (``tickets``); mail in is watched and replayed (``mail``); API keys
(``apikeys``) and outgoing webhooks with their deliveries (``webhooks``)."""

# Importing the modules registers their ModelAdmins (Django's autodiscovery imports this package).
from tickets.admin import apikeys, config, kb, mail, tickets, webhooks

__all__ = ["apikeys", "config", "kb", "mail", "tickets", "webhooks"]
