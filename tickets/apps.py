from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Help desk"

    def ready(self) -> None:
        from tickets.roles import sync_roles_after_migrate

        # Like Django's own permissions, the roles exist as soon as the database does.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
