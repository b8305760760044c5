"""Lock-out with the documented nginx in front, for real (audit item 14).

The audit found that behind a proxy every client looked like the proxy, so anyone could lock the
duty approvers out. Here a real uvicorn (started like the Procfile's web line) runs behind a real
nginx with the X-Forwarded-For set-up of docs/deploy.md, three ways:

- nginx on the same host (clients from 127.0.0.2 and 127.0.0.3, nginx trusted as 127.0.0.1);
- nginx on "another host": a network namespace joined by a veth pair, with the project's own test
  addresses 198.18.N.1–3 (RFC 2544's benchmarking range; root only);
- no proxy at all, the attacker sending a forged X-Forwarded-For straight to uvicorn.

Each time an attacker fails five times for the approver from one address (and forges headers),
gets 429 from then on, and the approver logs in at once from another address.
"""

import http.client
import os
import random
import re
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ruralcast.accounts.demo import random_password
from ruralcast.core.tests.live_server import free_port, manage, platform_env, uvicorn_running

pytestmark = pytest.mark.slow
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
USERNAME = "duty-approver"
WRONG = "Not-the-password-1"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    run_dir = tmp_path_factory.mktemp("lockout-run")
    env = platform_env(run_dir, DJANGO_ALLOWED_HOSTS="*")
    manage(env, "migrate", "--noinput", "-v0")
    password = random_password(username=USERNAME)
    manage(
        env,
        "shell",
        "-c",
        "from ruralcast.accounts.services import user_create, role_grant; "
        "from ruralcast.regions.selectors import region_root; "
        f"u = user_create(actor=None, username={USERNAME!r}, password={password!r}, home_region=region_root()); "
        "role_grant(actor=None, user=u, role='alert_approver', region=region_root())",
    )
    return {"env": env, "password": password, "run_dir": run_dir}


def log_in(host: str, port: int, source: str, password: str, forged: str | None = None) -> int:
    """GET the login page for its CSRF token, POST the form, from `source`; returns the POST's status."""
    headers = {"X-Forwarded-For": forged} if forged else {}
    connection = http.client.HTTPConnection(host, port, timeout=30, source_address=(source, 0))
    try:
        connection.request("GET", "/accounts/login/", headers=headers)
        page = connection.getresponse()
        body = page.read().decode()
        cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie") or "")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        assert cookie and token, body[:500]
        form = urllib.parse.urlencode(
            {"username": USERNAME, "password": password, "csrfmiddlewaretoken": token.group(1)}
        )
        connection.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={
                **headers,
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookie.group(1)}",
            },
        )
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def attacker_then_person(host: str, port: int, attacker: str, person: str, password: str, forge: str) -> None:
    statuses = [log_in(host, port, attacker, WRONG, forged=f"{forge}, 203.0.113.{n}") for n in range(7)]
    assert statuses == [200] * 4 + [429] * 3, statuses
    assert log_in(host, port, person, password) == 302


def nginx_config(directory: Path, *, listen: str, upstream: str) -> Path:
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / name).mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    config = directory / "nginx.conf"
    # The server block of docs/deploy.md ("nginx in front"), on a test port and without TLS.
    config.write_text(
        f"""{user}worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    server {{
        listen {listen};
        location / {{
            proxy_pass http://{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""
    )
    return config


@contextmanager
def nginx_running(config: Path, *, prefix: list[str] | None = None, listen: tuple[str, int]) -> Iterator[None]:
    process = subprocess.Popen([*(prefix or []), NGINX, "-c", str(config), "-p", str(config.parent)])
    try:
        for _ in range(100):
            try:
                with socket_to(*listen):
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError((config.parent / "error.log").read_text()) from None
                subprocess.run(["sleep", "0.1"], check=True)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def socket_to(host: str, port: int) -> Iterator[None]:
    import socket

    with socket.create_connection((host, port), timeout=1):
        yield


needs_nginx = pytest.mark.skipif(
    not os.path.exists(NGINX), reason=f"nginx is not installed ({NGINX}); make test installs it"
)


@needs_nginx
def test_behind_nginx_on_the_same_host_an_attacker_never_locks_the_approver_out(prepared, tmp_path: Path) -> None:
    env = {**prepared["env"], "RURALCAST_TRUSTED_PROXIES": "127.0.0.1/32"}  # type: ignore[dict-item]
    with uvicorn_running(env, log=tmp_path / "uvicorn.log") as url:
        port = free_port()
        config = nginx_config(tmp_path, listen=f"127.0.0.1:{port}", upstream=url.removeprefix("http://"))
        with nginx_running(config, listen=("127.0.0.1", port)):
            # The attacker also forges the approver's own address in X-Forwarded-For: nginx appends
            # the real one, and the platform reads the right-most address nginx did not write.
            attacker_then_person("127.0.0.1", port, "127.0.0.2", "127.0.0.3", prepared["password"], forge="127.0.0.3")  # type: ignore[arg-type]


@contextmanager
def proxy_host() -> Iterator[tuple[str, str, str, str]]:
    """A network namespace as the proxy's host: (namespace, our address, its address, a second address of ours)."""
    tag = f"{os.getpid() % 10000}{random.randint(0, 99)}"
    octet = random.randint(100, 250)
    namespace, ours, theirs = f"rcproxy{tag}", f"rch{tag}", f"rcn{tag}"
    mine, proxy, other = f"198.18.{octet}.1", f"198.18.{octet}.2", f"198.18.{octet}.3"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    ip("netns", "add", namespace)
    try:
        ip("link", "add", ours, "type", "veth", "peer", "name", theirs)
        ip("link", "set", theirs, "netns", namespace)
        ip("addr", "add", f"{mine}/24", "dev", ours)
        ip("addr", "add", f"{other}/24", "dev", ours)
        ip("link", "set", ours, "up")
        ip("-n", namespace, "addr", "add", f"{proxy}/24", "dev", theirs)
        ip("-n", namespace, "link", "set", theirs, "up")
        ip("-n", namespace, "link", "set", "lo", "up")
        yield namespace, mine, proxy, other
    finally:
        subprocess.run(["ip", "link", "del", ours], capture_output=True)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


@needs_nginx
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"), reason="a network namespace needs root and iproute2")
def test_behind_nginx_on_another_host_an_attacker_never_locks_the_approver_out(prepared, tmp_path: Path) -> None:
    with proxy_host() as (namespace, mine, proxy, other):
        env = {**prepared["env"], "RURALCAST_TRUSTED_PROXIES": f"{proxy}/32"}  # type: ignore[dict-item]
        with uvicorn_running(env, host=mine, log=tmp_path / "uvicorn.log") as url:
            port = 8080
            config = nginx_config(tmp_path, listen=f"{proxy}:{port}", upstream=url.removeprefix("http://"))
            with nginx_running(config, prefix=["ip", "netns", "exec", namespace], listen=(proxy, port)):
                attacker_then_person(proxy, port, other, mine, prepared["password"], forge=mine)  # type: ignore[arg-type]


def test_a_forged_x_forwarded_for_sent_straight_to_uvicorn_changes_nothing(prepared, tmp_path: Path) -> None:
    """No trusted proxy configured: the socket peer is the client, whatever the header says."""
    with uvicorn_running(prepared["env"], log=tmp_path / "uvicorn.log") as url:  # type: ignore[arg-type]
        port = int(url.rsplit(":", 1)[1])
        # (Other addresses than the nginx test's: the database is shared by this module's tests.)
        attacker_then_person("127.0.0.1", port, "127.0.0.4", "127.0.0.5", prepared["password"], forge="127.0.0.5")  # type: ignore[arg-type]
