"""Operations: the health checks (``health``: /healthz, /readyz) and the Prometheus metrics
(``metrics``: /metrics, the database's query counts). An app of its own (``OpsConfig``) so that
its hooks are in place in every process Django starts, web or worker."""

import time

# When this process loaded Django (the app is imported during setup): a job that has not run
# yet counts as late only once the process has been up longer than the job's allowed age.
STARTED = time.monotonic()
