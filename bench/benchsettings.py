"""The product's settings with the bench's URLconf (the floor view): for gunicorn and the
Celery worker that bench/load.py starts, with ``bench/`` on the Python path."""

from helpdesk.settings import *  # noqa: F403

ROOT_URLCONF = "benchurls"
