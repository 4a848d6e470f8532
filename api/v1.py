"""Version 1 of the API: tickets (``api.views.tickets``), what is done to them
(``api.views.actions``), and the configuration (``api.views.config``)."""

from api.views import actions, config, tickets

urlpatterns = [*tickets.urlpatterns, *actions.urlpatterns, *config.urlpatterns]
