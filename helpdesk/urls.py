from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from helpdesk import i18n
from helpdesk.ops import health, metrics


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever a page links (feed readers, the JSON API's
    pages, a bare 404): send them to the site's icon rather than answer 404."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    # Operations (helpdesk/ops/), for load balancers, orchestrators and Prometheus; first, as
    # the cheapest to find.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    path("language/", i18n.set_language, name="set_language"),
    path("", include("portal.urls")),
    path("agents/", include("agents.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]
