"""gunicorn's settings for the help desk: `gunicorn -c python:helpdesk.gunicorn_conf helpdesk.wsgi`.

With LOG_FORMAT=json, gunicorn's master process (its start, its workers' boots, exits and
timeouts) logs one line of JSON per record like the rest of the help desk; its workers switch to
the project's LOGGING when Django starts in them. The access log stays off: the help desk logs
one line per request itself, with the request id (helpdesk.requestids, LOG_REQUESTS). With
plain text, gunicorn keeps its own format and this file changes nothing.
"""

import logging
import os

from helpdesk.logs import logging_config

if os.environ.get("LOG_FORMAT", "text").strip().lower() == "json":
    logconfig_dict = logging_config("json", os.environ.get("LOG_LEVEL", "INFO"))
    # gunicorn logs every request when given a logging configuration; those lines would lack the
    # request id and duplicate the help desk's own.
    logconfig_dict["loggers"]["gunicorn.access"] = {"handlers": [], "propagate": True, "level": "WARNING"}
    logging.captureWarnings(True)
