"""The product's own 404, 403 and 500 pages while DEBUG is on (``make run``, the demo).

With DEBUG on, Django answers a missing page with its yellow debug page (which lists every URL
of the site and trips the content security policy with its inline style) and an error with its
traceback page. DEBUG also serves the static files, allows localhost and keeps the
auto-reload, which the demo wants; the debug screens it does not. This middleware answers
with the site's error handlers instead, unless ``SHOW_DEBUG_PAGES`` asks for Django's. With
DEBUG off it does nothing: Django then uses the same handlers itself.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver, resolve

logger = logging.getLogger("django.request")


def _replacing_debug_pages() -> bool:
    return settings.DEBUG and not settings.SHOW_DEBUG_PAGES


def _error_page(request: HttpRequest, status: int, exception: Exception | None = None) -> HttpResponse:
    handler = get_resolver(getattr(request, "urlconf", None)).resolve_error_handler(status)
    if status == 500:
        return handler(request)
    return handler(request, exception)


class ProductErrorPagesMiddleware:
    """Answer with the site's error pages, not Django's debug screens, in DEBUG (see module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _replacing_debug_pages():
            # An address that matches no URL never reaches a view, so process_exception does
            # not see it: Django would answer with the debug 404. CommonMiddleware, outside
            # this one, still turns a 404 into its redirect to the address with a slash.
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404 as missing:
                return _error_page(request, 404, missing)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _replacing_debug_pages():
            return None
        if isinstance(exception, Http404):
            return _error_page(request, 404, exception)
        if isinstance(exception, PermissionDenied):
            return _error_page(request, 403, exception)
        # Anything else Django would show as a traceback page: log it as Django does, then
        # show the product's 500 page. Bad requests and the like keep Django's own handling.
        if type(exception).__module__.startswith("django.core.exceptions"):
            return None
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return _error_page(request, 500)
