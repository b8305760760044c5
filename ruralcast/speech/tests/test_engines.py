"""Speech engines: what espeak-ng is given, what it returns, and how the engine is chosen."""

import io
import re
import wave

import pytest
from django.core.exceptions import ImproperlyConfigured

from ruralcast.core.errors import ValidationError
from ruralcast.speech.engines import EspeakEngine, SpeechEngine, espeak_input, speech_engine
from ruralcast.speech.errors import SpeechUnavailable
from ruralcast.speech.normalize import PAUSE_MARKS, normalize_zh
from ruralcast.speech.tests.engines import CountingEngine

TONED_SYLLABLE = re.compile(r"[a-z]+[1-5]")


def test_every_syllable_given_to_espeak_has_a_tone_number():
    pinyin = espeak_input(normalize_zh("紧急通知：明天14:30有暴雨，请大家注意安全，拨打110！"))
    tokens = pinyin.split()
    assert tokens[:4] == ["jin3", "ji2", "tong1", "zhi1"]
    assert all(TONED_SYLLABLE.fullmatch(t) or t in PAUSE_MARKS for t in tokens), pinyin
    assert "shi2 si4 dian3 san1 shi2 fen1" in pinyin
    assert "yi1 yi1 ling2" in pinyin


def test_pause_marks_reach_espeak_between_the_syllables():
    assert espeak_input("请注意，明天有雨。") == "qing3 zhu4 yi4 ， ming2 tian1 you3 yu3 。"


def test_neutral_tone_is_five_and_u_umlaut_is_v():
    assert espeak_input("孩子") == "hai2 zi5"
    assert espeak_input("绿色") == "lv4 se4"


def test_readings_are_chosen_by_phrase():
    assert espeak_input("重庆") == "chong2 qing4"
    assert espeak_input("重要") == "zhong4 yao4"


def test_third_tone_sandhi_is_applied():
    assert espeak_input("你好") == "ni2 hao3"


def test_anything_but_han_and_pauses_is_not_given_to_espeak():
    assert espeak_input("雨🙂ABC") == "yu3"


def test_espeak_engine_makes_a_mono_wav_whose_header_tells_its_true_length():
    wav = EspeakEngine().synthesize_wav("请注意安全。", language="zh-hans")
    with wave.open(io.BytesIO(wav)) as audio:
        assert audio.getnchannels() == 1
        seconds = audio.getnframes() / audio.getframerate()
        assert audio.getnframes() * audio.getsampwidth() == len(wav) - 44
    assert 0.5 < seconds < 5


def test_espeak_engine_version_names_voice_and_release():
    version = EspeakEngine().version
    assert version.startswith("espeak-ng 1.")
    assert "voice=cmn-latn-pinyin" in version


def test_espeak_engine_refuses_a_language_it_cannot_read():
    with pytest.raises(ValidationError) as caught:
        EspeakEngine().synthesize_wav("bonjour", language="fr")
    assert "language" in caught.value.fields


def test_espeak_engine_reads_english_with_its_english_voice():
    wav = EspeakEngine().synthesize_wav("Village clinic on Saturday", language="en")
    assert wav.startswith(b"RIFF") and len(wav) > 10_000
    assert "en-voice=en" in EspeakEngine().version


def test_a_missing_espeak_is_speech_unavailable_not_a_crash():
    engine = EspeakEngine(executable="/nonexistent/espeak-ng")
    with pytest.raises(SpeechUnavailable) as caught:
        engine.synthesize_wav("请注意。", language="zh-hans")
    assert caught.value.status_code == 503


def test_espeak_is_the_default_engine():
    engine = speech_engine()
    assert isinstance(engine, EspeakEngine)
    assert isinstance(engine, SpeechEngine)
    assert engine.name == "espeak-ng"


def test_the_setting_chooses_another_engine(settings):
    settings.RURALCAST_SPEECH_ENGINE = "ruralcast.speech.tests.engines.CountingEngine"
    assert isinstance(speech_engine(), CountingEngine)


@pytest.mark.parametrize(
    "path", ["ruralcast.speech.tests.engines.NotAnEngine", "ruralcast.speech.tests.engines.Missing", "nowhere.Engine"]
)
def test_a_setting_that_names_no_engine_is_refused(settings, path):
    settings.RURALCAST_SPEECH_ENGINE = path
    with pytest.raises(ImproperlyConfigured):
        speech_engine()
