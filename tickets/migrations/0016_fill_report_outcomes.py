"""Fill Ticket.first_response_met and resolution_met for the tickets made before the services
stored them: each ticket's transition log replayed by the SLA clock (tickets.reports.sla), 1,000
tickets at a time, each batch in its own transaction (a run cut short goes on from the start,
changing only what differs)."""

from django.db import migrations

from tickets.reports.sla import rebuild_outcomes


def fill_outcomes(apps, schema_editor):
    rebuild_outcomes(
        ticket_model=apps.get_model("tickets", "Ticket"),
        transition_model=apps.get_model("tickets", "TicketTransition"),
        plan_model=apps.get_model("tickets", "SLAPlan"),
        using=schema_editor.connection.alias,
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0015_report_outcomes"),
    ]

    operations = [
        migrations.RunPython(fill_outcomes, migrations.RunPython.noop, elidable=True),
    ]
