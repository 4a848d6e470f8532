"""gunicorn's settings for the help desk: ``gunicorn -c python:helpdesk.gunicorn_conf helpdesk.wsgi``
(the bind address, the workers and the rest stay on the command line).

Logs: with LOG_FORMAT=json, gunicorn's master process (its start, its workers' boots, exits and
timeouts) logs one line of JSON per record like the rest of the help desk; its workers switch to
the project's LOGGING when Django starts in them. The access log stays off: the help desk logs
one line per request itself, with the request id (helpdesk.requestids, LOG_REQUESTS). With
plain text, gunicorn keeps its own format.

Metrics: with PROMETHEUS_MULTIPROC_DIR set, every worker writes its metrics to files in that
folder and /metrics adds them up (``helpdesk/ops/metrics.py``). The folder must be this
gunicorn's own and empty at start: the files of a previous run are removed when the master
starts, and a worker that exits is marked dead so that its live gauges stop counting.
"""

import logging
import os
from pathlib import Path

from prometheus_client import multiprocess

from helpdesk.logs import logging_config

if os.environ.get("LOG_FORMAT", "text").strip().lower() == "json":
    logconfig_dict = logging_config("json", os.environ.get("LOG_LEVEL", "INFO"))
    # gunicorn logs every request when given a logging configuration; those lines would lack the
    # request id and duplicate the help desk's own.
    logconfig_dict["loggers"]["gunicorn.access"] = {"handlers": [], "propagate": True, "level": "WARNING"}
    logging.captureWarnings(True)


def _metrics_dir() -> Path | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(path) if path else None


def on_starting(server):
    folder = _metrics_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    if _metrics_dir() is not None:
        multiprocess.mark_process_dead(worker.pid)
