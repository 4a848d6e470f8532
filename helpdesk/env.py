"""Tiny helpers that read settings from the environment (no domain code here)."""

import os
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_octal(name: str, default: int) -> int:
    """A file mode such as ``640`` or ``0o640``, always read as octal."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip(), 8)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an octal file mode such as 0o640, not {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def email_settings(url: str, *, file_path: str) -> dict[str, object]:
    """Django e-mail settings from one URL.

    ``console:`` (the default) prints mail, ``file:`` writes it under ``file_path``,
    ``locmem:`` keeps it in memory, ``smtp://user:pass@host:25``,
    ``smtp+tls://…:587`` (STARTTLS) and ``smtps://…:465`` (implicit TLS) send it.
    """
    parts = urlsplit(url)
    scheme = parts.scheme or url.rstrip(":")
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": parts.path or file_path,
        }
    if scheme in {"smtp", "smtp+tls", "smtps"}:
        query = parse_qs(parts.query)
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": parts.port or {"smtp": 25, "smtp+tls": 587, "smtps": 465}[scheme],
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_TLS": scheme == "smtp+tls",
            "EMAIL_USE_SSL": scheme == "smtps",
            "EMAIL_TIMEOUT": int(query.get("timeout", ["10"])[0]),
        }
    raise ImproperlyConfigured(
        f"EMAIL_URL scheme {scheme!r} is not one of console, file, locmem, smtp, smtp+tls, smtps"
    )
