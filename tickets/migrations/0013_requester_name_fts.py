# Full-text search of requesters' names for the console on PostgreSQL (issue 16): a GIN index
# on the expression tickets.selectors._search uses, as migration 0002 made for subjects and
# thread texts. SQLite has no such index and searches names by substring.

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS requester_name_fts ON tickets_requester "
        "USING gin (to_tsvector('simple'::regconfig, COALESCE(name, '')))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS requester_name_fts")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0012_ticket_priority_rank")]

    operations = [migrations.RunPython(create_index, drop_index)]
