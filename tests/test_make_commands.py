"""`make shell` and `make manage`: management commands with the settings `make run` uses, so a
newcomer's first `manage.py` command does not stop for want of a SECRET_KEY."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _target(name: str) -> str:
    """The recipe lines of one Makefile target."""
    makefile = (ROOT / "Makefile").read_text()
    return makefile.split(f"\n{name}: $(STAMP)\n", 1)[1].split("\n\n", 1)[0]


def _make(*args: str, stdin: str = "", var_dir: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("make") is None or not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("needs make and the project's .venv (make .venv/.installed)")
    # Without SECRET_KEY and DEBUG, as in a fresh shell: the targets must supply what is needed.
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL")}
    env["HELPDESK_VAR_DIR"] = str(var_dir)
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_shell_and_manage_run_with_the_settings_of_make_run():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nrun: export DEBUG = 1\n" in makefile
    assert "\nshell manage: export DEBUG = 1\n" in makefile
    assert _target("shell").strip() == "$(PY) manage.py shell"
    assert _target("manage").strip() == "$(PY) manage.py $(ARGS)"


def test_make_n_shows_the_commands_they_run(tmp_path):
    shell = _make("-n", "shell", var_dir=tmp_path)
    assert shell.returncode == 0 and shell.stdout.strip().endswith(".venv/bin/python manage.py shell")
    manage = _make("-n", "manage", "ARGS=createsuperuser --username ada", var_dir=tmp_path)
    assert manage.stdout.strip().endswith(".venv/bin/python manage.py createsuperuser --username ada")


def test_a_command_runs_without_a_secret_key(tmp_path):
    check = _make("manage", "ARGS=check", var_dir=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "System check identified no issues" in check.stdout
    code = "from django.conf import settings; print('DEBUG is', settings.DEBUG)\n"
    shell = _make("shell", stdin=code, var_dir=tmp_path)
    assert shell.returncode == 0, shell.stderr
    assert "DEBUG is True" in shell.stdout


def test_the_readme_says_how_to_run_management_commands():
    readme = (ROOT / "README.md").read_text()
    assert "`make shell`" in readme and 'make manage ARGS="createsuperuser"' in readme
