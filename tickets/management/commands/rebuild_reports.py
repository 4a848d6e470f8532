from typing import Any

from django.core.management.base import BaseCommand

from tickets.reports import sla


class Command(BaseCommand):
    help = (
        "Recompute every ticket's SLA outcomes (first response met, resolution met) from its "
        "transition log, as the SLA clock computes them now, in batches; prints how many changed. "
        "Run it after changing a plan's hours or calendar if the reports should count past "
        "tickets under the new ones."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--batch", type=int, default=sla.BATCH, help=f"Tickets per transaction (default {sla.BATCH})."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1:
            self.stderr.write("--batch must be at least 1.")
            raise SystemExit(2)

        def progress(done: sla.Rebuilt) -> None:
            if options["verbosity"] > 1:
                self.stdout.write(f"  {done.tickets} tickets replayed, {done.changed} changed")

        done = sla.rebuild_outcomes(batch=options["batch"], progress=progress)
        self.stdout.write(f"{done.tickets} tickets replayed; {done.changed} changed.")
