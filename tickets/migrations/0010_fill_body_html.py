"""Render the body of every existing thread entry once, into ThreadEntry.body_html.

Batches of 1,000 rows by primary key, each in its own transaction, so that a database of a
million tickets is filled without one long transaction, and a run cut short goes on where it
stopped (only rows still without HTML are read).
"""

from django.db import migrations, transaction

from tickets.markup import render_markdown

BATCH = 1000


def fill_body_html(apps, schema_editor):
    ThreadEntry = apps.get_model("tickets", "ThreadEntry")
    entries = ThreadEntry.objects.using(schema_editor.connection.alias).filter(body_html="").order_by("pk")
    last = 0
    while True:
        batch = list(entries.filter(pk__gt=last).only("pk", "body")[:BATCH])
        if not batch:
            return
        for entry in batch:
            entry.body_html = render_markdown(entry.body)
        with transaction.atomic(using=schema_editor.connection.alias):
            ThreadEntry.objects.using(schema_editor.connection.alias).bulk_update(batch, ["body_html"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0009_threadentry_body_html"),
    ]

    operations = [
        migrations.RunPython(fill_body_html, migrations.RunPython.noop, elidable=True),
    ]
