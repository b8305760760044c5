"""Speech engines: normalised Chinese text in, WAV bytes out.

`SpeechEngine` is the whole contract. The default, `EspeakEngine`, runs espeak-ng with the
`cmn-latn-pinyin` voice and feeds it tone-numbered pinyin from pypinyin: espeak-ng's own `cmn`
voice guesses readings of 汉字 from a small dictionary and gets many of them wrong, while pypinyin
chooses readings by phrase (重庆 chóng, 重要 zhòng). The engine is formant-based: robotic but fully
intelligible, a few hundred times faster than real time and without any model file to install.

The engine in use is named by the setting `RURALCAST_SPEECH_ENGINE` (environment variable of the same
name): a dotted path to a class or factory that takes no arguments. See the package docstring
(`ruralcast/speech/__init__.py`) for plugging in a neural voice.
"""

import functools
import re
import struct
from importlib import metadata
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from ruralcast.core.errors import ValidationError
from ruralcast.speech.errors import SpeechUnavailable
from ruralcast.speech.normalize import PAUSE_MARKS
from ruralcast.speech.tools import tool_path, tool_run

DEFAULT_ENGINE = "ruralcast.speech.engines.EspeakEngine"
_TIMEOUT_SECONDS = 60


@runtime_checkable
class SpeechEngine(Protocol):
    """What an engine provides. `name` and `version` go into the audio cache key.

    `version` must change whenever the same text would sound different: the engine's release, the
    voice or model file (include a hash of the model), the speaking rate. Old cache entries are then
    simply never asked for again.
    """

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def synthesize_wav(self, text: str, *, language: str) -> bytes:
        """A complete WAV file (any sample rate, mono or stereo) of `text` read aloud.

        `text` is already normalised (numbers, dates and symbols written out in 汉字, only the pause
        marks ，。！？；：、 as punctuation). Raise `SpeechUnavailable` when the engine cannot run and
        `ValidationError` for a language it does not speak.
        """
        ...


def espeak_input(text: str) -> str:
    """Tone-numbered pinyin for espeak-ng's `cmn-latn-pinyin` voice, pause marks kept.

    "请注意，明天有雨。" → "qing3 zhu4 yi4 ， ming2 tian1 you3 yu3 。". Neutral tones are 5 (espeak reads a
    toneless syllable as tone 1), ü is written v (lv4 绿, which the voice reads as ü), and third-tone
    sandhi is applied (你好 → ni2 hao3). Anything that is neither 汉字 nor a pause mark is dropped: the
    normaliser has already written out what should be said.
    """
    # Imported here, not at module level: pypinyin loads its phrase dictionary (~40 MiB, ~1 s of CPU)
    # on import, and every process that sets Django up imports this module (the speech app's portal
    # registration); only a process that synthesises speech should pay for it.
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(
        text,
        style=Style.TONE3,
        neutral_tone_with_five=True,
        tone_sandhi=True,
        errors=lambda chunk: "".join(char for char in chunk if char in PAUSE_MARKS),
    )
    return " ".join(s for s in syllables if s.strip())


def engine_input(text: str, *, language: str) -> str:
    """What espeak-ng is fed for normalised `text`: pinyin for Mandarin (`espeak_input`), the text
    itself for English."""
    return espeak_input(text) if language == "zh-hans" else text


class EspeakEngine:
    """espeak-ng: Mandarin with the voice `cmn-latn-pinyin`, fed with pinyin from `espeak_input`
    (alerts, programmes, read aloud); English with its `en` voice, fed the text (the portal's read
    aloud of English titles)."""

    name = "espeak-ng"
    voice = "cmn-latn-pinyin"
    english_voice = "en"
    languages = frozenset({"zh-hans", "en"})
    # Words per minute (each pinyin syllable is a word): espeak-ng's default rate. A 57-character
    # alert lasts about 15 s, slower than a newsreader, which suits loudspeakers echoing in a valley.
    speed = 175

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or tool_path("espeak-ng")

    @property
    def version(self) -> str:
        return (
            f"{_espeak_version(self.executable)} voice={self.voice} en-voice={self.english_voice} "
            f"speed={self.speed} pypinyin={metadata.version('pypinyin')}"
        )

    def synthesize_wav(self, text: str, *, language: str) -> bytes:
        if language not in self.languages:
            raise ValidationError(
                _("The speech engine %(engine)s cannot read language “%(language)s”.")
                % {"engine": self.name, "language": language},
                fields={"language": [_("Unsupported language.")]},
            )
        voice = self.voice if language == "zh-hans" else self.english_voice
        command = [self.executable, "-v", voice, "-s", str(self.speed), "--stdout", "--stdin"]
        stdin = engine_input(text, language=language).encode()
        wav = tool_run(command, stdin=stdin, tool="espeak-ng", timeout=_TIMEOUT_SECONDS)
        if not wav.startswith(b"RIFF"):
            raise SpeechUnavailable(_("The speech engine %(tool)s produced no audio.") % {"tool": "espeak-ng"})
        return wav_with_true_sizes(wav)


def wav_with_true_sizes(wav: bytes) -> bytes:
    """The WAV with its RIFF and data chunk sizes set to what it holds.

    espeak-ng writing to a pipe cannot seek back, so its header claims 0x7FFFFFFF bytes; ffmpeg
    reads to the end anyway, but any other reader (Python's `wave`, an engine wrapper) would see a
    13-hour file. Chunks are walked from the first after "WAVE"; a file without a data chunk is
    returned unchanged.
    """
    if len(wav) < 12 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        return wav
    fixed = bytearray(wav)
    offset = 12
    while offset + 8 <= len(fixed):
        chunk_id = bytes(fixed[offset : offset + 4])
        if chunk_id == b"data":
            struct.pack_into("<I", fixed, offset + 4, len(fixed) - offset - 8)
            struct.pack_into("<I", fixed, 4, len(fixed) - 8)
            return bytes(fixed)
        (size,) = struct.unpack_from("<I", fixed, offset + 4)
        offset += 8 + size + (size & 1)
    return wav


@functools.cache
def _espeak_version(executable: str) -> str:
    """The release, e.g. "espeak-ng 1.51", from `espeak-ng --version`; asked once per process."""
    output = tool_run([executable, "--version"], stdin=b"", tool="espeak-ng", timeout=_TIMEOUT_SECONDS).decode(
        errors="replace"
    )
    match = re.search(r"eSpeak NG text-to-speech:\s*(\S+)", output)
    return f"espeak-ng {match.group(1) if match else output.strip()[:40]}"


def speech_engine() -> SpeechEngine:
    """The engine named by settings.RURALCAST_SPEECH_ENGINE (one instance per dotted path)."""
    return _engine_at(getattr(settings, "RURALCAST_SPEECH_ENGINE", DEFAULT_ENGINE))


@functools.cache
def _engine_at(path: str) -> SpeechEngine:
    try:
        factory = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"RURALCAST_SPEECH_ENGINE={path!r} cannot be imported: {error}") from error
    engine = factory()
    if not isinstance(engine, SpeechEngine):
        raise ImproperlyConfigured(
            f"RURALCAST_SPEECH_ENGINE={path!r} is not a speech engine: it needs name, version and synthesize_wav()."
        )
    return engine
