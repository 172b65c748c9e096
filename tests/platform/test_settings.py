"""Settings: strict in production, safe defaults, `check --deploy` clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7-" + "k" * 60 + "-production-like-secret",
    "ALLOWED_HOSTS": "care.example.org",
    "DATABASE_URL": "postgres://calaim:secret@db.internal:5432/calaim",
    "REDIS_URL": "redis://redis.internal:6379/0",
}


def _run(env_changes, *args):
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    env.pop("CALAIM_TESTING", None)
    env.update({k: v for k, v in env_changes.items() if v is not None})
    env["DJANGO_SETTINGS_MODULE"] = "calaim.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"]
)
def test_production_refuses_to_start_without(missing):
    result = _run({**PRODUCTION, missing: None}, "check")
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr


def test_check_deploy_is_clean_under_production_settings():
    result = _run(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_defaults_are_safe():
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS, s.X_FRAME_OPTIONS, s.SESSION_COOKIE_AGE,"
        " s.SESSION_COOKIE_HTTPONLY)"
    )
    result = _run(PRODUCTION, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-7:] == [
        "True",
        "True",
        "True",
        "31536000",
        "DENY",
        "900",
        "True",
    ]


def test_a_malformed_value_stops_start_up_clearly():
    result = _run({**PRODUCTION, "SECURE_HSTS_SECONDS": "a year"}, "check")
    assert result.returncode != 0
    assert "a year" in result.stderr
