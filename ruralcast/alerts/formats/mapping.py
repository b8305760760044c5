"""Vocabularies that CAP, EBM and our model spell differently: event categories and languages.

Our decisions, documented in docs/protocols.md ("CAP 1.2 and EBM XML"):
- CAP `category` from our event code: by its subtype where CAP has a matching category, else by
  the national category (1 natural → Met, 2 accident → Safety, 3 health → Health, 4 social
  security → Security, 0 → Other). CAP's Met includes floods, so flood/drought (11A) and marine
  (11E, mostly storm surge and waves) are Met; earthquakes (11C) and geological hazards (11D) Geo.
- Back from CAP, the event code is classified from `eventCode`, `parameter`, `event` and `category`
  in several vocabularies (`formats.classify`); what cannot be classified stays unclassified.
- A CAP message without `expires` is valid for its level's default (`DEFAULT_VALIDITY`) from its
  onset: 6 hours for level 1 (red), 12 for level 2 (orange), 24 for levels 3 and 4. The more
  serious the warning, the sooner someone must confirm it is still in force (an Update extends it).
- Languages: our model stores ISO 639-2/T (`zho`, as EBM's LanguageCode); CAP uses RFC 3066 tags
  (`zh-CN`). Minority languages of rural China are in the table so their messages keep their tag.
"""

from datetime import timedelta

from ruralcast.alerts.events import event_types

DEFAULT_VALIDITY = {1: timedelta(hours=6), 2: timedelta(hours=12), 3: timedelta(hours=24), 4: timedelta(hours=24)}

_SUBTYPE_CATEGORY = {
    "11A": "Met",
    "11B": "Met",
    "11C": "Geo",
    "11D": "Geo",
    "11E": "Met",
    "11F": "Env",
    "11G": "Fire",
    "21A": "Safety",
    "21B": "Transport",
    "21C": "Infra",
    "21D": "Env",
    "21E": "CBRNE",
    "21F": "Infra",
}
_NATIONAL_CATEGORY = {0: "Other", 1: "Met", 2: "Safety", 3: "Health", 4: "Security"}

# ISO 639-2/T (ours, EBM) ↔ the RFC 3066 tag written in CAP.
_CAP_LANGUAGE = {
    "zho": "zh-CN",
    "eng": "en-US",
    "bod": "bo-CN",
    "uig": "ug-CN",
    "mon": "mn-CN",
    "iii": "ii-CN",
    "zha": "za-CN",
    "kor": "ko-CN",
}
_PRIMARY_TO_OURS = {tag.split("-")[0]: ours for ours, tag in _CAP_LANGUAGE.items()}


def cap_category(event_code: str) -> str:
    if event_code[:3] in _SUBTYPE_CATEGORY:
        return _SUBTYPE_CATEGORY[event_code[:3]]
    event = event_types().get(event_code)
    return _NATIONAL_CATEGORY.get(event.category if event else 0, "Other")


def cap_language(language: str) -> str:
    return _CAP_LANGUAGE.get(language, language)


def language_from_cap(tag: str) -> str | None:
    """Our language code for a CAP tag (`zh-CN`, `zh-Hans`, `zh` → `zho`), None if unsupported."""
    return _PRIMARY_TO_OURS.get(tag.strip().split("-")[0].lower())


def event_name(event_code: str, language: str) -> str:
    event = event_types().get(event_code)
    if event is None:
        return event_code
    return event.name_zh if language == "zho" else event.name_en
