import time
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand

from tickets.mailin import imap
from tickets.reports import snapshots
from tickets.sla import jobs


class Command(BaseCommand):
    help = (
        "Run the SLA watch and the lifecycle timers, read the IMAP mailboxes and refresh the "
        "supervisors' dashboards that are due, once, or every "
        "--every seconds with --loop (what `make run` does beside the dev server; with a broker, "
        "Celery beat runs them)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep running until interrupted.")
        parser.add_argument("--every", type=int, default=60, help="Seconds between runs (default 60).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["every"] < 1:
            self.stderr.write("--every must be at least 1 second.")
            raise SystemExit(2)
        while True:
            started = time.monotonic()
            report = jobs.run_timers()
            if options["verbosity"] > 1 or any(report.as_dict().values()):
                self.stdout.write(f"Timers: {report.as_dict()}")
            for mailbox in imap.poll_all():
                if options["verbosity"] > 1 or mailbox.fetched or mailbox.error:
                    self.stdout.write(
                        f"Mailbox {mailbox.mailbox}: {mailbox.stored} stored {mailbox.error}".rstrip()
                    )
            # The supervisors' dashboards that are due (a few queries when none is).
            refreshed = snapshots.refresh()
            if options["verbosity"] > 1 or refreshed.computed:
                self.stdout.write(f"Reports: {asdict(refreshed)}")
            if not options["loop"]:
                return
            try:
                # A run that took long (a backlog) leaves less of the interval to wait.
                time.sleep(max(0.0, options["every"] - (time.monotonic() - started)))
            except KeyboardInterrupt:
                return
