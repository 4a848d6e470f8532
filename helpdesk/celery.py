"""The Celery app. Without CELERY_BROKER_URL, tasks run inline (see settings)."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging
from django.conf import settings

# Imported for its signal receivers: a task carries the request id of the request that queued it.
import helpdesk.requestids  # noqa: F401

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**_: object) -> None:
    """Workers and beat log through the project's LOGGING (LOG_FORMAT, LOG_LEVEL) like the web
    processes, instead of Celery's own format: a receiver here tells Celery to set up nothing."""
    logging.config.dictConfig(settings.LOGGING)
