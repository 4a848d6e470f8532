from django.apps import AppConfig
from django.db.backends.signals import connection_created


class OpsConfig(AppConfig):
    name = "helpdesk.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from helpdesk.ops import dbmetrics

        # Each database connection counts its statements for /metrics as it opens.
        connection_created.connect(dbmetrics.count_queries, dispatch_uid="helpdesk.ops.dbmetrics")
