from django.db import migrations, models

# The time awaiting the requester reads, for the tickets resolved in a period, only their moves
# into and out of awaiting_user. Made by SQL like transition_made (0015): the model of
# TicketTransition does not declare it.
TRANSITION_AWAITING = (
    "CREATE INDEX transition_awaiting ON tickets_tickettransition (ticket_id) "
    "WHERE source = 'awaiting_user' OR target = 'awaiting_user'"
)


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0016_fill_report_outcomes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_created',
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_first_responded',
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_resolved',
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['created_at', 'state', 'department', 'team', 'assignee', 'help_topic', 'priority', 'source', 'tier', 'follow_up_of'], name='ticket_created'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('first_responded_at__isnull', False)), fields=['first_responded_at', 'state', 'department', 'team', 'assignee', 'help_topic', 'priority', 'source', 'first_response_met'], name='ticket_first_responded'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('resolved_at__isnull', False)), fields=['resolved_at', 'state', 'department', 'team', 'assignee', 'help_topic', 'priority', 'source', 'created_at', 'resolution_met', 'id'], name='ticket_resolved'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('state__in', ('open', 'assigned', 'awaiting_user', 'in_progress', 'escalated'))), fields=['state', 'department', 'team', 'assignee', 'help_topic', 'priority', 'source'], name='ticket_active_reported'),
        ),
        migrations.RunSQL(TRANSITION_AWAITING, "DROP INDEX transition_awaiting"),
    ]
