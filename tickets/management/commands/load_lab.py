from typing import Any

from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from tickets import lab


class Command(BaseCommand):
    help = "Build the lab help desk (departments, team, agents, SLA plans, topics); safe to run again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--with-tickets",
            action="store_true",
            help="Also add Example 1 walked to closure, an escalated ticket and tickets in every stage.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        configuration = lab.load_configuration()
        self.stdout.write(self.style.SUCCESS("Lab configuration is in place."))
        if options["with_tickets"]:
            # The demo people have no real mailboxes: their mail is kept in memory, not sent.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                made = lab.load_tickets(configuration)
            self.stdout.write(
                f"Demo tickets: {len(made)} added." if made else "Demo tickets were already there."
            )
        self.stdout.write(
            "Demo logins (demo data only; password for all: "
            f"{lab.DEMO_PASSWORD}):\n"
            "  admin              Django admin, /admin/\n"
            "  john, jane         agent console, /agents/\n"
            "  karen@example.com, ken@example.com   end-user portal, /"
        )
