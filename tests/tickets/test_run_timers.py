"""manage.py run_timers: the periodic job without Celery beat (what `make run` runs)."""

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tickets.models import Ticket

MONDAY_10 = datetime(2026, 11, 30, 10, tzinfo=UTC)


def test_one_run_acts_and_says_what_it_did(lab, new_ticket, time_machine):
    time_machine.move_to(MONDAY_10, tick=False)
    ticket = new_ticket()
    time_machine.move_to(MONDAY_10 + timedelta(hours=4), tick=False)  # first response missed
    out = StringIO()
    call_command("run_timers", stdout=out)
    assert out.getvalue().strip().splitlines() == [
        "Timers: {'overdue': 1, 'escalated': 0, 'reminded': 0, 'expired': 0, 'closed': 0}",
        # The supervisors' default dashboard, computed ahead (Jane's and the admin's view).
        "Reports: {'computed': 1, 'forgotten': 0, 'left': 0}",
    ]
    assert Ticket.objects.get(pk=ticket.pk).first_response_breached_at is not None
    quiet = StringIO()
    call_command("run_timers", stdout=quiet)
    assert quiet.getvalue() == ""


def test_a_loop_needs_a_positive_interval(db):
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("run_timers", "--loop", "--every", "0", stderr=err)
    assert exit_.value.code == 2 and "--every must be at least 1 second" in err.getvalue()


def test_make_run_runs_the_timers_beside_the_dev_server():
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "manage.py run_timers --loop &" in run and "kill $$timers" in run
    assert run.index("run_timers --loop") < run.index("runserver")


def test_beat_runs_the_timers_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["lifecycle-timers"]
    assert entry["task"] == "tickets.tasks.run_timers" and entry["schedule"] == 60.0
    from helpdesk.celery import app

    app.loader.import_default_modules()
    assert "tickets.tasks.run_timers" in app.tasks
