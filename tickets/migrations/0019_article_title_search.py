# The knowledge base's searches rank the articles whose title matches first (tickets.kb.search):
# on PostgreSQL a GIN index on the title's vector, tickets.kb.search.TITLE_VECTOR, the same
# expression the searches name. SQLite has no such index and searches by substring.

from django.db import migrations

TITLE_VECTOR = "to_tsvector('english'::regconfig, COALESCE(title, ''))"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS article_title_search ON tickets_article USING gin ({TITLE_VECTOR})"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS article_title_search")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0018_knowledge_base")]

    operations = [migrations.RunPython(create_index, drop_index)]
