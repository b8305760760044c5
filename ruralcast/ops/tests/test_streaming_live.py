"""A 300 MiB recording asked for from byte 0, as uvicorn serves it, measured in the server's memory.

The audit measured `Range: bytes=0-` on a 300 MiB file growing the server by 300 MiB (issue 12,
item 11). Both ways a deployment runs: Django streaming the body itself (uvicorn alone), and nginx in
front sending it after Django's answer names the file. The server runs in a process of its own, so
its peak resident memory (VmHWM) is what is measured.
"""

import http.client
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ruralcast.ops.tests.servers import fetch, peak_rss_bytes, running_nginx, uvicorn_process

pytestmark = pytest.mark.slow

SIZE = 300 * 1024 * 1024
SHA = "ab" * 32
BOUND = 64 * 1024 * 1024  # a few blocks and the interpreter's noise; the file is 300 MiB


def _sparse_audio(media_root: Path) -> None:
    path = media_root / "alerts" / "audio" / f"{SHA}.mp3"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.write(b"ID3")
        handle.truncate(SIZE)


def _download(url: str, path: str) -> tuple[int, int, str]:
    """GET with `Range: bytes=0-`, reading the body in 1 MiB pieces: (status, bytes, Content-Range)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    connection.request("GET", path, headers={"Range": "bytes=0-"})
    answer = connection.getresponse()
    total = 0
    while piece := answer.read(1024 * 1024):
        total += len(piece)
    connection.close()
    return answer.status, total, answer.headers.get("Content-Range", "")


@pytest.mark.parametrize("nginx", [False, True], ids=["django-streams", "nginx-sends"])
def test_a_range_from_byte_zero_of_300_mib_does_not_grow_the_server_by_the_file(tmp_path: Path, nginx: bool) -> None:
    if nginx and shutil.which("nginx") is None:
        pytest.skip("nginx is installed by scripts/bootstrap.sh")
    media_root = tmp_path / "media"
    _sparse_audio(media_root)
    env = {
        "DJANGO_SETTINGS_MODULE": "config.django.test",
        "RURALCAST_RUN_DIR": str(tmp_path / "run"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",  # the public audio route reads no table
        "MEDIA_ROOT": str(media_root),
        "STATIC_ROOT": str(tmp_path / "static"),
        "RURALCAST_ACCEL_REDIRECT_PREFIX": "/_protected/" if nginx else "",
    }
    path = f"/alerts/audio/{SHA}.mp3"
    with uvicorn_process(env) as (web, pid):
        assert fetch(web + "/alerts/audio/" + "0" * 64 + ".mp3")[0] == 404  # warm: apps loaded, one request served
        before = peak_rss_bytes(pid)
        if nginx:
            with running_nginx(
                tmp_path / "nginx",
                upstream=web.removeprefix("http://"),
                media_root=media_root,
                static_root=tmp_path / "static",
            ) as front:
                status, received, content_range = _download(front, path)
        else:
            status, received, content_range = _download(web, path)
        grown = peak_rss_bytes(pid) - before
    assert (status, received, content_range) == (206, SIZE, f"bytes 0-{SIZE - 1}/{SIZE}")
    assert grown < BOUND, f"the server grew by {grown // 2**20} MiB sending a {SIZE // 2**20} MiB file"
