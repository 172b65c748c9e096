"""docker-compose.yml, the Dockerfile and .env.example, checked against the project.

Docker cannot run here, so these tests check what can go wrong without it: a
command naming a module, app or management command that does not exist, a
service without a health check, a variable nobody documented, and settings that
refuse the documented production values.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
ONE_SHOT = {"migrate"}
APP_SERVICES = {"migrate", "web", "worker", "beat"}

# `${NAME}`, `${NAME:-default}`, `${NAME:?message}` or `$NAME`, but not `$$NAME`,
# which compose leaves to the container's shell.
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_]\w*)|([A-Za-z_]\w*))")
# env.str("NAME", ...), env("NAME"), env.db_url(\n "NAME"), "NAME" in env.ENVIRON,
# env.ENVIRON.get("NAME"), _required_in_production("NAME").
SETTINGS_VARIABLE = re.compile(
    r"""(?:\benv(?:\.\w+)?\(\s*|env\.ENVIRON(?:\.get)?[\[(]\s*|"""
    r"""_required_in_production\(\s*)["']([A-Z][A-Z0-9_]*)["']"""
    r"""|["']([A-Z][A-Z0-9_]*)["']\s+in\s+env\.ENVIRON"""
)
DOCUMENTED_VARIABLE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def documented():
    return set(DOCUMENTED_VARIABLE.findall((ROOT / ".env.example").read_text()))


def _command(service) -> list[str]:
    command = service.get("command")
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else list(command)


def _settings_variables() -> set[str]:
    source = (ROOT / "calaim" / "settings.py").read_text()
    return {a or b for a, b in SETTINGS_VARIABLE.findall(source)}


def _compose_variables() -> set[str]:
    text = (ROOT / "docker-compose.yml").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return {a or b for a, b in COMPOSE_VARIABLE.findall("\n".join(lines))}


def test_the_stack_has_every_service(compose):
    assert set(compose["services"]) >= {
        "postgres",
        "redis",
        "migrate",
        "web",
        "worker",
        "beat",
    }
    assert compose["services"]["postgres"]["image"] == "postgres:15"
    assert compose["services"]["redis"]["image"] == "redis:7"


def test_every_long_running_service_has_a_health_check(compose):
    for name, service in compose["services"].items():
        if name in ONE_SHOT:
            assert "healthcheck" not in service, name
            assert service["restart"] == "no", f"{name} must not restart"
            continue
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no health check"
        assert not check.get("disable"), f"{name} disables its health check"


def test_database_and_redis_health_checks_ask_the_servers(compose):
    services = compose["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]


def test_the_app_waits_for_healthy_services_and_a_finished_migration(compose):
    services = compose["services"]
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        if name not in ONE_SHOT:
            assert depends["migrate"]["condition"] == (
                "service_completed_successfully"
            ), name


def test_app_services_read_the_env_file_and_keep_data_on_a_volume(compose):
    volumes = set(compose.get("volumes") or {})
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["env_file"] == ".env", name
        mounts = [mount.split(":") for mount in service["volumes"]]
        assert ["calaim-data", "/data"] in mounts, name
        assert service["environment"]["CALAIM_DATA_DIR"] == "/data", name
    postgres_mounts = compose["services"]["postgres"]["volumes"]
    assert "postgres-data:/var/lib/postgresql/data" in postgres_mounts
    assert {"postgres-data", "calaim-data"} <= volumes


def test_web_runs_the_wsgi_application_gunicorn_is_given(compose):
    import importlib

    command = _command(compose["services"]["web"])
    assert command[0] == "gunicorn"
    module_name, attribute = command[1].split(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute))
    assert "--bind=0.0.0.0:8000" in command


def test_web_health_check_calls_the_health_page(compose, client, db):
    test = compose["services"]["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    url = re.search(r"'(http://localhost:8000(/[^']*))'", test[3])
    assert url is not None, test
    # The same request the container makes, answered by the project.
    response = client.get(url.group(2), HTTP_HOST="localhost")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert re.fullmatch(r"\^?health/\$?", settings.SECURE_REDIRECT_EXEMPT[0])


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_celery_services_point_at_the_project_celery_app(compose, name):
    from celery import Celery
    from celery.app.utils import find_app

    command = _command(compose["services"][name])
    assert command[:2] == ["celery", "-A"]
    assert command[3] == name
    assert (ROOT / command[2].replace(".", "/") / "celery.py").exists()
    # Exactly how the celery command line finds its app.
    app = find_app(command[2])
    assert isinstance(app, Celery)
    assert app.main == "calaim"


def test_beat_keeps_its_schedule_on_the_data_volume(compose):
    command = _command(compose["services"]["beat"])
    schedule = command[command.index("--schedule") + 1]
    assert schedule.startswith("/data/")
    check = compose["services"]["beat"]["healthcheck"]["test"][-1]
    assert schedule in check


def test_management_commands_in_the_stack_exist(compose):
    from django.core.management import get_commands

    commands = get_commands()
    used = []
    for name, service in compose["services"].items():
        command = _command(service)
        if command[:2] == ["python", "manage.py"]:
            used.append((name, command[2]))
    assert ("migrate", "migrate") in used
    for service, command in used:
        assert command in commands, f"{service}: no management command {command!r}"


def test_every_compose_variable_is_documented(documented):
    used = _compose_variables()
    assert {"POSTGRES_PASSWORD", "WEB_CONCURRENCY"} <= used  # the regex works
    assert not used - documented, f"undocumented: {sorted(used - documented)}"


def test_every_variable_settings_reads_is_documented(documented):
    read = _settings_variables()
    # The regex finds every shape settings uses (guards against it going blind).
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_BACKEND"} <= (
        read
    )
    assert not read - documented, f"undocumented: {sorted(read - documented)}"


def test_env_example_documents_nothing_that_nobody_reads(documented):
    stale = documented - _settings_variables() - _compose_variables()
    assert not stale, f".env.example documents unused variables: {sorted(stale)}"


def _env_example_values() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def _production_environment(extra=()) -> dict[str, str]:
    """The environment the containers get: .env.example plus what compose sets."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "SYSTEMROOT"}
    }
    environment.update(_env_example_values())
    environment.update(
        {
            "DATABASE_URL": "postgres://calaim:change-me@postgres:5432/calaim",
            "REDIS_URL": "redis://redis:6379/0",
            "DJANGO_SETTINGS_MODULE": "calaim.settings",
        }
    )
    environment.update(extra)
    return environment


def test_settings_accept_the_documented_production_values(tmp_path):
    # Deploy checks at warning level: HTTPS, HSTS, cookies and the key are right.
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_environment({"CALAIM_DATA_DIR": str(tmp_path)}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_a_non_root_python_311_image():
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [
        line.split(None, 1)
        for line in dockerfile.splitlines()
        if line and not line.startswith((" ", "#"))
    ]
    assert instructions[0] == ["FROM", "python:3.11-slim"]
    users = [arg.strip() for keyword, arg in instructions if keyword == "USER"]
    assert users, "the image must switch to a non-root user"
    assert users[-1] not in {"root", "0"}
    assert "pip install -r requirements.txt" in dockerfile
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


@pytest.mark.slow
def test_the_dockerfile_collectstatic_step_works(tmp_path):
    """Runs the image's collectstatic step with the Dockerfile's own dummy values
    (manifest storage, compressed), as the build would."""
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    step = next(
        line for line in dockerfile.splitlines() if "collectstatic" in line
    ).removeprefix("RUN ")
    collect = step.split("&&")[0]
    words = shlex.split(collect)
    assignments = dict(word.split("=", 1) for word in words if "=" in word[:40])
    command = [word for word in words if word.split("=", 1)[0] not in assignments]
    assert command == ["python", "manage.py", "collectstatic", "--noinput"]
    assert assignments["DEBUG"] == "false"
    environment = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG"}
    }
    environment.update(assignments)
    environment.update(
        {
            "STATIC_ROOT": str(tmp_path / "static"),
            "CALAIM_DATA_DIR": str(tmp_path / "data"),
            "DJANGO_SETTINGS_MODULE": "calaim.settings",
        }
    )
    result = subprocess.run(
        [sys.executable, *command[1:]],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()
