"""The models and the migrations agree: a model change committed without its migration would
break every process that reads the new column (bench/soak.py once met exactly that)."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_its_migration(capsys):
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=1)
    except SystemExit as exit:  # --check exits 1 when a migration would be written
        pytest.fail(f"makemigrations would write a migration (exit {exit.code}):\n{capsys.readouterr().out}")
