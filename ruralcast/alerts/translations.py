"""An alert in several languages: the author's translations and their audio.

An alert's own `language`, `title`, `text` and audio are its primary language; `AlertTranslation`
rows carry the same message in further languages (CAP 1.2 §3.2.2: one `info` per language). These
helpers are called by the alert services (`alert_create`, `alert_edit`, `alert_submit`) inside
their transactions; nothing else writes translations.

Rules: a language appears once (the primary's included); each translation has a title and a text
within the limits of the primary's; language codes are ISO 639 (`zho`, `iii`, `eng`, or a two-letter
code, optionally with a region or script subtag: `zh-CN`; the check is `core.languages`, shared with
the terminals' language preference). The speech app speaks Chinese only, so a
translation in another language has audio only when one is uploaded (terminals speak or show the
text otherwise).
"""

from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from ruralcast.alerts.audio import StoredAudio, audio_attach, audio_from_text, audio_from_upload
from ruralcast.alerts.models import Alert, AlertTranslation, AudioSource
from ruralcast.core.languages import is_language_code

MAX_TRANSLATIONS = 8
MAX_TEXT = 1500
# The languages the speech app (espeak-ng, Mandarin) speaks: the platform's own codes for Chinese.
SPOKEN_LANGUAGES = frozenset({"zho", "chi", "cmn", "zh", "zh-CN", "zh-Hans", "zh-cn", "zh-hans"})


@dataclass
class TranslationFields:
    """One translation as an author gives it (the console form, the API, a CAP import)."""

    language: str
    title: str
    text: str
    audio_upload: UploadedFile | None = None


def translations_problems(translations: list[TranslationFields], *, primary_language: str) -> dict[str, list[str]]:
    """Why these translations cannot be saved, as form-field errors (empty: they can)."""
    problems: list[str] = []
    found: dict[str, list[str]] = {}
    if not is_language_code(primary_language):
        found["language"] = [_("Give a language code such as iii, zho or eng.")]
    seen = {primary_language}
    if len(translations) > MAX_TRANSLATIONS:
        problems.append(_("At most %(count)d translations.") % {"count": MAX_TRANSLATIONS})
    for number, item in enumerate(translations, start=1):
        language = item.language.strip()
        if not is_language_code(language):
            problems.append(
                _("Translation %(number)d: give a language code such as iii, zho or eng.") % {"number": number}
            )
        elif language in seen:
            problems.append(
                _("Translation %(number)d: the message is already in %(language)s; each language once.")
                % {"number": number, "language": language}
            )
        seen.add(language)
        if not item.title.strip() or len(item.title) > 200:
            problems.append(_("Translation %(number)d: give a title of at most 200 characters.") % {"number": number})
        if not item.text.strip() or len(item.text) > MAX_TEXT:
            problems.append(
                _("Translation %(number)d: write the message (at most 1,500 characters).") % {"number": number}
            )
    if problems:
        found["translations"] = problems
    return found


def translations_set(*, alert: Alert, translations: list[TranslationFields]) -> None:
    """Replace the alert's translations (inside the caller's transaction).

    A translation whose language, title and text are unchanged keeps its audio (spoken or
    uploaded); one given a new upload takes it; any other change drops its audio, which is spoken
    again at submission when the speech app can speak the language.
    """
    previous = {t.language: t for t in alert.translations.all()}
    rows: list[AlertTranslation] = []
    for position, item in enumerate(translations):
        language, title, text = item.language.strip(), item.title.strip(), item.text.strip()
        row = AlertTranslation(alert=alert, position=position, language=language, title=title, text=text)
        old = previous.get(language)
        audio: StoredAudio | None = audio_from_upload(item.audio_upload) if item.audio_upload is not None else None
        if audio is not None:
            row.audio_source = AudioSource.UPLOAD
            audio_attach(row, audio)
        elif old is not None and ((old.title, old.text) == (title, text) or old.audio_source == AudioSource.UPLOAD):
            row.audio_source = old.audio_source
            row.audio_name, row.audio_sha256, row.audio_bytes, row.audio_seconds = (
                old.audio_name,
                old.audio_sha256,
                old.audio_bytes,
                old.audio_seconds,
            )
        rows.append(row)
    AlertTranslation.objects.filter(alert=alert).delete()
    AlertTranslation.objects.bulk_create(rows)
    getattr(alert, "_prefetched_objects_cache", {}).pop("translations", None)  # a listing's prefetch is stale


def translations_speak(*, alert: Alert) -> list[AlertTranslation]:
    """Speak (speech app) each translation in a language it can speak that has no audio yet.

    Called by `alert_submit` before its transaction (speech may take seconds); returns the rows
    given audio, which the caller saves inside it."""
    spoken = []
    for row in alert.translations.all():
        if row.audio_sha256 or row.audio_source != AudioSource.SPEECH or row.language not in SPOKEN_LANGUAGES:
            continue
        audio = audio_from_text(title=row.title, text=row.text, drill=alert.is_drill)
        audio_attach(row, audio)
        spoken.append(row)
    return spoken


def translations_of(alert: Alert) -> list[TranslationFields]:
    """The alert's translations as fields (an Update starts from its original's)."""
    return [TranslationFields(language=t.language, title=t.title, text=t.text) for t in alert.translations.all()]
