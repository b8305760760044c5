"""A real ruralcast web process for tests that need one: uvicorn on its own SQLite file.

Set up as `make run` sets it up (migrate, then whatever the test needs), started as the Procfile's
`web` line starts it, with `--no-proxy-headers`: the platform alone reads X-Forwarded-For, through
its trusted proxies (core.addresses). Used by the lock-out tests behind nginx and the live fuzz run.
"""

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[3]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def platform_env(run_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.django.local",
        "RURALCAST_RUN_DIR": str(run_dir),
        "DATABASE_URL": f"sqlite:///{run_dir / 'db.sqlite3'}",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "RURALCAST_MQTT_TLS_PORT": "0",  # no terminals' TLS listener on the machine-wide default port
        **extra,
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=BASE_DIR,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.stdout


@contextmanager
def uvicorn_running(env: dict[str, str], *, host: str = "127.0.0.1", log: Path | None = None) -> Iterator[str]:
    """Start uvicorn on a free port of `host`; yields its base URL; stops it afterwards."""
    port = free_port(host)
    output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 — closed below
    server = subprocess.Popen(
        [
            sys.executable,
            *("-m", "uvicorn", "config.asgi:application", "--host", host, "--port", str(port)),
            *("--no-proxy-headers", "--no-access-log"),
        ],
        env=env,
        cwd=BASE_DIR,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        if log:
            output.close()  # type: ignore[union-attr]
