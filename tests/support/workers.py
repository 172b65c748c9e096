"""Real processes for tests: a throw-away redis-server, Celery worker and beat.

Each test that uses them starts its own redis-server on a free port, and workers
and beat against it and against this run's test database (the test must be
`django_db(transaction=True)` so they see its rows), and kills them all at the
end, also on failure. Set CALAIM_SHOW_WORKER_LOGS=1 to print their logs.

Use the fixtures by binding them in the test module (an import would be flagged
by ruff as redefined by the test's arguments):

    redis_server = workers.redis_server
    app_broker = workers.app_broker
    processes = workers.processes
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from email import message_from_bytes
from pathlib import Path

import pytest
import redis
from django.db import connection
from kombu import pools as kombu_pools

from calaim import celery_app

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).parent / "celery")
REDIS_SERVER = shutil.which("redis-server") or "redis-server"
SWEEP_SECONDS = 1
REDELIVER_AFTER_SECONDS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, *, timeout, what):
    """Poll `condition` until it is true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


class RedisServer:
    """A throw-away redis-server on a free port, stoppable and restartable."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_until(self._answers(client), timeout=10, what="redis-server answers")

    @staticmethod
    def _answers(client):
        def check():
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        return check

    def stop(self):
        if self.process is not None:
            _stop(self.process)
            self.process = None


def database_url() -> str:
    """This run's test database as a URL, for the processes started."""
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}"
        f":{database['PORT'] or 5432}/{database['NAME']}"
    )


class Processes:
    """Celery worker and beat processes against the test database and Redis."""

    def __init__(self, tmp_path: Path, redis_url: str):
        self.tmp_path = tmp_path
        self.mail_dir = tmp_path / "mail"
        self.mail_dir.mkdir()
        self.running = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "calaim.test_settings",
            "DEBUG": "true",
            "DATABASE_URL": database_url(),
            "CONN_MAX_AGE": "0",
            "REDIS_URL": redis_url,
            "OUTBOX_SWEEP_SECONDS": str(SWEEP_SECONDS),
            "OUTBOX_REDELIVER_AFTER_SECONDS": str(REDELIVER_AFTER_SECONDS),
            "OUTBOX_RETRY_BASE_SECONDS": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "PYTHONUNBUFFERED": "1",
        }

    def _start(self, name, *arguments):
        log = (self.tmp_path / f"{name}-{len(self.running)}.log").open("wb")
        process = subprocess.Popen(
            [CELERY, "-A", "calaim", *arguments, "--loglevel", "INFO"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def start_worker(self, include=("tests.support.outbox_handlers",)):
        """A worker with one process; `include` names extra task/handler modules."""
        extra = ["--include", ",".join(include)] if include else []
        return self._start(
            "worker",
            "worker",
            *extra,
            "--concurrency",
            "1",
            "--hostname",
            f"fault-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        )

    def start_beat(self):
        schedule = self.tmp_path / f"beat-schedule-{len(self.running)}"
        return self._start("beat", "beat", "--schedule", str(schedule))

    def kill(self, process):
        """SIGKILL the process and its children, as a crash would."""
        _stop(process)

    def stop_all(self):
        for process in self.running:
            _stop(process)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.tmp_path.glob("*.log"))
        )

    def sent_mail(self):
        messages = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_bytes().split(b"-" * 79):
                if chunk.strip():
                    messages.append(message_from_bytes(chunk.strip()))
        return messages


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_broker(redis_server):
    """Point this process's Celery app at the test's Redis, and back afterwards."""

    def use(url):
        celery_app.pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        # kombu keeps producer pools in a process-wide registry keyed by broker
        # URL; the one for the URL we return to holds the pool closed above.
        kombu_pools.reset()
        celery_app.conf.broker_url = url

    previous = celery_app.conf.broker_url
    use(redis_server.url)
    yield
    use(previous)


@pytest.fixture
def processes(tmp_path, redis_server, app_broker):
    running = Processes(tmp_path, redis_server.url)
    yield running
    running.stop_all()
    if os.environ.get("CALAIM_SHOW_WORKER_LOGS"):
        print(running.logs())  # noqa: T201
