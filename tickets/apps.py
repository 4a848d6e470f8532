from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy
from django_fsm.signals import post_transition


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = gettext_lazy("Help desk")

    def ready(self) -> None:
        # Imported here, once the models are loaded: Django's app loading calls ready() for this.
        from tickets import catalog, metrics
        from tickets.mailin import tasks as mail_in_tasks
        from tickets.mailout import tasks as mail_out_tasks
        from tickets.models import Ticket
        from tickets.reports import tasks as report_tasks
        from tickets.roles import sync_roles_after_migrate
        from tickets.services.preferences import remember_at_sign_in
        from tickets.sla import tasks as timer_tasks
        from tickets.webhooks import listeners as webhook_listeners
        from tickets.webhooks import tasks as webhook_tasks

        # Celery's autodiscovery looks for a `tickets.tasks` module; the tasks live beside
        # their concerns instead, so they are registered here, in every process Django starts.
        del mail_in_tasks, mail_out_tasks, report_tasks, timer_tasks, webhook_tasks
        # The cached configuration tables are dropped when one of them changes.
        catalog.connect_signals()
        webhook_listeners.connect_signals()
        # Every lifecycle move is counted for /metrics once it commits.
        post_transition.connect(metrics.count_transition, sender=Ticket, dispatch_uid="tickets.metrics")
        # Like Django's own permissions, the roles exist as soon as the database does.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
        # A person's own language and time zone follow them from the sign-in on.
        user_logged_in.connect(remember_at_sign_in, dispatch_uid="tickets.preferences")
