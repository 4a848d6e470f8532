from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets import selectors

QUEUE_LABELS = {
    "unassigned": "Unassigned",
    "mine": "My tickets",
    "awaiting_user": "Awaiting user",
    "escalated": "Escalated",
    "resolved": "Resolved",
    "closed": "Closed",
    "all": "All I can see",
}


@staff_member_required(login_url="admin:login")
def home(request: HttpRequest) -> HttpResponse:
    counts = selectors.queue_counts(request.user)
    queues = [{"label": label, "count": counts[key]} for key, label in QUEUE_LABELS.items()]
    return render(request, "agents/home.html", {"queues": queues})
