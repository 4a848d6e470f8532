from django.urls import path

from agents.views import actions, alerts, auth, incidents, kb, merge, phone, queues, reports, workspace

app_name = "agents"

urlpatterns = [
    path("", queues.home, name="home"),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    path("queues/<str:key>/", queues.queue, name="queue"),
    path("queues/<str:key>/export.csv", queues.queue_export, name="queue_export"),
    path("bulk/", queues.bulk, name="bulk"),
    path("priorities.css", queues.priority_styles, name="priority_styles"),
    path("alerts/", alerts.my_alerts, name="alerts"),
    path("reports/", reports.dashboard, name="reports"),
    path("reports/export/<str:table>.csv", reports.export, name="reports_export"),
    path("reports/what-if/", reports.what_if, name="reports_what_if"),
    path("tickets/new/", phone.new_ticket, name="new_ticket"),
    path("tickets/<str:number>/", workspace.ticket_detail, name="ticket"),
    path("tickets/<str:number>/thread/", workspace.thread_older, name="thread_older"),
    path("tickets/<str:number>/properties/", workspace.change_property, name="change_property"),
    path("tickets/<str:number>/compose/", workspace.compose, name="compose"),
    path("tickets/<str:number>/canned/<int:pk>/", workspace.canned_text, name="canned"),
    path("tickets/<str:number>/files/<int:attachment_id>/", workspace.attachment_download, name="attachment"),
    path("tickets/<str:number>/emails/<int:message_id>/", workspace.original_email, name="original_email"),
    path("tickets/<str:number>/actions/<str:name>/", actions.run_action, name="action"),
    path("tickets/<str:number>/merge/", merge.merge_ticket, name="merge"),
    path("tickets/<str:number>/articles/", kb.article_search, name="article_search"),
    path("tickets/<str:number>/articles/draft/", kb.article_from_ticket, name="article_from_ticket"),
    path("tickets/<str:number>/incident/declare/", incidents.declare, name="incident_declare"),
    path("tickets/<str:number>/incident/status/", incidents.change_status, name="incident_status"),
    path("tickets/<str:number>/incident/update/", incidents.post_update, name="incident_update"),
    path("tickets/<str:number>/incident/reports/", incidents.link_reports, name="incident_link"),
    path("tickets/<str:number>/incident/join/", incidents.join, name="incident_join"),
    path("tickets/<str:number>/incident/unlink/", incidents.unlink, name="incident_unlink"),
]
