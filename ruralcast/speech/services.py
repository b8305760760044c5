"""Text → loudspeaker MP3, cached by content: `speech_synthesize` is the one door.

The cache key is the SHA-256 of everything that decides how the audio sounds: the engine's name and
version (voice, model, rate), the language, the normalised text and the encoding settings. The MP3
is stored as `speech/<key>.mp3` in Django's default storage (a folder under MEDIA_ROOT today, an S3
bucket tomorrow) with a `speech/<key>.json` beside it holding its checksum, size and duration. The
JSON is written after the MP3 and is the sign that the entry is complete: an MP3 without it (a crash
mid-write) is synthesised again. Synthesis and encoding are deterministic, so two workers racing on
the same text write identical bytes and either copy is right.

Nothing is written to the database and nothing is audited here: the audio is a pure function of the
text. The alert or schedule that uses it records the text and the `sha256` returned.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from ruralcast.core.errors import ValidationError
from ruralcast.speech.encoding import MP3_FOR_LOUDSPEAKERS, EncodingSettings, mp3_encode
from ruralcast.speech.engines import SpeechEngine, speech_engine
from ruralcast.speech.normalize import PAUSE_MARKS, normalize_en, normalize_zh

# Longest text accepted, in characters: about eight minutes of speech, more than any alert needs.
MAX_TEXT_LENGTH = 2000
STORAGE_FOLDER = "speech"
MP3_MIME = "audio/mpeg"
# Bump when the pipeline around the engine changes in a way the other key parts do not show.
_PIPELINE_VERSION = 1

# Language codes accepted (lower case) → the one the normaliser and the engines use.
_LANGUAGES = {
    "zh-hans": "zh-hans",
    "zh-cn": "zh-hans",
    "zh": "zh-hans",
    "cmn": "zh-hans",
    # English: the portal's read aloud of an English page's titles (alerts and programmes are Mandarin).
    "en": "en",
    "en-us": "en",
    "en-gb": "en",
}
_NORMALIZERS = {"zh-hans": normalize_zh, "en": normalize_en}
_META_FIELDS = {"sha256", "size", "duration", "bitrate", "sample_rate"}


@dataclass(frozen=True)
class SpeechAudio:
    """One synthesised text as stored: what a dispatcher needs to send it to terminals."""

    name: str  # storage name, e.g. "speech/3f…a1.mp3"
    url: str
    sha256: str  # of the MP3 bytes: terminals check it after download
    size: int  # bytes
    duration: float  # seconds, read by ffprobe
    bitrate: int  # bits per second
    sample_rate: int
    cache_key: str
    text: str  # the normalised text that was read aloud
    cached: bool  # True when served from storage without running the engine
    mime: str = MP3_MIME

    @property
    def seconds(self) -> float:
        """Alias of `duration` (ruralcast.alerts reads `seconds`)."""
        return self.duration


def speech_text_prepare(*, text: str, language: str = "zh-hans") -> tuple[str, str]:
    """(language code, normalised text) of a request, or a ValidationError saying what to fix."""
    code = _LANGUAGES.get((language or "").strip().lower().replace("_", "-"))
    if code is None:
        raise ValidationError(
            _("Speech is available in Simplified Chinese and English only (language “%(language)s” was asked for).")
            % {"language": language},
            fields={"language": [_("Use zh-hans or en.")]},
        )
    stripped = (text or "").strip()
    if not stripped:
        raise ValidationError(_("Enter the text to be read aloud."), fields={"text": [_("This field is required.")]})
    if len(stripped) > MAX_TEXT_LENGTH:
        raise ValidationError(
            _("The text is too long to read aloud: %(length)s characters, at most %(limit)s. Split it into parts.")
            % {"length": len(stripped), "limit": MAX_TEXT_LENGTH},
            fields={"text": [_("At most %(limit)s characters.") % {"limit": MAX_TEXT_LENGTH}]},
        )
    normalized = _NORMALIZERS[code](stripped)
    if code == "en" and not any(char.isalnum() for char in normalized):
        raise ValidationError(
            _("The text has nothing that can be read aloud in English (no letters or numbers)."),
            fields={"text": [_("Nothing to read aloud.")]},
        )
    if not normalized.strip(PAUSE_MARKS):
        raise ValidationError(
            _("The text has nothing that can be read aloud (no Chinese characters or numbers)."),
            fields={"text": [_("Nothing to read aloud.")]},
        )
    return code, normalized


def speech_cache_key(*, engine: SpeechEngine, language: str, text: str, encoding: EncodingSettings) -> str:
    """SHA-256 (hex) of the engine, its version, the language, the normalised text and the encoding."""
    document = {
        "pipeline": _PIPELINE_VERSION,
        "engine": engine.name,
        "engine_version": engine.version,
        "language": language,
        "text": text,
        "encoding": encoding.cache_params(),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def speech_synthesize(
    *,
    text: str,
    language: str = "zh-hans",
    engine: SpeechEngine | None = None,
    encoding: EncodingSettings = MP3_FOR_LOUDSPEAKERS,
) -> SpeechAudio:
    """The loudspeaker MP3 of `text`, from the cache when this exact audio was made before.

    `engine` defaults to the one configured by RURALCAST_SPEECH_ENGINE. Raises ValidationError for
    empty, too long or unspeakable text and an unsupported language; SpeechUnavailable when the
    engine or ffmpeg fails. Safe to call outside a transaction and from several workers at once.
    """
    code, normalized = speech_text_prepare(text=text, language=language)
    engine = engine or speech_engine()
    key = speech_cache_key(engine=engine, language=code, text=normalized, encoding=encoding)
    mp3_name, meta_name = f"{STORAGE_FOLDER}/{key}.mp3", f"{STORAGE_FOLDER}/{key}.json"

    meta = _cached_meta(meta_name)
    if meta is not None and default_storage.exists(mp3_name):
        return _audio(name=mp3_name, key=key, text=normalized, meta=meta, cached=True)

    encoded = mp3_encode(engine.synthesize_wav(normalized, language=code), encoding=encoding)
    meta = {
        "sha256": hashlib.sha256(encoded.data).hexdigest(),
        "size": len(encoded.data),
        "duration": encoded.duration,
        "bitrate": encoded.bitrate,
        "sample_rate": encoded.sample_rate,
        "engine": engine.name,
        "engine_version": engine.version,
        "language": code,
        "text": normalized,
    }
    _store(mp3_name, encoded.data)
    _store(meta_name, json.dumps(meta, ensure_ascii=False, indent=1).encode())
    return _audio(name=mp3_name, key=key, text=normalized, meta=meta, cached=False)


def _cached_meta(name: str) -> dict[str, Any] | None:
    """The metadata of a complete cache entry, or None (missing or unreadable: synthesise again)."""
    if not default_storage.exists(name):
        return None
    try:
        with default_storage.open(name, "rb") as handle:
            meta = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or not meta.keys() >= _META_FIELDS:
        return None
    return meta


def _store(name: str, data: bytes) -> None:
    """Write `name`, replacing a stale copy. Storages never overwrite: they pick another name."""
    default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(data))
    if saved != name:  # another worker wrote the same (identical) content in between
        default_storage.delete(saved)


def _audio(*, name: str, key: str, text: str, meta: dict[str, Any], cached: bool) -> SpeechAudio:
    return SpeechAudio(
        name=name,
        url=default_storage.url(name),
        sha256=str(meta["sha256"]),
        size=int(meta["size"]),
        duration=float(meta["duration"]),
        bitrate=int(meta["bitrate"]),
        sample_rate=int(meta["sample_rate"]),
        cache_key=key,
        text=text,
        cached=cached,
    )
