"""Version 1 of the API: tickets (``api.views.tickets``), what is done to them
(``api.views.actions``), the configuration (``api.views.config``) and the supervisors'
reports (``api.views.reports``)."""

from api.views import actions, config, reports, tickets

urlpatterns = [*tickets.urlpatterns, *actions.urlpatterns, *config.urlpatterns, *reports.urlpatterns]
