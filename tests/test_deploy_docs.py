"""docs/deploy.md names every environment variable the settings read, and the README links it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_read_from_the_environment_is_in_deploy_md():
    settings = (ROOT / "helpdesk" / "settings.py").read_text()
    names = set(re.findall(r"env_\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", settings))
    assert {"SECRET_KEY", "DATABASE_URL", "CACHE_URL", "CELERY_VISIBILITY_TIMEOUT"} <= names
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in deploy)
    assert not missing, f"read by helpdesk/settings.py but not described in docs/deploy.md: {missing}"


def test_the_readme_links_deploy_md():
    assert "(docs/deploy.md)" in (ROOT / "README.md").read_text()
