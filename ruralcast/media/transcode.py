"""The ffmpeg commands of the pipeline, and running them with progress.

`ladder_command` is one ffmpeg run that decodes the source once and encodes every rung of the ladder
(H.264/AAC, never above the source height) plus an audio-only rendition, packaged as HLS with a
master playlist. `audio_command` normalises loudness (EBU R128, -16 LUFS) and writes MP3, AAC and an
HLS audio playlist. `run_with_progress` reads ffmpeg's `-progress pipe:1` output and reports the
percent done (out_time_us / duration). The source is an upload: every command reads it through
`core.media_tools.untrusted_input_args` (demuxer and protocol whitelists).

The benchmark (bench/media.py) runs the same commands without the platform around them.
"""

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from ruralcast.core.media_tools import tool_path, untrusted_input_args


class FfmpegFailed(Exception):
    """ffmpeg exited with an error; `detail` is the last lines it wrote."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Rung:
    name: str
    height: int
    video_kbps: int


def media_settings() -> dict[str, Any]:
    return dict(settings.RURALCAST_MEDIA)


def ladder_for(source_height: int, ladder: list[dict[str, Any]] | None = None) -> list[Rung]:
    """The rungs not taller than the source; a source smaller than every rung gets one rung at its
    own height (even, as H.264 4:2:0 needs)."""
    rungs = [
        Rung(str(r["name"]), int(r["height"]), int(r["video_kbps"])) for r in (ladder or media_settings()["LADDER"])
    ]
    rungs.sort(key=lambda rung: rung.height)
    kept = [rung for rung in rungs if rung.height <= source_height]
    if not kept:
        height = max(source_height - source_height % 2, 2)
        kept = [Rung(f"{height}p", height, rungs[0].video_kbps if rungs else 400)]
    return kept


def ladder_command(
    *,
    source: Path,
    out: Path,
    rungs: list[Rung],
    has_audio: bool,
    fps_hint: float = 25.0,
    thumbnails: tuple[float, int] | None = None,
) -> list[str]:
    """One decode, every rung; with thumbnails=(duration, count) the same pass also writes
    thumbs/01.jpg… (one every duration/count seconds, 90 px high)."""
    config = media_settings()
    segment = int(config["SEGMENT_SECONDS"])
    audio_kbps = int(config["AUDIO_KBPS"])
    count = len(rungs)
    branches = count + (1 if thumbnails else 0)
    splits = "".join(f"[v{i}]" for i in range(branches))
    graph = [f"[0:v]split={branches}{splits}"]
    for i, rung in enumerate(rungs):
        graph.append(f"[v{i}]scale=-2:{rung.height},format=yuv420p[o{i}]")
    if thumbnails:
        every = max(thumbnails[0] / max(thumbnails[1], 1), 0.04)
        graph.append(f"[v{count}]fps=1/{every:.3f},scale=-2:90[thumbs]")
    command = [
        tool_path("ffmpeg"), "-v", "error", "-nostdin", "-y", *untrusted_input_args(), "-i", str(source),
        "-filter_complex", ";".join(graph),
    ]  # fmt: skip
    if thumbnails:
        (out / "thumbs").mkdir(parents=True, exist_ok=True)
        command += ["-map", "[thumbs]", "-frames:v", str(thumbnails[1]), "-q:v", "5", str(out / "thumbs" / "%02d.jpg")]
    stream_map = []
    for i, rung in enumerate(rungs):
        command += ["-map", f"[o{i}]"]
        if has_audio:
            command += ["-map", "0:a:0"]
            stream_map.append(f"v:{i},a:{i},name:{rung.name}")
        else:
            stream_map.append(f"v:{i},name:{rung.name}")
        command += [f"-b:v:{i}", f"{rung.video_kbps}k", f"-maxrate:v:{i}", f"{int(rung.video_kbps * 1.1)}k"]
        command += [f"-bufsize:v:{i}", f"{rung.video_kbps * 2}k"]
    if has_audio:
        command += ["-map", "0:a:0"]
        stream_map.append(f"a:{count},name:audio")
        command += ["-c:a", "aac", "-b:a", f"{audio_kbps}k", "-ac", "2", "-ar", "48000"]
    keyint = max(round(fps_hint * segment), 1)
    command += [
        "-c:v",
        "libx264",
        "-preset",
        str(config["X264_PRESET"]),
        "-profile:v",
        "main",
        "-sc_threshold",
        "0",
        "-g",
        str(keyint),
        "-keyint_min",
        str(keyint),
        "-force_key_frames",
        f"expr:gte(t,n_forced*{segment})",
        "-f",
        "hls",
        "-hls_time",
        str(segment),
        "-hls_playlist_type",
        "vod",
        "-hls_segment_filename",
        str(out / "%v" / "seg_%04d.ts"),
        "-master_pl_name",
        "master.m3u8",
        "-var_stream_map",
        " ".join(stream_map),
        str(out / "%v" / "index.m3u8"),
    ]
    return command


def audio_command(*, source: Path, out: Path) -> list[str]:
    """Loudness-normalised MP3 and AAC files and an HLS audio rendition (for the player)."""
    config = media_settings()
    segment = int(config["SEGMENT_SECONDS"])
    (out / "audio").mkdir(parents=True, exist_ok=True)
    return [
        tool_path("ffmpeg"), "-v", "error", "-nostdin", "-y", *untrusted_input_args(), "-i", str(source),
        "-filter_complex", "[0:a:0]loudnorm=I=-16:TP=-1.5:LRA=11,aresample=48000,asplit=3[a0][a1][a2]",
        "-map", "[a0]", "-c:a", "libmp3lame", "-b:a", "128k", str(out / "audio.mp3"),
        "-map", "[a1]", "-c:a", "aac", "-b:a", f"{config['AUDIO_KBPS']}k", "-movflags", "+faststart", str(out / "audio.m4a"),
        "-map", "[a2]", "-c:a", "aac", "-b:a", f"{config['AUDIO_KBPS']}k",
        "-f", "hls", "-hls_time", str(segment), "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(out / "audio" / "seg_%04d.ts"), str(out / "audio" / "index.m3u8"),
    ]  # fmt: skip


def poster_command(*, source: Path, out: Path, at: float) -> list[str]:
    return [
        tool_path("ffmpeg"), "-v", "error", "-nostdin", "-y", *untrusted_input_args(), "-ss", f"{at:.3f}",
        "-i", str(source),
        "-frames:v", "1", "-vf", "scale=-2:'min(720,ih)'", "-q:v", "3", str(out / "poster.jpg"),
    ]  # fmt: skip


def run_with_progress(
    command: list[str], *, duration: float, report: Callable[[float], None] | None = None, every: float = 0.5
) -> None:
    """Run ffmpeg, calling report(percent) at most every `every` seconds from its progress output."""
    full = [*command[:1], "-progress", "pipe:1", "-nostats", *command[1:]]
    process = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last = 0.0
    assert process.stdout is not None and process.stderr is not None
    for line in process.stdout:
        key, _, value = line.strip().partition("=")
        if key == "out_time_us" and report and duration > 0 and value.lstrip("-").isdigit():
            now = time.monotonic()
            if now - last >= every:
                last = now
                report(max(0.0, min(100.0, int(value) / 1e6 / duration * 100)))
    errors = process.stderr.read()
    if process.wait() != 0:
        raise FfmpegFailed("\n".join(errors.strip().splitlines()[-5:]))


def run(command: list[str], *, timeout: float = 600) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise FfmpegFailed("\n".join(result.stderr.strip().splitlines()[-5:]))
