"""Version 1 of the API: tickets (``api.views.tickets``), what is done to them
(``api.views.actions``), major incidents (``api.views.incidents``),
related tickets (``api.views.related``), the configuration
(``api.views.config``) and the supervisors' reports (``api.views.reports``)."""

from api.views import actions, config, incidents, related, reports, tickets

urlpatterns = [
    *tickets.urlpatterns,
    *actions.urlpatterns,
    *incidents.urlpatterns,
    *related.urlpatterns,
    *config.urlpatterns,
    *reports.urlpatterns,
]
