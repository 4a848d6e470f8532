"""Production settings: Django's deploy checks pass, and the env helpers reject bad input.

The settings module reads the environment once, at import, so the production checks run
in a fresh interpreter with a production environment rather than in this test process.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from helpdesk.env import email_settings, env_bool

ROOT = Path(__file__).resolve().parent.parent

# Environment variables that would loosen what a production deployment gets by default.
SECURITY_OVERRIDES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
)


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECURITY_OVERRIDES}
    env.update(DEBUG="0", DJANGO_SETTINGS_MODULE="helpdesk.settings", **extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_settings():
    env = _production_env(SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="helpdesk.example.com")
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output, output


def test_collectstatic_works_with_production_storage(tmp_path):
    """The Docker build runs this; the manifest storage fails on any broken reference."""
    env = _production_env(SECRET_KEY=secrets.token_urlsafe(64), STATIC_ROOT=str(tmp_path))
    result = _run(["manage.py", "collectstatic", "--noinput"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "staticfiles.json").is_file()


def test_settings_refuse_to_load_without_secret_key_when_debug_is_off():
    result = _run(["-c", "from django.conf import settings; settings.DEBUG"], _production_env())
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_email_url_smtp_tls_with_credentials_and_port():
    url = "smtp+tls://mailer%40example.com:p%40ss@smtp.example.com:2525?timeout=7"
    assert email_settings(url, file_path="/unused") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "mailer@example.com",
        "EMAIL_HOST_PASSWORD": "p@ss",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 7,
    }


def test_email_url_default_ports_per_scheme():
    assert email_settings("smtp+tls://smtp.example.com", file_path="")["EMAIL_PORT"] == 587
    smtps = email_settings("smtps://smtp.example.com", file_path="")
    assert smtps["EMAIL_PORT"] == 465
    assert smtps["EMAIL_USE_SSL"] is True
    assert smtps["EMAIL_USE_TLS"] is False


def test_email_url_console_is_the_default():
    assert email_settings("console:", file_path="/unused") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }


def test_email_url_file_uses_the_given_folder():
    assert email_settings("file:", file_path="/srv/mail")["EMAIL_FILE_PATH"] == "/srv/mail"


@pytest.mark.parametrize("url", ["sendmail://localhost", "http://example.com", "smtp+ssl://x"])
def test_email_url_unknown_scheme_is_rejected(url):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        email_settings(url, file_path="/unused")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("True", True), (" yes ", True), ("on", True), ("0", False), ("off", False)],
)
def test_env_bool_accepts_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("HELPDESK_TEST_FLAG", raw)
    assert env_bool("HELPDESK_TEST_FLAG", not expected) is expected


def test_env_bool_falls_back_to_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("HELPDESK_TEST_FLAG", raising=False)
    assert env_bool("HELPDESK_TEST_FLAG", True) is True


@pytest.mark.parametrize("raw", ["maybe", "2", "y e s", "enabled"])
def test_env_bool_rejects_garbage(monkeypatch, raw):
    monkeypatch.setenv("HELPDESK_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="HELPDESK_TEST_FLAG"):
        env_bool("HELPDESK_TEST_FLAG", False)


def test_a_kept_database_connection_is_checked_before_it_is_reused():
    """With DATABASE_CONN_MAX_AGE set, the first request after a database restart would fail on
    its dead connection without the check (bench/soak.py saw one 500 per web process)."""
    from django.conf import settings

    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
