from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("portal.urls")),
    path("agents/", include("agents.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]
