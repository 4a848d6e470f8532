from django.db import migrations, models


def copy_ranks(apps, schema_editor):
    Priority = apps.get_model("tickets", "Priority")
    Ticket = apps.get_model("tickets", "Ticket")
    for priority in Priority.objects.all():
        Ticket.objects.filter(priority=priority).update(priority_rank=priority.rank)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0011_integrations")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="priority_rank",
            field=models.SmallIntegerField(default=-1, editable=False),
        ),
        migrations.RunPython(copy_ranks, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["-priority_rank", "-last_activity_at", "-id"], name="ticket_priority_order"
            ),
        ),
    ]
