"""The bench's URLconf: the product's URLs plus the floor view, which lives only here.

The floor is what any authenticated Django page costs on this machine: the session and the
user are loaded (2 queries), and a template lists ten items. The bench reports each page's
time as a ratio to it, measured in the same run, so a busy machine slows both alike.

Used by ``benchsettings`` (gunicorn, ``bench/load.py``) and with ``override_settings(
ROOT_URLCONF="benchurls")`` in-process (``bench/perf.py``); ``bench/`` must be on sys.path.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

FLOOR_TEMPLATE = engines["django"].from_string(
    "<!doctype html><html><head><title>Floor</title></head><body>"
    "<p>Signed in as {{ user.get_username }}</p><ul>"
    "{% for item in items %}<li>{{ item.number }}: {{ item.label }}</li>{% endfor %}"
    "</ul></body></html>"
)
ITEMS = [{"number": n, "label": f"Item {n}"} for n in range(1, 11)]


@login_required
def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(FLOOR_TEMPLATE.render({"user": request.user, "items": ITEMS}, request))


urlpatterns = [
    path("bench/floor/", floor, name="bench-floor"),
    path("", include("helpdesk.urls")),
]
