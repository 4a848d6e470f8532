"""Opening a ticket, the requester's list, and the ticket page with its actions."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal import access, stages
from portal.forms import OpenTicketForm, ReopenForm, ReplyForm
from portal.views import help as help_views
from tickets import accounts, linked, selectors, services, thread_pages, throttle, uploads
from tickets.models import Attachment, State, ThreadEntry, Ticket
from tickets.stages import progress

PAGE_SIZE = 20


def _guest_allowed(request: HttpRequest, email: str) -> bool:
    """Anonymous creation is limited per address and per e-mail; every try counts."""
    ip_limit, ip_window = settings.THROTTLE_GUEST_TICKETS_PER_IP
    mail_limit, mail_window = settings.THROTTLE_GUEST_TICKETS_PER_EMAIL
    by_ip = throttle.allow("guest-ticket-ip", throttle.client_ip(request), limit=ip_limit, window=ip_window)
    by_mail = throttle.allow("guest-ticket-email", email, limit=mail_limit, window=mail_window)
    return by_ip and by_mail


def open_ticket(request: HttpRequest) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    form = OpenTicketForm(request.POST or None, request.FILES or None, user=user)
    if not form.is_bound and request.GET.get("topic", "") in form.fields["help_topic"].topics:
        # "Still need help? Open a ticket" on a help article carries the article's topic.
        form.initial["help_topic"] = request.GET["topic"]
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if user is None and not _guest_allowed(request, data["email"]):
            form.add_error(
                None,
                _(
                    "We received many tickets from you in a short time, so this one was not sent. "
                    "Please wait an hour and try again, or sign in."
                ),
            )
            status = 429
        else:
            try:
                details = {
                    "subject": data["subject"],
                    "body": data["body"],
                    "help_topic": data["help_topic"],
                    "attachments": data["attachments"],
                }
                # The language they read the portal in and their browser's zone: their mail's.
                reader = {
                    "language": request.LANGUAGE_CODE,
                    "time_zone": request.COOKIES.get(settings.TIME_ZONE_COOKIE_NAME, ""),
                }
                if user is not None:
                    ticket = services.ticket_create(
                        requester=accounts.requester_for_user(user), actor=user, **reader, **details
                    )
                else:
                    _contact, ticket = services.ticket_create_for_contact(
                        email=data["email"], name=data["name"], phone=data["phone"], **reader, **details
                    )
            except services.TicketActionError as exc:
                form.add_error(None, str(exc))
            else:
                if user is None:
                    # A guest sees the ticket through the session; an account needs no grant
                    # (and its session is not written again).
                    access.grant(request, ticket)
                return redirect("portal:ticket_received", number=ticket.number)
    context = {"form": form, **help_views.form_suggestions(form)}
    return render(request, "portal/open_ticket.html", context, status=status)


def ticket_received(request: HttpRequest, number: str) -> HttpResponse:
    ticket = access.ticket_for_viewer(request, number)
    if ticket.number != number:  # merged meanwhile
        return redirect("portal:ticket", number=ticket.number)
    return render(request, "portal/ticket_received.html", {"ticket": ticket})


@login_required
def my_tickets(request: HttpRequest) -> HttpResponse:
    tickets = selectors.tickets_of_requester(request.user).order_by("-last_activity_at", "-pk")
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/my_tickets.html", {"page": page})


def _ticket_page(request: HttpRequest, ticket: Ticket, status: int = 200, **forms: object) -> HttpResponse:
    visited = set(selectors.transitions_of(ticket).values_list("target", flat=True))
    context = {
        "ticket": ticket,
        "steps": progress(ticket, visited, public=True),
        "next_step": stages.NEXT_STEP[ticket.state],
        # The opening message and the newest entries; ``?thread=all`` (the "show older" link
        # without JavaScript) shows every one.
        "thread": thread_pages.thread_page_for_requester(
            ticket, limit=None if request.GET.get("thread") == "all" else thread_pages.PAGE_SIZE
        ),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "is_closed": ticket.state == State.CLOSED,
        "is_resolved": ticket.state == State.RESOLVED,
        "known_problem": _known_problem(ticket),
    }
    return render(request, "portal/ticket.html", context, status=status)


def _known_problem(ticket: Ticket) -> str:
    """The status line of the major incident the ticket reports, while the ticket is still being
    worked on ("" otherwise): once resolved with its incident, the resolution message says more."""
    return linked.incident_public_status(ticket) if ticket.is_active else ""


def ticket_detail(request: HttpRequest, number: str) -> HttpResponse:
    ticket = access.ticket_for_viewer(request, number)
    if ticket.number != number:
        # A merged ticket's number leads to the ticket it was merged into.
        messages.info(
            request,
            # Translators: both are ticket numbers.
            _("Ticket #%(number)s was merged into #%(target)s: it continues here.")
            % {"number": number, "target": ticket.number},
        )
        return redirect("portal:ticket", number=ticket.number)
    return _ticket_page(request, ticket)


def thread_older(request: HttpRequest, number: str) -> HttpResponse:
    """The next batch of older entries, for htmx to put in place of the "show older" control."""
    ticket = access.ticket_for_viewer(request, number)
    before = request.GET.get("before", "")
    if not before.isdigit():
        raise Http404("No such entry.")
    try:
        page = thread_pages.thread_page_for_requester(ticket, before=int(before))
    except ThreadEntry.DoesNotExist:
        raise Http404("No such entry.") from None
    return render(request, "portal/_thread_older.html", {"ticket": ticket, "thread": page})


@require_POST
def ticket_reply(request: HttpRequest, number: str) -> HttpResponse:
    """A message from the requester; on a closed ticket it opens a follow-up ticket."""
    ticket = access.ticket_for_viewer(request, number)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            landed, _entry = services.ticket_receive_reply(
                ticket=ticket,
                body=form.cleaned_data["body"],
                attachments=form.cleaned_data["attachments"],
                author_name=access.guest_author(request, ticket),
                **access.acting_as(request, ticket),
            )
        except services.TicketActionError as exc:
            form.add_error(None, str(exc))
        else:
            if landed.pk != ticket.pk:
                access.grant(request, landed)
                messages.success(request, _follow_up_message(landed, ticket))
            else:
                messages.success(request, _("Your message was added to the ticket."))
            return redirect("portal:ticket", number=landed.number)
    return _ticket_page(request, ticket, status=400, reply_form=form)


# What the requester is told once their confirmation or reopen landed: it is decided on the
# ticket as it is when it arrives, which an agent or a timer may have moved meanwhile.
LANDED_MESSAGES = {
    services.RequesterWrite.CLOSED: gettext_lazy("Thank you for confirming. The ticket is closed."),
    services.RequesterWrite.ALREADY_CLOSED: gettext_lazy(
        "Thank you for confirming. The ticket was already closed."
    ),
    services.RequesterWrite.NOTED: gettext_lazy(
        "The ticket was reopened before your confirmation arrived, so it stays open; "
        "we told the team that it works for you."
    ),
    services.RequesterWrite.REOPENED: gettext_lazy("We reopened the ticket and will look at it again."),
    services.RequesterWrite.APPENDED: gettext_lazy(
        "The ticket is already being worked on again, so your reason was added to it as a message."
    ),
    services.RequesterWrite.ANSWERED: gettext_lazy(
        "The ticket was waiting for you, so your reason was added as your answer."
    ),
}


def _follow_up_message(follow_up: Ticket, ticket: Ticket) -> str:
    # Translators: both are ticket numbers; the first is the new ticket.
    return _("We opened ticket #%(number)s as a follow-up to #%(original)s.") % {
        "number": follow_up.number,
        "original": ticket.number,
    }


def _landed(request: HttpRequest, ticket: Ticket, landed: services.RequesterWrite) -> HttpResponse:
    if landed.outcome == services.RequesterWrite.FOLLOW_UP:
        access.grant(request, landed.ticket)
        messages.success(request, _follow_up_message(landed.ticket, ticket))
    else:
        messages.success(request, LANDED_MESSAGES[landed.outcome])
    return redirect("portal:ticket", number=landed.ticket.number)


@require_POST
def ticket_confirm(request: HttpRequest, number: str) -> HttpResponse:
    ticket = access.ticket_for_viewer(request, number)
    try:
        landed = services.ticket_confirm_fix(ticket=ticket, **access.acting_as(request, ticket))
    except services.TicketActionError as exc:
        messages.error(request, str(exc))
        return redirect("portal:ticket", number=ticket.number)
    return _landed(request, ticket, landed)


@require_POST
def ticket_reopen(request: HttpRequest, number: str) -> HttpResponse:
    ticket = access.ticket_for_viewer(request, number)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return _ticket_page(request, ticket, status=400, reopen_form=form)
    try:
        landed = services.ticket_requester_reopen(
            ticket=ticket, reason=form.cleaned_data["reason"], **access.acting_as(request, ticket)
        )
    except services.TicketActionError as exc:
        form.add_error(None, str(exc))
        return _ticket_page(request, ticket, status=400, reopen_form=form)
    return _landed(request, ticket, landed)


def attachment_download(request: HttpRequest, number: str, attachment_id: int) -> FileResponse:
    ticket = access.ticket_for_viewer(request, number)
    attachment = Attachment.objects.filter(
        pk=attachment_id, entry__ticket=ticket, entry__is_public=True
    ).first()
    if attachment is None:
        raise Http404("No such file.")
    return uploads.download_response(attachment)
