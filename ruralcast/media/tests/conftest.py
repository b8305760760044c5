"""Fixtures for media tests: tiny generated media (real ffmpeg: testsrc and sine), a private media
root and upload folder per test, a small ladder, and a helper that uploads through the API in chunks.
"""

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
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
