"""The run command: embedded services, migrations, demo data, then every process.

    python scripts/run.py            # serve until Ctrl-C
    python scripts/run.py --smoke    # start, check the site answers, stop

Without DATABASE_URL / REDIS_URL it starts an embedded PostgreSQL and Redis (pip
packages, no root, no Docker) whose data persists in CALAIM_DATA_DIR (default
.data/). It runs the processes of the Procfile and stops them all, and the
embedded servers, on Ctrl-C.
"""

import argparse
import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile(env) -> dict[str, list[str]]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        match = re.match(r"^([a-z_]+):\s*(.+)$", line.strip())
        if match:
            command = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], match.group(2))
            processes[match.group(1)] = shlex.split(command)
    return processes


def manage(*args, env):
    command = [sys.executable, "manage.py", *args]
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603


def pipe_output(name, process):
    for line in iter(process.stdout.readline, b""):
        sys.stdout.write(f"{name:>6} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def wait_until_up(url, deadline_seconds=60) -> bool:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def _wait_for_group(pgid: int, seconds: float = 10) -> None:
    """Wait until every process of a group is gone (a Celery worker's pool
    children can outlive its main process by a moment), then kill stragglers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="start, check, stop")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    args = parser.parse_args()

    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env.setdefault("CALAIM_DATA_DIR", str(ROOT / ".data"))
    env["PORT"] = str(free_port() if args.smoke else args.port)
    env.setdefault("MLLP_PORT", str(free_port() if args.smoke else 2575))
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    data_dir = Path(env["CALAIM_DATA_DIR"])
    embedded_used = "DATABASE_URL" not in env or "REDIS_URL" not in env
    if embedded_used:
        from calaim import embedded

        print(f"Starting the embedded PostgreSQL and Redis (data in {data_dir})")
        env.setdefault("DATABASE_URL", embedded.ensure_postgres(data_dir))
        env.setdefault("REDIS_URL", embedded.ensure_redis(data_dir))

    processes = {}
    try:
        manage("migrate", "--no-input", env=env)
        manage("seed_demo", env=env)
        for name, command in procfile(env).items():
            process = subprocess.Popen(  # noqa: S603
                command,
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes[name] = process
            threading.Thread(
                target=pipe_output, args=(name, process), daemon=True
            ).start()
        url = f"http://127.0.0.1:{env['PORT']}/"
        if not wait_until_up(url + "health/"):
            print("The site did not answer within 60 seconds.", file=sys.stderr)
            return 1
        print(f"\nCalAIM Care is running at {url}  (Ctrl-C stops everything)\n")
        if args.smoke:
            with urllib.request.urlopen(url + "accounts/login/", timeout=5) as page:  # noqa: S310
                ok = page.status == 200 and b"Sign in" in page.read()
            print("smoke: " + ("ok" if ok else "FAILED: the sign-in page is wrong"))
            return 0 if ok else 1
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        while not stop.is_set():
            if any(process.poll() is not None for process in processes.values()):
                print("A process stopped; stopping the rest.", file=sys.stderr)
                return 1
            stop.wait(0.5)
        return 0
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            _wait_for_group(process.pid)
        if embedded_used:
            from calaim import embedded

            embedded.stop_all(data_dir)
            print("Stopped the embedded PostgreSQL and Redis.")


if __name__ == "__main__":
    sys.exit(main())
