from django.contrib import admin
from django.urls import include, path

from helpdesk.ops import health, metrics

urlpatterns = [
    # Operations (helpdesk/ops/), for load balancers, orchestrators and Prometheus; first, as
    # the cheapest to find.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("", include("portal.urls")),
    path("agents/", include("agents.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]
