"""The README's run command, in its smoke mode, on the embedded default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_run_command_smoke_mode_starts_and_stops_everything(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "CALAIM_TESTING",
            "DJANGO_SETTINGS_MODULE",
            "CALAIM_TEST_DATABASE",
        }
    }
    env["CALAIM_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "scripts/run.py", "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "smoke: ok" in output
    assert "care.manager@harbor.example" in output  # the demo accounts are printed
    assert "Stopped the embedded PostgreSQL and Redis." in output
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True
    ).stdout.split()
    assert leftovers == [], "processes left running after the smoke run"
