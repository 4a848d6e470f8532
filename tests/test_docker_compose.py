"""docker-compose.yml and the Dockerfile can't be run here, so check what they refer to.

Every environment variable they set must be one the settings read, and every command
they run (manage.py, celery, gunicorn) must name something that exists in this project.
"""

import importlib
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from celery.bin.celery import celery as celery_cli
from django.core.management import get_commands
from gunicorn.config import Config as GunicornConfig

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker", "beat")
SETTINGS_SOURCE = (ROOT / "helpdesk" / "settings.py").read_text() + (ROOT / "helpdesk" / "env.py").read_text()
SHELL_OPERATORS = {"&&", "||", ";", "|"}


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "NAME=value" form
        env = dict(item.partition("=")[::2] for item in env)
    return env


def _segments(command: str | list[str]) -> list[list[str]]:
    """The simple commands in a compose command, looking inside `sh -c "a && b"`."""
    tokens = shlex.split(command) if isinstance(command, str) else list(command)
    if tokens[:1] in (["sh"], ["bash"]) and "-c" in tokens:
        lexer = shlex.shlex(tokens[tokens.index("-c") + 1], posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    segments, current = [], []
    for token in tokens:
        if token in SHELL_OPERATORS:
            segments.append(current)
            current = []
        else:
            current.append(token)
    segments.append(current)
    return [seg[1:] if seg[:1] == ["exec"] else seg for seg in segments if seg]


def _dockerfile_segments() -> list[list[str]]:
    """The RUN (shell form) and CMD/ENTRYPOINT (exec form) commands of the Dockerfile."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    segments = []
    for line in text.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction.upper() == "RUN":
            segments += _segments(["sh", "-c", rest])
        elif instruction.upper() in {"CMD", "ENTRYPOINT"}:
            segments += _segments(json.loads(rest))
    return segments


ALL_SEGMENTS = [
    (f"compose service {name!r}", segment)
    for name, service in SERVICES.items()
    if "command" in service
    for segment in _segments(service["command"])
] + [("Dockerfile", segment) for segment in _dockerfile_segments()]


def _runs(program: str) -> list[tuple[str, list[str]]]:
    return [(where, seg) for where, seg in ALL_SEGMENTS if Path(seg[0]).name == program]


def test_the_five_services_exist():
    assert {"db", "redis", "web", "worker", "beat"} <= set(SERVICES)
    for name in APP_SERVICES:
        assert SERVICES[name].get("build") == ".", f"{name} should run the image built here"


def test_depends_on_names_real_services():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on") or []:
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency!r}"


def test_every_environment_variable_is_read_by_the_settings():
    names = {name for service in APP_SERVICES for name in _environment(SERVICES[service])}
    # Guard against a parse that finds nothing and so passes vacuously.
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"} <= names
    unread = sorted(
        name for name in names if f'"{name}"' not in SETTINGS_SOURCE and f"'{name}'" not in SETTINGS_SOURCE
    )
    assert not unread, f"set in docker-compose.yml but never read by settings: {unread}"


def test_secret_key_must_come_from_the_host():
    for service in APP_SERVICES:
        value = _environment(SERVICES[service])["SECRET_KEY"]
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", value), value


def test_manage_py_commands_exist():
    known = get_commands()
    calls = [
        (where, seg[i + 1])
        for where, seg in ALL_SEGMENTS
        for i, token in enumerate(seg[:-1])
        if Path(token).name == "manage.py"
    ]
    assert ("compose service 'migrate'", "migrate") in calls
    unknown = [(where, name) for where, name in calls if name not in known]
    assert not unknown, f"not Django management commands: {unknown}"


def _celery_app_option(args: list[str]) -> str:
    for i, arg in enumerate(args):
        if arg in {"-A", "--app"}:
            return args[i + 1]
        if arg.startswith("--app="):
            return arg.split("=", 1)[1]
        if arg.startswith("-A") and len(arg) > 2:
            return arg[2:]
    pytest.fail(f"celery without -A/--app: {args}")


@pytest.mark.parametrize("service", ["worker", "beat"])
def test_celery_services_name_the_celery_app(service):
    runs = [seg for where, seg in _runs("celery") if where == f"compose service {service!r}"]
    assert len(runs) == 1, f"{service} should run celery once, runs {runs}"
    args = runs[0][1:]
    module_name = _celery_app_option(args)

    module = importlib.import_module(module_name)
    # `celery -A helpdesk` finds helpdesk.celery.app; resolve it the way the CLI does.
    app = find_app(module_name)
    assert isinstance(app, Celery)
    assert app.main == "helpdesk"
    defining = getattr(module, "app", None) or importlib.import_module(f"{module_name}.celery").app
    assert defining is app

    subcommand = next(arg for arg in args if not arg.startswith("-") and arg != module_name)
    assert subcommand == service
    assert subcommand in celery_cli.commands


# Importing helpdesk.wsgi builds the app, and WhiteNoise notes the uncollected static files.
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
def test_gunicorn_targets_import():
    runs = _runs("gunicorn")
    assert {where for where, _ in runs} >= {"compose service 'web'", "Dockerfile"}
    for where, seg in runs:
        parsed = GunicornConfig().parser().parse_args(seg[1:])
        assert len(parsed.args) == 1, f"{where}: expected one APP_MODULE in {seg}"
        module_name, _, attr = parsed.args[0].partition(":")
        assert attr, f"{where}: {parsed.args[0]!r} is not module:attr"
        target = getattr(importlib.import_module(module_name), attr)
        assert callable(target), f"{where}: {parsed.args[0]} is not a WSGI callable"


def test_haproxy_fronts_every_web_replica_and_every_service_is_health_checked():
    """`docker compose up --scale web=3` works: only HAProxy publishes a port, it finds the web
    replicas through Docker's DNS, and each long-running service has a health check."""
    assert "ports" not in SERVICES["web"], "a fixed host port on web stops it from scaling"
    assert SERVICES["haproxy"]["ports"] == ["8000:8000"]
    mounted = [volume.split(":")[0] for volume in SERVICES["haproxy"]["volumes"]]
    config = (ROOT / "deploy" / "haproxy.cfg").read_text()
    assert "./deploy/haproxy.cfg" in mounted
    assert re.search(r"server-template web- \d+ web:8000 check resolvers docker init-addr none", config)
    assert "uri /readyz?scope=serving" in config
    assert "/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    unchecked = [name for name, svc in SERVICES.items() if name != "migrate" and "healthcheck" not in svc]
    assert not unchecked, f"services without a health check: {unchecked}"
    for name in APP_SERVICES:
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_the_haproxy_config_is_valid():
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if not haproxy:
        pytest.skip("haproxy is not installed (Debian: apt-get install haproxy; .ci/run installs it)")
    result = subprocess.run(  # noqa: S603 - our own config file
        [haproxy, "-c", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
