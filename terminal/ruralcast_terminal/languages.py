"""Which languages of a multilingual alert a terminal plays (docs/protocols.md §4, "Languages").

Payload version 1 (no `payload_version`) has one language: the top-level `language`, `title`,
`text` and `audio`. Version 2 adds `payload_version: 2` and `texts`, one entry per language
(`{"language", "title", "text", "audio"}`), primary first; the top-level members stay the primary,
so a version-1 terminal plays the primary language and nothing breaks.

The rule (one implementation, used by the agent and the simulator through `router`): for each
language of the terminal's provisioned preference, in order, the alert's text in that language if
it has one; when none of them is in the alert, the primary. Each chosen language is played in turn
within every repetition. Codes compare by their primary subtag, case-insensitively, with ISO 639-1
and the common ISO 639-2/3 codes of one language taken as equal (`zh`, `zh-CN`, `cmn`, `chi` and
`zho` are one language; `ii` and `iii`; `en` and `eng`; …).

Standard library only (this package runs on village devices).
"""

from __future__ import annotations

from typing import Any

from ruralcast_terminal.wire import MALFORMED, Rejected

DEFAULT_LANGUAGES = ("zho",)  # a terminal provisioned without a preference plays Mandarin, else the primary
MAX_TEXTS = 16
TEXTS_VERSION = 2

# Codes that name one language, to the code the platform writes (ISO 639-2/T or -3).
_ALIASES = {
    "zh": "zho", "chi": "zho", "cmn": "zho",
    "ii": "iii",
    "en": "eng",
    "bo": "bod", "tib": "bod",
    "ug": "uig",
    "mn": "mon",
    "za": "zha",
    "kk": "kaz",
    "ko": "kor",
    "ky": "kir",
    "fr": "fra", "fre": "fra",
    "ru": "rus",
    "vi": "vie",
}  # fmt: skip


def language_key(code: str) -> str:
    """The one spelling of a language code that the rule compares (`zh-CN` → `zho`)."""
    primary = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return _ALIASES.get(primary, primary)


def payload_version(payload: dict[str, Any]) -> int:
    """The alert payload's version: 1 without `payload_version`; a non-integer or < 1 is malformed.
    A version above 2 is read as 2 (a later version only adds members)."""
    if "payload_version" not in payload:
        return 1
    version = payload["payload_version"]
    if type(version) is not int or version < 1:
        raise Rejected(MALFORMED, f"payload_version {version!r} is not a positive integer")
    return min(version, TEXTS_VERSION)


def texts_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every language of an alert, primary first, each `{"language", "title", "text", "audio"}`.

    Raises Rejected(malformed) for a version-2 `texts` that is not a non-empty list (at most 16) of
    objects with a string `language` (once each), string `title` and `text`, `audio` an object or
    null, whose first entry is the top-level `language`."""
    if payload_version(payload) < TEXTS_VERSION:
        return [_primary(payload)]
    texts = payload.get("texts")
    if not isinstance(texts, list) or not 0 < len(texts) <= MAX_TEXTS:
        raise Rejected(MALFORMED, f"texts is a list of 1 to {MAX_TEXTS} languages")
    seen: set[str] = set()
    for item in texts:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("language"), str)
            and item["language"].strip()
            and isinstance(item.get("title"), str)
            and isinstance(item.get("text"), str)
            and (item.get("audio") is None or isinstance(item.get("audio"), dict))
        ):
            raise Rejected(MALFORMED, "each of texts has a language, a title, a text and an audio (or null)")
        key = language_key(item["language"])
        if key in seen:
            raise Rejected(MALFORMED, f"texts names {item['language']!r} twice")
        seen.add(key)
    if texts[0]["language"] != payload.get("language"):
        raise Rejected(MALFORMED, "the first of texts is the primary language (the top-level language)")
    return texts


def _primary(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "language": str(payload.get("language", "")),
        "title": str(payload.get("title", "")),
        "text": str(payload.get("text", "")),
        "audio": payload.get("audio"),
    }


def texts_choose(payload: dict[str, Any], preference: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    """The texts to play, in order: the preferred languages the alert has, else the primary.

    Call on a payload `texts_of` accepted (the router checks it with the other rules)."""
    texts = texts_of(payload)
    by_key = {language_key(item["language"]): item for item in texts}
    chosen: list[dict[str, Any]] = []
    for code in preference:
        item = by_key.pop(language_key(code), None)
        if item is not None:
            chosen.append(item)
    return chosen or texts[:1]


def preference_of(value: Any) -> tuple[str, ...]:
    """The provisioning file's `languages` (a list of codes, most preferred first), checked."""
    if value is None:
        return DEFAULT_LANGUAGES
    if not isinstance(value, list) or not all(isinstance(code, str) and code.strip() for code in value):
        raise ValueError(f"languages is a list of language codes, not {value!r}")
    return tuple(code.strip() for code in value) or DEFAULT_LANGUAGES
