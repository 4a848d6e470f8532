"""bench/incident.py runs, small (5 reports), on a SQLite file of its own, so it cannot rot: every
report is resolved with the incident (the script asserts it) and the mail is queued, one task per
mail event of the incident and of each report, none sent."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _row(output: str, call: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(f"| {call} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_incident_benchmark_runs_small(tmp_path):
    env = {**os.environ, "DEBUG": "1", "HELPDESK_VAR_DIR": str(tmp_path)}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "bench/incident.py", "--reports", "5", "--runs", "1", "--floor-runs", "2",
         "--profile", str(tmp_path / "profile.txt")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.startswith("## SQLite") and "5 reports per incident" in out
    # The incident and its 5 reports: each a resolution mail and a move, queued, not sent.
    assert _row(out, "resolve, incident")[4] == "12 (notify_entry 6, notify_transition 6)"
    assert _row(out, "public update, incident")[4] == "6 (notify_entry 6)"
    for call in ("public update, incident", "resolve, incident"):
        assert re.fullmatch(r"-?\d+\.\d\d ms", _row(out, call)[5])
    assert "ticket_resolve" in (tmp_path / "profile.txt").read_text()
