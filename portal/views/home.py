from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets import selectors
from tickets.models import PUBLIC_STAGE_LABELS


def home(request: HttpRequest) -> HttpResponse:
    stages = list(PUBLIC_STAGE_LABELS.values())
    return render(request, "portal/home.html", {"topics": selectors.help_topics_public(), "stages": stages})
