"""Reading a schema-valid CAP 1.2 `alert` into a draft, as alerting authorities write them.

What senders do that we accept (docs/protocols.md, "CAP 1.2 and EBM XML", has the full mapping):
- several `info` blocks, one per language (CAP 1.2 §3.2.2): one alert with translations, the
  block in the deployment's language (Chinese) primary, else the first (`cap_infos`). Blocks that
  describe different events (category, urgency, severity, certainty, event codes, times, areas)
  are refused with what differs, as are two blocks in one language. A block in a language we have
  no code for, or without a description, is kept in the import record (`other_infos`);
- no `expires`: the validity is the level's default (`mapping.DEFAULT_VALIDITY`) from the onset; a
  Cancel or Update without it lasts as long as the message it refers to would have, if longer;
- already expired: kept as a record (history, never dispatchable); a future onset stays a draft
  with its times (onset, effective, expires);
- events in other vocabularies (`classify`); unclassifiable ones are drafted unclassified;
- areas as geocodes of known schemes → regions; polygons, circles and unknown geocode schemes are
  kept, and the operator chooses the target regions (we have no coordinates to map shapes);
- `references` naming earlier messages by sender,identifier,sent, ours or imported ones.
"""

import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from ruralcast.accounts.models import User
from ruralcast.alerts.events import event_types
from ruralcast.alerts.formats import cap_infos, classify, mapping
from ruralcast.alerts.formats.common import ParsedMessage, import_error, referenced_by_triplet, region_for_code
from ruralcast.alerts.models import SEVERITY_CAP, Alert, MsgType, Status
from ruralcast.alerts.services import AlertFields
from ruralcast.regions.models import Region

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
EVENT_CODE_NAME = "EBM-EventType"
GEOCODE_NAME = "CN-AreaCode"
# geocode valueNames we read (compared without case and spaces): 12-digit statistical division
# codes, 6-digit GB/T 2260 county codes, 9-digit GB/T 10114 township codes, and the Chinese names
# of the division code that Chinese producers write.
GEOCODE_SCHEMES = {"cn-areacode", "gb/t2260", "gbt2260", "gb/t10114", "gbt10114", "adcode", "行政区划代码", "区划代码"}
_CAP_SEVERITY_LEVEL = {name: level for level, name in SEVERITY_CAP.items()}
ELEMENTS = {
    "status": "status",
    "event_code": "eventCode",
    "severity": "severity",
    "urgency": "urgency",
    "certainty": "certainty",
    "scope": "scope",
    "title": "headline",
    "text": "description",
    "onset": "onset",
    "expires": "expires",
    "targets": "area",
    "volume": "parameter EBM-Volume",
    "repeat": "parameter EBM-Repeat",
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _q(name: str) -> str:
    return f"{{{CAP_NS}}}{name}"


def _text(parent: etree._Element, name: str) -> str:
    return (parent.findtext(_q(name)) or "").strip()


def _line(parent: etree._Element, name: str) -> int | None:
    element = parent.find(_q(name))
    return element.sourceline if element is not None else parent.sourceline


def _pairs(parent: etree._Element, name: str) -> list[tuple[str, str, int | None]]:
    return [
        ((el.findtext(_q("valueName")) or "").strip(), (el.findtext(_q("value")) or "").strip(), el.sourceline)
        for el in parent.findall(_q(name))
    ]


def _time(parent: etree._Element, name: str) -> datetime | None:
    element = parent.find(_q(name))
    if element is None:
        return None
    try:
        return datetime.fromisoformat((element.text or "").strip())
    except ValueError as error:
        raise import_error(
            _("element '%(element)s': “%(value)s” is not a date and time.") % {"element": name, "value": element.text},
            line=element.sourceline,
        ) from error


def _language(info: etree._Element, notes: list[str]) -> str | None:
    """Our code for the block's language. CAP's default is en-US, but a block without `language`
    whose text is Chinese is read as Chinese (a common omission of Chinese producers)."""
    tag = _text(info, "language")
    if not tag and _CJK.search(_text(info, "headline") + _text(info, "description")):
        notes.append("no language given; the text is Chinese, read as zh-CN")
        return "zho"
    return mapping.language_from_cap(tag or "en-US")


def _deployment_language() -> str:
    return mapping.language_from_cap(settings.LANGUAGE_CODE) or "zho"


def _choose_info(root: etree._Element) -> tuple[etree._Element, list[etree._Element]]:
    """The info block we draft (the deployment's language, else the first) and the others."""
    infos = root.findall(_q("info"))
    if not infos:
        raise import_error(
            _("the alert has no “info” block, so there is no message to broadcast."), line=root.sourceline
        )
    seen: dict[str, etree._Element] = {}
    for info in infos:
        tag = _text(info, "language")
        if not tag:
            tag = "zh-CN" if _CJK.search(_text(info, "headline") + _text(info, "description")) else "en-US"
        key = tag.lower()
        if key in seen:
            raise import_error(
                _(
                    "two info blocks are in the same language (%(language)s): they describe different events, areas or times; we draft one per message: split the file."
                )
                % {"language": tag},
                line=info.sourceline,
            )
        seen[key] = info
    wanted = _deployment_language()
    chosen = next((info for info in infos if _language(info, []) == wanted), infos[0])
    return chosen, [info for info in infos if info is not chosen]


def _other_info(info: etree._Element) -> dict[str, Any]:
    return {
        "language": _text(info, "language") or "en-US",
        "event": _text(info, "event"),
        "headline": _text(info, "headline"),
        "description": _text(info, "description"),
        "instruction": _text(info, "instruction"),
        "areas": [_text(area, "areaDesc") for area in info.findall(_q("area"))],
    }


def _event_code(info: etree._Element, notes: list[str]) -> classify.Classification:
    codes = [(name, value) for name, value, _line in _pairs(info, "eventCode")]
    parameters = [(name, value) for name, value, _line in _pairs(info, "parameter")]
    found = classify.classify(
        event=_text(info, "event"), category=_text(info, "category"), codes=codes, parameters=parameters
    )
    national = [
        p
        for p in _pairs(info, "eventCode") + _pairs(info, "parameter")
        if p[0] and classify.scheme(p[0]) in classify.NATIONAL_SCHEMES
    ]
    if national and found.code not in event_types():
        name, value, line = national[0]
        raise import_error(
            _("eventCode %(name)s “%(value)s” is not in our event table (data/alerts/event-types.csv).")
            % {"name": name, "value": value},
            line=line,
        )
    if found.code:
        notes.append(f"event code {found.code} from {found.source}")
    else:
        notes.append(f"event unclassified ({found.source}); an operator must choose the event code")
    return found


def _int_parameter(params: dict[str, tuple[str, int | None]], name: str, low: int, high: int) -> int | None:
    if name not in params:
        return None
    value, line = params[name]
    if not value.isdigit() or not low <= int(value) <= high:
        raise import_error(
            _("parameter %(name)s: “%(value)s” is not a whole number from %(low)s to %(high)s.")
            % {"name": name, "value": value, "low": low, "high": high},
            line=line,
        )
    return int(value)


def _severity(info: etree._Element, params: dict[str, tuple[str, int | None]]) -> int:
    level = _int_parameter(params, "EBM-Severity", 1, 4)
    cap_value, line = _text(info, "severity"), _line(info, "severity")
    if cap_value not in _CAP_SEVERITY_LEVEL:
        if level is None:
            raise import_error(
                _(
                    "element 'severity': “%(value)s” cannot be broadcast; EBM needs a level: Extreme, Severe, Moderate or Minor."
                )
                % {"value": cap_value},
                line=line,
            )
        return level
    if level is not None and level != _CAP_SEVERITY_LEVEL[cap_value]:
        raise import_error(
            _("parameter EBM-Severity %(level)s contradicts severity “%(value)s”.")
            % {"level": level, "value": cap_value},
            line=line,
        )
    return _CAP_SEVERITY_LEVEL[cap_value]


def _region_code(key: str, value: str) -> str:
    """The 12-digit code of a geocode value: 6 digits (county) and 9 (township) are padded."""
    if key == "cn-areacode":
        return value
    if re.fullmatch(r"\d{6}|\d{9}", value):
        return value.ljust(12, "0")
    return value


def _targets(info: etree._Element) -> tuple[list[Region], list[dict[str, Any]]]:
    """The regions the areas name by geocode, and every area as read (kept in the record)."""
    areas = info.findall(_q("area"))
    if not areas:
        raise import_error(
            _("the info block has no “area”: give each target as a geocode %(name)s with its 12-digit region code.")
            % {"name": GEOCODE_NAME},
            line=info.sourceline,
        )
    regions: dict[str, Region] = {}
    read: list[dict[str, Any]] = []
    for area in areas:
        found: list[str] = []
        for name, value, line in _pairs(area, "geocode"):
            key = classify.scheme(name)
            if key not in GEOCODE_SCHEMES:
                continue
            region = region_for_code(_region_code(key, value), what=f"geocode {name}", line=line)
            regions[region.code] = region
            found.append(region.code)
        read.append(
            {
                "desc": _text(area, "areaDesc"),
                "geocodes": [[name, value] for name, value, _line in _pairs(area, "geocode")],
                "polygons": [(p.text or "").strip() for p in area.findall(_q("polygon"))],
                "circles": [(c.text or "").strip() for c in area.findall(_q("circle"))],
                "regions": found,
            }
        )
    return list(regions.values()), read


def _references(root: etree._Element, msg_type: str, actor: User, notes: list[str]) -> Alert | None:
    element = root.find(_q("references"))
    text = (element.text or "").strip() if element is not None else ""
    if msg_type == MsgType.ALERT:
        if text:
            notes.append("references of an Alert not kept")
        return None
    line = element.sourceline if element is not None else root.sourceline
    if not text:
        raise import_error(
            _("msgType %(type)s needs “references” naming the earlier message (sender,identifier,sent).")
            % {"type": msg_type},
            line=line,
        )
    resolved: list[Alert] = []
    missing: list[str] = []
    for item in text.split():
        parts = item.split(",")
        if len(parts) != 3 or not parts[1]:
            raise import_error(_("references: “%(item)s” is not “sender,identifier,sent”.") % {"item": item}, line=line)
        found = referenced_by_triplet(actor=actor, sender=parts[0], identifier=parts[1])
        if found is None:
            missing.append(parts[1])
        else:
            resolved.append(found)
    if not resolved:
        raise import_error(
            _("%(what)s “%(value)s”: no such message in your regions; import or create the original first.")
            % {"what": _("references identifier"), "value": ", ".join(missing)},
            line=line,
        )
    if missing:
        notes.append(f"references not found here: {', '.join(missing)}")
    # The chain is named by its original; the newest message named is the one updated or cancelled.
    return max(resolved, key=lambda a: a.created_at).original


def _times(
    info: etree._Element, root: etree._Element, severity: int, referenced: Alert | None, notes: list[str]
) -> tuple[datetime, datetime, datetime | None]:
    """Onset, expires and effective. No `expires`: the level's default validity from the onset; for a
    Cancel or Update, at least until the message it refers to would have expired."""
    effective = _time(info, "effective")
    onset = _time(info, "onset") or effective or _time(root, "sent")
    if onset is None:
        raise import_error(_("the alert has no “sent” time."), line=root.sourceline)
    expires = _time(info, "expires")
    if expires is None:
        expires = onset + mapping.DEFAULT_VALIDITY[severity]
        if referenced is not None and referenced.expires > expires:
            expires = referenced.expires
        notes.append(f"no expires; valid until {expires.isoformat()} (default validity of level {severity})")
    return onset, expires, effective


def parse(root: etree._Element, actor: User) -> ParsedMessage:
    """The draft (or record) a schema-valid CAP `alert` gives; ValidationError naming what to fix."""
    notes: list[str] = []
    status, msg_type = _text(root, "status"), _text(root, "msgType")
    if status == Status.DRAFT:
        raise import_error(
            _("status Draft is a template, not a message; we import Actual, Exercise, System or Test."),
            line=_line(root, "status"),
        )
    if msg_type not in MsgType.values:
        raise import_error(
            _("msgType %(type)s is not supported; we import Alert, Update and Cancel.") % {"type": msg_type},
            line=_line(root, "msgType"),
        )
    info, others = _choose_info(root)
    language = _language(info, notes)
    if language is None:
        raise import_error(
            _("language “%(tag)s” is not supported.") % {"tag": _text(info, "language")}, line=info.sourceline
        )
    params = {name: (value, line) for name, value, line in _pairs(info, "parameter")}
    headline, description, instruction = _text(info, "headline"), _text(info, "description"), _text(info, "instruction")
    if not description:
        raise import_error(
            _("the info block has no “description”: the text to be broadcast is missing."), line=info.sourceline
        )
    severity = _severity(info, params)
    references = _references(root, msg_type, actor, notes)
    onset, expires, effective = _times(info, root, severity, references, notes)
    event = _event_code(info, notes)
    targets, areas = _targets(info)
    history = expires <= timezone.now()
    pending = {"event_code"} if not event.code else set()
    if not targets:
        pending.add("targets")
        notes.append("no area maps to a region; an operator must choose the target regions")
    if history:
        notes.append("already expired when imported; kept as a record, not dispatchable")
    cap_infos.same_event_require(info, others)
    translations, kept = [], []
    for other in others:
        other_language = _language(other, [])
        if other_language is None or other_language == language or not _text(other, "description"):
            kept.append(other)
        else:
            translations.append(cap_infos.translation_of(other, other_language))
    if translations:
        notes.append(f"translations: {', '.join(t.language for t in translations)}")
    if kept:
        notes.append(
            f"other info blocks kept in the record: {', '.join(_text(o, 'language') or 'en-US' for o in kept)}"
        )
    fields = AlertFields(
        status=status,
        event_code=event.code,
        severity=severity,
        title=(headline or _text(info, "event"))[:200],
        text=f"{description}\n{instruction}" if instruction else description,
        onset=onset,
        expires=expires,
        targets=targets,
        urgency=_text(info, "urgency"),
        certainty=_text(info, "certainty"),
        scope=_text(root, "scope"),
        language=language,
        translations=translations,
    )
    volume, repeat = _int_parameter(params, "EBM-Volume", 0, 100), _int_parameter(params, "EBM-Repeat", 1, 10)
    if volume is not None:
        fields.volume = volume
    if repeat is not None:
        fields.repeat = repeat
    return ParsedMessage(
        fields=fields,
        msg_type=msg_type,
        references=references,
        source={"identifier": _text(root, "identifier"), "sender": _text(root, "sender"), "sent": _text(root, "sent")},
        elements=ELEMENTS,
        notes=notes,
        pending=frozenset(pending),
        history=history,
        record={
            "effective": effective,
            "event_mapping": event.source[:300],
            "areas": areas,
            "other_infos": [_other_info(other) for other in kept],
            "references": _text(root, "references"),
        },
    )
