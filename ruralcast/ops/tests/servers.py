"""Real servers for the serving tests: nginx with the generated configuration, uvicorn in a process
of its own (so its memory can be measured) or in a thread of the test (sharing the test database).

Each picks free ports on 127.0.0.1 and is stopped at the end; nothing relies on a server already
running on the machine."""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from ruralcast.ops.nginx import NginxSite, nginx_command, nginx_prepare

BASE_DIR = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[Any] | None = None, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def running_nginx(
    run_dir: Path, *, upstream: str, media_root: Path, static_root: Path, accel_location: str = "/_protected/"
) -> Iterator[str]:
    """nginx on a free port in front of `upstream`, configured by ruralcast.ops.nginx; yields its URL."""
    port = free_port()
    site = NginxSite(
        listen=f"127.0.0.1:{port}",
        upstreams=(upstream,),
        static_root=static_root,
        media_root=media_root,
        run_dir=run_dir,
        accel_location=accel_location,
        worker_processes="1",
    )
    conf = nginx_prepare(site)
    process = subprocess.Popen(nginx_command(site, conf), stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def uvicorn_process(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """uvicorn running config.asgi in a process of its own with `env`; yields (URL, pid)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **env},
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process, seconds=60)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def uvicorn_thread(application: Any) -> Iterator[str]:
    """uvicorn serving `application` from a thread of the test process; yields its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def peak_rss_bytes(pid: int) -> int:
    """The highest resident set size the process has had (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """GET `url` without following redirects: (status, headers, body)."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, dict(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()
