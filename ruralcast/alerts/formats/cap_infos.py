"""Several CAP `info` blocks in one message: one event in several languages (CAP 1.2 §3.2.2).

A sender writes one `info` per language. We draft them as one alert: the block in the deployment's
language (else the first) is the primary, every other block a translation (`alerts.translations`).
Blocks that describe *different* events are refused, with what differs: they must be two messages.
"The same event" means the same language-independent content: `category`, `urgency`, `severity`,
`certainty`, `eventCode`s, `effective`/`onset`/`expires`, and the areas' geocodes, polygons and
circles (`areaDesc` and `event` are words in each block's language, so they may differ). Two
blocks in one language are always refused (which one would be broadcast?).
"""

from typing import Any

from django.utils.translation import gettext as _
from lxml import etree

from ruralcast.alerts.formats.common import import_error
from ruralcast.alerts.translations import TranslationFields

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"


def _q(name: str) -> str:
    return f"{{{CAP_NS}}}{name}"


def _text(parent: etree._Element, name: str) -> str:
    element = parent.find(_q(name))
    return (element.text or "").strip() if element is not None else ""


def _pairs(parent: etree._Element, name: str) -> list[tuple[str, str]]:
    return sorted((_text(element, "valueName"), _text(element, "value")) for element in parent.findall(_q(name)))


def event_signature(info: etree._Element) -> dict[str, Any]:
    """What must be equal in every language's block of one event (module docstring)."""
    areas = []
    for area in info.findall(_q("area")):
        areas.append(
            (
                tuple(_pairs(area, "geocode")),
                tuple(sorted((p.text or "").strip() for p in area.findall(_q("polygon")))),
                tuple(sorted((c.text or "").strip() for c in area.findall(_q("circle")))),
            )
        )
    return {
        "category": sorted((c.text or "").strip() for c in info.findall(_q("category"))),
        "urgency": _text(info, "urgency"),
        "severity": _text(info, "severity"),
        "certainty": _text(info, "certainty"),
        "eventCode": _pairs(info, "eventCode"),
        "effective": _text(info, "effective"),
        "onset": _text(info, "onset"),
        "expires": _text(info, "expires"),
        "area": sorted(areas),
    }


def same_event_require(primary: etree._Element, others: list[etree._Element]) -> None:
    """Refuse (ValidationError naming the line) a block that describes another event than the primary."""
    wanted = event_signature(primary)
    for other in others:
        differs = [name for name, value in event_signature(other).items() if value != wanted[name]]
        if differs:
            raise import_error(
                _(
                    "the info blocks in %(first)s and %(other)s describe different events (their %(fields)s differ); "
                    "one message carries one event in several languages: split the file into one message per event."
                )
                % {
                    "first": _text(primary, "language") or "en-US",
                    "other": _text(other, "language") or "en-US",
                    "fields": ", ".join(differs),
                },
                line=other.sourceline,
            )


def translation_of(info: etree._Element, language: str) -> TranslationFields:
    """A further language's block as a translation: headline (or event) and description + instruction."""
    description, instruction = _text(info, "description"), _text(info, "instruction")
    return TranslationFields(
        language=language,
        title=(_text(info, "headline") or _text(info, "event"))[:200],
        text=f"{description}\n{instruction}" if instruction else description,
    )
