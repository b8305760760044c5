"""Read aloud: a tile title spoken by espeak-ng through the speech app's portal page
(/portal/speech/<language>/<sha256>.mp3?text=…), cached and keyed by the text's hash and language."""

import hashlib
from urllib.parse import quote

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _speech_url(text: str, language: str = "zh-hans") -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return reverse("portal-speech:speech", args=[language, digest]) + "?text=" + quote(text)


def test_a_title_is_read_aloud_as_mp3_made_once_and_cached(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    first = client.get(_speech_url("本周六社区义诊"))
    assert first.status_code == 200
    assert first["Content-Type"] == "audio/mpeg"
    assert "immutable" in first["Cache-Control"]
    audio = b"".join(first.streaming_content)
    assert len(audio) > 1000 and audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0  # an MPEG frame sync, no ID3 tag
    stored = list((tmp_path / "speech").glob("*.mp3"))
    assert len(stored) == 1
    modified = stored[0].stat().st_mtime_ns
    again = client.get(_speech_url("本周六社区义诊"))
    assert b"".join(again.streaming_content) == audio
    assert stored[0].stat().st_mtime_ns == modified  # served from the cache, not made again


def test_an_english_title_is_read_by_the_english_voice_and_cached_apart_from_mandarin(client, settings, tmp_path):
    """Real espeak-ng both times: the English voice for an English page's title, the Mandarin path
    for a Chinese one; each audio made once and then served from the cache."""
    settings.MEDIA_ROOT = tmp_path
    english = client.get(_speech_url("Village clinic on Saturday", language="en"))
    assert english.status_code == 200 and english["Content-Type"] == "audio/mpeg"
    audio = b"".join(english.streaming_content)
    assert len(audio) > 1000 and audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0
    mandarin = client.get(_speech_url("本周六社区义诊"))
    assert mandarin.status_code == 200 and b"".join(mandarin.streaming_content) != audio
    metas = {meta.read_text(encoding="utf-8") for meta in (tmp_path / "speech").glob("*.json")}
    assert len(metas) == 2
    assert any('"language": "en"' in meta and "Village clinic on Saturday" in meta for meta in metas)
    stored = sorted((tmp_path / "speech").glob("*.mp3"), key=lambda path: path.stat().st_mtime_ns)
    modified = [path.stat().st_mtime_ns for path in stored]
    again = client.get(_speech_url("Village clinic on Saturday", language="en"))
    assert b"".join(again.streaming_content) == audio
    assert [path.stat().st_mtime_ns for path in stored] == modified  # from the cache, no engine run
    assert len(list((tmp_path / "speech").glob("*.mp3"))) == 2


def test_an_english_title_with_nothing_english_to_say_is_refused(client):
    answer = client.get(_speech_url("——", language="en"))
    assert answer.status_code == 400
    assert client.get(_speech_url("Notice", language="fr")).status_code == 400


def test_the_speech_address_refuses_a_text_that_does_not_match_its_key(client):
    digest = hashlib.sha256("甲".encode()).hexdigest()
    answer = client.get(reverse("portal-speech:speech", args=["zh-hans", digest]) + "?text=" + quote("乙"))
    assert answer.status_code == 400
    assert "does not match" in answer.content.decode() or "不一致" in answer.content.decode()
    too_long = "长" * 200
    assert client.get(_speech_url(too_long)).status_code == 400
    assert client.get(_speech_url("你好", language="xx")).status_code == 400


def test_without_crypto_subtle_the_platform_redirects_to_the_keyed_address(client):
    answer = client.get(reverse("portal-speech:speech_redirect", args=["zh-hans"]) + "?text=" + quote("通知"))
    assert answer.status_code == 302
    assert answer["Location"] == _speech_url("通知")
