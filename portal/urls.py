from django.urls import path

from portal.views import accounts, guests, home, tickets
from portal.views import help as help_views

app_name = "portal"

urlpatterns = [
    path("", home.home, name="home"),
    path("tickets/new/", tickets.open_ticket, name="open_ticket"),
    path("tickets/", tickets.my_tickets, name="my_tickets"),
    path("tickets/<str:number>/", tickets.ticket_detail, name="ticket"),
    path("tickets/<str:number>/thread/", tickets.thread_older, name="thread_older"),
    path("tickets/<str:number>/received/", tickets.ticket_received, name="ticket_received"),
    path("tickets/<str:number>/reply/", tickets.ticket_reply, name="ticket_reply"),
    path("tickets/<str:number>/confirm/", tickets.ticket_confirm, name="ticket_confirm"),
    path("tickets/<str:number>/reopen/", tickets.ticket_reopen, name="ticket_reopen"),
    path(
        "tickets/<str:number>/files/<int:attachment_id>/",
        tickets.attachment_download,
        name="attachment",
    ),
    path("help/", help_views.help_index, name="help"),
    path("help/search/", help_views.help_search, name="help_search"),
    path("help/suggest/", help_views.help_suggest, name="help_suggest"),
    path("help/<slug:slug>/", help_views.help_article, name="help_article"),
    path("help/<slug:slug>/answer/", help_views.help_answer, name="help_answer"),
    path("status/", guests.check_status, name="check_status"),
    path("t/<str:token>/", guests.ticket_link, name="ticket_link"),
    path("accounts/register/", accounts.register, name="register"),
    path("accounts/confirm/<str:token>/", accounts.register_confirm, name="register_confirm"),
    path("accounts/login/", accounts.SignInView.as_view(), name="login"),
    path("accounts/logout/", accounts.SignOutView.as_view(), name="logout"),
    path("accounts/password-reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        accounts.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        accounts.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
