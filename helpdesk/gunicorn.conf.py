"""gunicorn's hooks for the help desk: ``gunicorn -c helpdesk/gunicorn.conf.py helpdesk.wsgi``
(the bind address, the workers and the rest stay on the command line).

With PROMETHEUS_MULTIPROC_DIR set, every worker writes its metrics to files in that folder and
/metrics adds them up (``helpdesk/ops/metrics.py``). The folder must be this gunicorn's own and
empty at start: the files of a previous run are removed when the master starts, and a worker
that exits is marked dead so that its live gauges stop counting.
"""

import os
from pathlib import Path

from prometheus_client import multiprocess


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
