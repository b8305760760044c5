"""speech_synthesize end to end: real espeak-ng and ffmpeg, MP3 in a temporary MEDIA_ROOT."""

import hashlib
import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from ruralcast.core.errors import ValidationError
from ruralcast.speech.engines import EspeakEngine, speech_engine
from ruralcast.speech.errors import SpeechUnavailable
from ruralcast.speech.services import MAX_TEXT_LENGTH, speech_synthesize
from ruralcast.speech.tests.engines import CountingEngine, SlowerCountingEngine

ALERT = "紧急通知：今天14:30起有暴雨，请大家注意安全。"


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def counting_engine(settings, media_root: Path) -> CountingEngine:
    """The configured engine, by the setting, with its counter at zero."""
    settings.RURALCAST_SPEECH_ENGINE = "ruralcast.speech.tests.engines.CountingEngine"
    engine = speech_engine()
    assert isinstance(engine, CountingEngine)
    engine.calls = 0
    return engine


def ffprobe(path: Path) -> dict:
    """What ffprobe itself says about the file (not the app's own probe)."""
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    ).stdout
    return json.loads(output)


def test_a_short_chinese_sentence_becomes_a_small_mono_mp3(media_root):
    audio = speech_synthesize(text=ALERT)

    path = media_root / audio.name
    info = ffprobe(path)
    (stream,) = info["streams"]
    assert stream["codec_name"] == "mp3"
    assert stream["channels"] == 1
    assert int(stream["sample_rate"]) in (16000, 22050)
    assert int(stream["bit_rate"]) <= 32_000
    assert int(info["format"]["bit_rate"]) <= 32_000  # the whole file, headers included
    assert 0.5 < float(info["format"]["duration"]) < 30
    data = path.read_bytes()
    assert audio.sha256 == hashlib.sha256(data).hexdigest()
    assert audio.size == len(data) == os.path.getsize(path)
    assert audio.duration == audio.seconds == pytest.approx(float(info["format"]["duration"]), abs=0.05)
    assert audio.mime == "audio/mpeg"
    assert audio.bitrate <= 32_000
    assert audio.name == f"speech/{audio.cache_key}.mp3"
    assert audio.url.endswith(audio.name)
    assert audio.text == "紧急通知：今天十四点三十分起有暴雨，请大家注意安全。"
    assert not audio.cached


def test_the_same_text_again_is_served_from_the_cache_without_synthesising(counting_engine, media_root):
    first = speech_synthesize(text=ALERT)
    mtime = (media_root / first.name).stat().st_mtime_ns

    second = speech_synthesize(text=ALERT)

    assert counting_engine.calls == 1
    assert second.cached
    assert (second.name, second.sha256, second.size, second.duration) == (
        first.name,
        first.sha256,
        first.size,
        first.duration,
    )
    assert (media_root / second.name).stat().st_mtime_ns == mtime
    assert sorted(p.name for p in (media_root / "speech").iterdir()) == [
        f"{first.cache_key}.json",
        f"{first.cache_key}.mp3",
    ]


def test_texts_that_read_the_same_share_one_entry(counting_engine):
    first = speech_synthesize(text="气温-5℃")
    second = speech_synthesize(text="  气温－５°C ")
    assert second.cached and second.name == first.name
    assert counting_engine.calls == 1


def test_a_different_text_or_voice_is_a_different_entry(counting_engine, media_root):
    first = speech_synthesize(text="请注意安全。")
    other_text = speech_synthesize(text="请注意防火。")
    other_voice = speech_synthesize(text="请注意安全。", engine=SlowerCountingEngine())
    assert len({first.cache_key, other_text.cache_key, other_voice.cache_key}) == 3
    assert not (other_text.cached or other_voice.cached)


def test_an_entry_without_its_metadata_is_synthesised_again_with_identical_bytes(counting_engine, media_root):
    first = speech_synthesize(text="请注意安全。")
    default_storage.delete(f"speech/{first.cache_key}.json")  # as if the process died mid-write

    again = speech_synthesize(text="请注意安全。")

    assert counting_engine.calls == 2
    assert not again.cached
    assert again.name == first.name  # replaced, not stored beside it under another name
    assert again.sha256 == first.sha256  # synthesis and encoding are deterministic
    assert len(list((media_root / "speech").iterdir())) == 2


@pytest.mark.parametrize("text", ["", "   \n\t", "？！…"])
def test_empty_text_is_refused_with_a_message(counting_engine, text):
    with pytest.raises(ValidationError) as caught:
        speech_synthesize(text=text)
    assert "text" in caught.value.fields
    assert counting_engine.calls == 0


def test_too_long_text_is_refused_with_the_limit_in_the_message(counting_engine):
    with pytest.raises(ValidationError) as caught:
        speech_synthesize(text="请" * (MAX_TEXT_LENGTH + 1))
    assert str(MAX_TEXT_LENGTH) in caught.value.message
    assert "text" in caught.value.fields
    assert counting_engine.calls == 0


def test_an_unsupported_language_is_refused(counting_engine):
    with pytest.raises(ValidationError) as caught:
        speech_synthesize(text="Alerte inondation", language="fr")
    assert "language" in caught.value.fields


def test_a_broken_engine_is_speech_unavailable_and_stores_nothing(media_root):
    with pytest.raises(SpeechUnavailable):
        speech_synthesize(text=ALERT, engine=EspeakEngine(executable="/nonexistent/espeak-ng"))
    assert not (media_root / "speech").exists()


def test_speak_command_writes_the_mp3_for_the_operator(media_root, tmp_path):
    target = tmp_path / "out.mp3"
    out = io.StringIO()
    call_command("speak", "请拨打110。", "-o", str(target), stdout=out)
    assert "kbit/s" in out.getvalue()
    assert ffprobe(target)["streams"][0]["codec_name"] == "mp3"


def test_speak_command_shows_how_the_text_will_be_read(media_root):
    out = io.StringIO()
    call_command("speak", "请拨打110。", "--show-text", stdout=out)
    assert out.getvalue().splitlines() == ["请拨打一一零。", "qing3 bo1 da3 yi1 yi1 ling2 。"]
    assert not (media_root / "speech").exists()
