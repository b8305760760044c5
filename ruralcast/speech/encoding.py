"""WAV → MP3 for village loudspeakers, with ffmpeg; duration and format read back with ffprobe.

MP3 is auxiliary-data type 2 of the emergency broadcast message (EBM) standard and plays on every
IP loudspeaker we know of; 32 kbit/s mono at 22.05 kHz keeps a one-minute alert under 250 kB, small
enough for a terminal on a weak 4G cell. The filter chain, in order:

- `highpass` at 100 Hz: horn loudspeakers cannot reproduce bass; removing it leaves headroom for
  the voice band.
- `loudnorm` to −16 LUFS, true peak −1.5 dBTP: every alert is equally loud whatever engine made it,
  and the MP3 never clips.
- 0.3 s of silence before and after: terminals switch their amplifier on when audio starts, and
  the first syllable would otherwise be cut.

The file is bare constant-bitrate MPEG frames (no ID3 tag, no Xing frame).

`EncodingSettings.cache_params()` is part of the audio cache key: changing any of these numbers
re-synthesises instead of serving audio made with the old ones.
"""

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from ruralcast.speech.errors import SpeechUnavailable
from ruralcast.speech.tools import tool_path, tool_run

_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class EncodingSettings:
    bitrate_kbps: int = 32
    sample_rate: int = 22050
    highpass_hz: int = 100
    loudness_lufs: float = -16.0
    true_peak_db: float = -1.5
    lead_in_ms: int = 300
    tail_ms: int = 300

    def audio_filter(self) -> str:
        return ",".join(
            [
                f"highpass=f={self.highpass_hz}",
                f"loudnorm=I={self.loudness_lufs}:TP={self.true_peak_db}:LRA=11",
                f"adelay={self.lead_in_ms}:all=1",
                f"apad=pad_dur={self.tail_ms / 1000}",
            ]
        )

    def mp3_output_args(self) -> list[str]:
        """ffmpeg output options of the loudspeaker MP3: mono, this rate and bitrate, bit-exact.

        Bare MPEG frames, no ID3 tag and no Xing frame: the simplest stream for embedded decoders,
        and at CBR exactly the bitrate (the Xing frame adds ~0.2 kbit/s to a short alert). Duration
        stays exact: at constant bitrate it follows from the size. Followed by the output path.
        """
        return [
            "-ac", "1", "-ar", str(self.sample_rate),
            "-c:a", "libmp3lame", "-b:a", f"{self.bitrate_kbps}k",
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
            "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3",
        ]  # fmt: skip

    def cache_params(self) -> dict[str, Any]:
        return {"codec": "libmp3lame", "channels": 1, "frames": "cbr-bare", **asdict(self)}


MP3_FOR_LOUDSPEAKERS = EncodingSettings()


@dataclass(frozen=True)
class EncodedAudio:
    data: bytes
    duration: float  # seconds, as ffprobe reads the MP3
    bitrate: int  # bits per second
    sample_rate: int
    channels: int


def mp3_encode(wav: bytes, *, encoding: EncodingSettings = MP3_FOR_LOUDSPEAKERS) -> EncodedAudio:
    """Encode a WAV file as loudspeaker MP3 (see the module docstring) and probe the result.

    Bit-exact: the same WAV gives the same bytes, so the SHA-256 of an alert's audio is stable.
    """
    ffmpeg = tool_path("ffmpeg")
    with tempfile.TemporaryDirectory(prefix="ruralcast-speech-") as folder:
        target = Path(folder) / "speech.mp3"
        command = [
            ffmpeg,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "wav",
            "-i",
            "pipe:0",
            "-af",
            encoding.audio_filter(),
            *encoding.mp3_output_args(),
            str(target),
        ]
        tool_run(command, stdin=wav, tool="ffmpeg", timeout=_TIMEOUT_SECONDS)
        probe = audio_probe(target)
        return EncodedAudio(data=target.read_bytes(), **probe)


def audio_probe(path: Path) -> dict[str, Any]:
    """Duration (s), bitrate (bit/s), sample rate and channels of an audio file, read by ffprobe."""
    ffprobe = tool_path("ffprobe")
    output = tool_run(
        [
            ffprobe,
            "-v",
            "error",
            "-show_entries",
            "format=duration,bit_rate:stream=sample_rate,channels",
            "-of",
            "json",
            str(path),
        ],
        stdin=b"",
        tool="ffprobe",
    )
    try:
        info = json.loads(output)
        stream, fmt = info["streams"][0], info["format"]
        return {
            "duration": round(float(fmt["duration"]), 3),
            "bitrate": int(fmt["bit_rate"]),
            "sample_rate": int(stream["sample_rate"]),
            "channels": int(stream["channels"]),
        }
    except (ValueError, KeyError, IndexError) as error:
        raise SpeechUnavailable(_("%(tool)s could not read the encoded audio.") % {"tool": "ffprobe"}) from error
