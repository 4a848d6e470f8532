"""The API's URLs: the schema and its docs, and version 1 under /api/v1/ (docs/api.md)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from api.errors import NoSuchEndpoint

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", permission_classes=[AllowAny]),
        name="docs",
    ),
    path("v1/", include("api.v1")),
    re_path(r"^", NoSuchEndpoint.as_view(), name="no-such-endpoint"),
]
