"""The ticket workspace: properties edited in place, the thread, the composer, the strip of
stages and the actions this agent may run now."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from agents import incident_panel
from agents.access import agent_required, ticket_for_agent
from agents.forms import (
    AssignForm,
    ComposerForm,
    EscalateForm,
    MergeForm,
    MessageForm,
    PropertyForm,
    ReasonForm,
)
from tickets import linked, locales, selectors, services, thread_pages, uploads
from tickets.mailin import store
from tickets.models import Attachment, State, ThreadEntry, Ticket
from tickets.reports import history
from tickets.reports.types import StageVisit
from tickets.stages import progress


def conflict_message(ticket: Ticket) -> str:
    ticket.refresh_from_db()
    # Translators: "stage" is the ticket's stage in lower case ("in progress"), "assignment" who
    # has it ("Jane Doe / Online Banking" or "Unassigned").
    text = _(
        "This ticket changed since you opened it; nothing was saved. It is now %(stage)s, %(assignment)s."
    )
    stage = locales.in_sentence(ticket.get_state_display())
    return text % {"stage": stage, "assignment": services.assignment_label(ticket)}


def thread_page(request: HttpRequest, ticket: Ticket) -> thread_pages.ThreadPage:
    """The opening entry and the newest ones; ``?thread=all`` (the "show older" link without
    JavaScript) shows every entry."""
    limit = None if request.GET.get("thread") == "all" else thread_pages.PAGE_SIZE
    return thread_pages.thread_page_for_agent(ticket, limit=limit)


# The timeline's badges in Bootstrap's colours: the header's ``state-badge`` is the page's one
# badge of the ticket's state (the browser tests find it by that class).
STAGE_BADGES = {
    State.OPEN: "text-bg-info",
    State.ASSIGNED: "text-bg-primary",
    State.IN_PROGRESS: "text-bg-primary",
    State.AWAITING_USER: "text-bg-warning",
    State.ESCALATED: "text-bg-escalated",  # static/helpdesk.css: the header's purple
    State.RESOLVED: "text-bg-success",
    State.CLOSED: "text-bg-dark",
}


# The refusal an escalation without a higher-tier team or department shows (the service would
# refuse every target the agent could name).
NO_HIGHER_TIER = services.Refusal(
    gettext_lazy("no team or department of a higher tier to hand it to"),
    gettext_lazy("There is no team or department of a higher tier to escalate to."),
)


def lifecycle_rows(visits: list[StageVisit]) -> list[dict[str, Any]]:
    """The timeline's stays with their lengths in words (the current one's so far)."""
    now = timezone.now()
    return [
        {
            "visit": visit,
            "spent": history.duration_words((visit.left_at or now) - visit.entered_at),
            "badge": STAGE_BADGES.get(visit.state, "text-bg-secondary"),
        }
        for visit in visits
    ]


def live_context(request: HttpRequest, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    """What the part of the page that changes after each action needs."""
    user = request.user
    # The timeline's one read of the log also tells the strip which stages were reached.
    visits = history.timeline(ticket)
    visited = {visit.state for visit in visits}
    version = {"version": ticket.version}
    # Both dialogs have a "team" and a "department": ids of their own, so each label names its field.
    choices = selectors.console_choices()
    escalate_form = EscalateForm(initial=version, ticket=ticket, choices=choices, auto_id="escalate-%s")
    # Every move of the lifecycle, as the services decide it (the page came through
    # ticket_for_agent, so the agent sees the ticket): the open ones are buttons, the others
    # are listed greyed with why not.
    checks = [
        # Escalation also needs somewhere higher to go among the console's choices.
        services.MoveCheck(check.name, check.label, NO_HIGHER_TIER)
        if check.name == "escalate" and check.allowed and not escalate_form.has_targets()
        else check
        for check in services.move_checks(ticket=ticket, actor=user, visible=True)
    ]
    actions = [check for check in checks if check.allowed]
    closed_moves = [check for check in checks if not check.allowed]
    can_change = user.has_perm("tickets.change_ticket") and ticket.is_active
    return {
        "ticket": ticket,
        "steps": progress(ticket, visited, public=False),
        "thread": thread_page(request, ticket),
        "actions": actions,
        "closed_moves": closed_moves,
        "action_names": {a.name for a in actions},
        "can_change": can_change,
        "can_assign": can_change and any(a.name == "assign" for a in actions),
        "choices": choices,
        "version": ticket.version,
        "assign_form": AssignForm(
            initial={**version, "agent": ticket.assignee_id, "team": ticket.team_id},
            choices=choices,
            auto_id="assign-%s",
        ),
        "escalate_form": escalate_form,
        "message_form": MessageForm(initial=version),
        "reason_form": ReasonForm(initial=version),
        "assignment": services.assignment_label(ticket),
        "lifecycle": lifecycle_rows(visits),
        "incident_panel": incident_panel.panel(user, ticket, choices=choices),
        "related": linked.related_tickets(ticket, user),
        "can_relate": user.has_perm("tickets.work_ticket"),
        # A merged ticket points at its survivor; a survivor names what was merged into it.
        "merged_into": selectors.surviving_ticket(ticket) if ticket.merged_into_id else None,
        "merged_from": list(ticket.merged.order_by("pk").values_list("number", flat=True)),
        **extra,
    }


def _page(request: HttpRequest, ticket: Ticket, *, status: int = 200, **extra: Any) -> HttpResponse:
    can_work = request.user.has_perm("tickets.work_ticket") and ticket.state != State.CLOSED
    context = live_context(request, ticket, **extra)
    context.update(
        can_merge=services.move_refusal(ticket, "merge", request.user, visible=True) is None,
        merge_form=MergeForm(initial={"version": ticket.version}, auto_id="merge-%s"),
        composer=extra.get("composer") or ComposerForm(),
        can_work=can_work,
        canned=list(selectors.canned_responses_for(ticket)) if can_work else [],
    )
    return render(request, "agents/ticket.html", context, status=status)


@agent_required
def ticket_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _page(request, ticket_for_agent(request, number))


@agent_required
def thread_older(request: HttpRequest, number: str) -> HttpResponse:
    """The next batch of older entries, for htmx to put in place of the "show older" control."""
    ticket = ticket_for_agent(request, number)
    before = request.GET.get("before", "")
    if not before.isdigit():
        raise Http404("No such entry.")
    try:
        page = thread_pages.thread_page_for_agent(ticket, before=int(before))
    except ThreadEntry.DoesNotExist:
        raise Http404("No such entry.") from None
    return render(request, "agents/_thread_older.html", {"ticket": ticket, "thread": page})


def _live(request: HttpRequest, ticket: Ticket, **extra: Any) -> HttpResponse:
    return render(request, "agents/_live.html", live_context(request, ticket, **extra))


@agent_required
@require_POST
def change_property(request: HttpRequest, number: str) -> HttpResponse:
    """One property from the panel; htmx swaps the panel, the strip and the thread in place."""
    ticket = ticket_for_agent(request, number)
    form = PropertyForm(request.POST)
    error = ""
    if not form.is_valid():
        error = _("That value is not one of the choices.")
    else:
        field, value = form.cleaned_data["field"], form.cleaned_data[form.cleaned_data["field"]]
        try:
            services.ticket_ensure_unchanged(ticket, version=form.cleaned_data["version"])
            if field in ("team", "assignee"):
                team = value if field == "team" else ticket.team
                agent = value if field == "assignee" else ticket.assignee
                services.ticket_assign(ticket=ticket, actor=request.user, agent=agent, team=team)
            else:
                services.ticket_update_properties(ticket=ticket, actor=request.user, **{field: value})
        except services.TicketConflict:
            error = conflict_message(ticket)
        except services.TicketActionError as exc:
            error = str(exc)
    if not error and not selectors.ticket_visible_to(request.user, ticket):
        # Moved out of this agent's sight: back to the queues, saying where it went.
        moved = _("#%(number)s moved to %(department)s, whose tickets you cannot see.")
        messages.info(request, moved % {"number": ticket.number, "department": ticket.department})
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("agents:home")
            return response
        return redirect("agents:home")
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        return redirect("agents:ticket", number=ticket.number)
    # The fragment is sent with 200 even for a refusal: htmx swaps only successful answers,
    # and the refusal is shown in the fragment.
    return _live(request, ticket_for_agent(request, number), error=error)


@agent_required
@require_POST
def compose(request: HttpRequest, number: str) -> HttpResponse:
    ticket = ticket_for_agent(request, number)
    form = ComposerForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        service = services.ticket_reply if data["kind"] == "reply" else services.ticket_note
        try:
            service(ticket=ticket, actor=request.user, body=data["body"], attachments=data["attachments"])
        except services.TicketActionError as exc:
            # Shown at the top of the page: a closed ticket's page has no composer to show it in.
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Reply sent.") if data["kind"] == "reply" else _("Note added."))
            return redirect("agents:ticket", number=ticket.number)
    return _page(request, ticket, status=400, composer=form)


@agent_required
def canned_text(request: HttpRequest, number: str, pk: int) -> HttpResponse:
    """A canned response filled in for this ticket, as the composer's text box."""
    ticket = ticket_for_agent(request, number)
    if not request.user.has_perm("tickets.work_ticket"):
        raise PermissionDenied("You may not write on tickets.")
    response = get_object_or_404(selectors.canned_responses_for(ticket), pk=pk)
    text = selectors.canned_response_text(response, ticket=ticket, agent=request.user)
    form = ComposerForm(initial={"body": text})
    return render(request, "agents/_composer_body.html", {"field": form["body"]})


@agent_required
def attachment_download(request: HttpRequest, number: str, attachment_id: int) -> FileResponse:
    ticket = ticket_for_agent(request, number)
    attachment = Attachment.objects.filter(pk=attachment_id, entry__ticket=ticket).first()
    if attachment is None:
        raise Http404("No such file.")
    return uploads.download_response(attachment)


@agent_required
def original_email(request: HttpRequest, number: str, message_id: int) -> HttpResponse:
    """The e-mail a thread entry came from, whole (quoted history, headers, every part)."""
    ticket = ticket_for_agent(request, number)
    stored = selectors.original_email(ticket, message_id)
    if stored is None:
        raise Http404("No such e-mail.")
    return store.download_response(stored)
