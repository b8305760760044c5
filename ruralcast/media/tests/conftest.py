"""Fixtures for media tests: tiny generated media (real ffmpeg: testsrc and sine), a private media
root and upload folder per test, a small ladder, and a helper that uploads through the API in chunks.
"""

import asyncio
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from django.conf import settings as django_settings
from django.test import Client

from ruralcast.accounts.models import User

# A 256×144 source: the 90p and 144p rungs are made, the 720p one is not (no upscaling).
TEST_LADDER = [
    {"name": "90p", "height": 90, "video_kbps": 120},
    {"name": "144p", "height": 144, "video_kbps": 200},
    {"name": "720p", "height": 720, "video_kbps": 2800},
]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=60)


@pytest.fixture(scope="session")
def media_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media-samples")
    samples = {
        "video": folder / "lesson.mp4",
        "audio": folder / "song.mp3",
        "image": folder / "poster.png",
        "text": folder / "notes.mp4",
        "pdf": folder / "leaflet.pdf",
    }
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=256x144:rate=25:duration=10",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        str(samples["video"]),
    )  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=4", "-c:a", "libmp3lame", str(samples["audio"]))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x90", "-frames:v", "1", str(samples["image"]))
    samples["text"].write_text("This is a shopping list, not a video.\nrice\noil\n" * 20)
    samples["pdf"].write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    return samples


@pytest.fixture(autouse=True)
def media_settings(settings: Any, tmp_path: Path) -> dict[str, Any]:
    settings.MEDIA_ROOT = str(tmp_path / "media-root")
    settings.RURALCAST_MEDIA = {
        **settings.RURALCAST_MEDIA,
        "LADDER": TEST_LADDER,
        "X264_PRESET": "ultrafast",
        "SEGMENT_SECONDS": 2,
        "THUMBNAILS": 3,
        "UPLOAD_DIR": tmp_path / "uploads",
        "MAX_CHUNK_BYTES": 64 * 1024,
    }
    return settings.RURALCAST_MEDIA


@pytest.fixture
def operator_client(county_station_operator: User) -> Client:
    client = Client()
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"  # messages asserted in the source language
    client.force_login(county_station_operator)
    return client


@pytest.fixture
def api_upload() -> Callable[..., Any]:
    """api_upload(client, path, **metadata) → the last response; sends the file in 40 KiB chunks."""

    def upload(client: Client, path: Path, chunk: int = 40 * 1024, **metadata: Any) -> Any:
        data = path.read_bytes()
        body = {
            "owner_region": "522632000000",
            "filename": path.name,
            "size": len(data),
            "title": path.stem,
            **metadata,
        }
        started = client.post("/api/v1/media/uploads", body, content_type="application/json")
        assert started.status_code == 201, started.json()
        url = started.json()["upload_url"]
        offset, answer = 0, started
        while offset < len(data):
            piece = data[offset : offset + chunk]
            answer = client.put(
                url,
                piece,
                content_type="application/octet-stream",
                headers={"Content-Range": f"bytes {offset}-{offset + len(piece) - 1}/{len(data)}"},
            )
            if answer.status_code != 200:
                return answer
            offset = answer.json()["offset"]
        return answer

    return upload


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks: Any) -> Callable[[], Iterator[None]]:
    """`with run_jobs():` runs the jobs queued inside it (tasks run at once in the test settings)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@dataclass
class Server:
    url: str
    lock: threading.Lock  # hold it around the test's own queries while the server is busy


@pytest.fixture
def asgi_server(transactional_db: None) -> Iterator[Server]:
    """The real ASGI application under uvicorn in a thread of this process (it shares the test
    database), for clients that speak HTTP themselves: ffmpeg pushing a live.

    Requests are served one at a time, and the test takes the same lock for its own queries: the
    in-memory SQLite test database refuses concurrent connections ("table is locked") where
    PostgreSQL and the SQLite file of a deployment would not."""
    # Imported when a test asks for the server: importing config.asgi builds the ASGI application
    # (and sets a default settings module), which no other test of this folder needs.
    from config.asgi import application

    lock = threading.Lock()

    async def serialised(scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Read the whole request first, as nginx does in front of a deployment: ffmpeg may hang up
        # right after sending a segment, and the body must not be lost while the lock is taken.
        messages: list[dict[str, Any]] = []
        while scope["type"] == "http":
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.Event().wait()  # no disconnect: let the view finish its work
            return {"type": "http.disconnect"}

        await asyncio.get_running_loop().run_in_executor(None, lock.acquire)
        try:
            await application(scope, replay, send)
        finally:
            lock.release()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(serialised, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Server(url=f"http://127.0.0.1:{port}", lock=lock)
    server.should_exit = True
    thread.join(timeout=10)
