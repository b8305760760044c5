"""OASIS CAP 1.2 export and import of emergency messages.

Export (`alert_to_cap`) writes one `alert` with one `info` in the message's language; the EBM
fields CAP lacks travel as `parameter`s (`EBM-ID`, `EBM-Severity`, `EBM-Volume`, `EBM-Repeat`,
`EBM-Audio-SHA256`) and the event code as `eventCode` `EBM-EventType`; `code` is `EBM-1.0` to say
so. Areas are our region codes as `geocode` `CN-AreaCode` (12 digits). Import (`cap_import`) checks
the file against the OASIS schema (data/alerts/CAP-v1.2.xsd), maps it back and drafts it. The
full mapping and what is not read is in docs/protocols.md, "CAP 1.2 and EBM XML".
"""

import re
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext as _
from lxml import etree

from ruralcast.accounts.models import User
from ruralcast.alerts import ids
from ruralcast.alerts.events import event_types
from ruralcast.alerts.formats import mapping
from ruralcast.alerts.formats.common import (
    ParsedMessage,
    audio_sha1,
    draft_create,
    draft_require,
    import_error,
    referenced_alert,
    region_for_code,
    to_local,
    xml_parse,
)
from ruralcast.alerts.models import SEVERITY_CAP, Alert, MsgType, Scope, State, Status
from ruralcast.alerts.payload import audio_url, chain_references
from ruralcast.alerts.services import AlertFields
from ruralcast.regions.models import Region

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_CODE = "EBM-1.0"
EVENT_CODE_NAME = "EBM-EventType"
GEOCODE_NAME = "CN-AreaCode"
# geocode valueNames we read (compared without case and spaces): 12-digit codes, or 6-digit GB/T 2260.
_GEOCODE_NAMES = {"cn-areacode", "gb/t2260", "gbt2260"}
_CAP_SEVERITY_LEVEL = {name: level for level, name in SEVERITY_CAP.items()}
_ELEMENTS = {
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
_ENUMERATION = re.compile(
    r"^Element '([^']+)': \[facet 'enumeration'\] The value '(.*)' is not an element of the set \{(.*)\}\.?$"
)


def _q(name: str) -> str:
    return f"{{{CAP_NS}}}{name}"


@lru_cache(maxsize=1)
def cap_schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 schema (data/alerts/CAP-v1.2.xsd); it loads nothing else."""
    path = settings.BASE_DIR / "data" / "alerts" / "CAP-v1.2.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def sender_id(sender_code: str) -> str:
    """CAP `sender`: the issuing platform's 23-digit resource code, as `ebr:<EBRID>`."""
    return f"ebr:{sender_code}"


def cap_time(value: datetime) -> str:
    """CAP 1.2 date-time: local time with its offset, no fractions; UTC is written -00:00."""
    text = to_local(value).isoformat(timespec="seconds")
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def _sent(alert: Alert) -> datetime:
    """When the message was sent; a message not yet approved gives the time it was drafted."""
    return alert.sent_at or alert.created_at


# ---------------------------------------------------------------------------- export


def _add(parent: etree._Element, name: str, text: str | int) -> etree._Element:
    element = etree.SubElement(parent, _q(name))
    element.text = str(text)
    return element


def _pair(parent: etree._Element, name: str, value_name: str, value: str | int) -> None:
    element = etree.SubElement(parent, _q(name))
    _add(element, "valueName", value_name)
    _add(element, "value", value)


def _add_audio(info: etree._Element, alert: Alert) -> None:
    resource = etree.SubElement(info, _q("resource"))
    _add(resource, "resourceDesc", "Audio broadcast (MP3)")
    _add(resource, "mimeType", "audio/mpeg")
    _add(resource, "size", alert.audio_bytes)
    _add(resource, "uri", audio_url(alert))
    digest = audio_sha1(alert)
    if digest:
        _add(resource, "digest", digest)


def alert_to_cap(alert: Alert) -> bytes:
    """The message as a CAP 1.2 document (UTF-8 bytes), valid against the OASIS schema."""
    targets = list(alert.targets.order_by("code"))
    root = etree.Element(_q("alert"), nsmap={None: CAP_NS})
    _add(root, "identifier", alert.cap_id)
    _add(root, "sender", sender_id(alert.sender_code))
    _add(root, "sent", cap_time(_sent(alert)))
    _add(root, "status", alert.status)
    _add(root, "msgType", alert.msg_type)
    _add(root, "scope", alert.scope)
    if alert.scope == Scope.RESTRICTED:
        _add(root, "restriction", "Emergency-broadcast platforms of the target regions")
    elif alert.scope == Scope.PRIVATE:
        _add(root, "addresses", " ".join(ids.platform_code(region) for region in targets))
    _add(root, "code", CAP_CODE)
    if alert.state in (State.DRAFT, State.SUBMITTED):
        _add(root, "note", f"Not approved for broadcast (state: {alert.state})")
    if alert.references_id:
        # Every earlier message of the chain, as the signed payload names them (CAP 1.2: a
        # space-separated list of sender,identifier,sent).
        earlier = {a.ebm_id: a for a in Alert.objects.filter(ebm_id__in=chain_references(alert))}
        referenced = [earlier[ebm_id] for ebm_id in chain_references(alert) if ebm_id in earlier]
        _add(
            root,
            "references",
            " ".join(f"{sender_id(a.sender_code)},{a.cap_id},{cap_time(_sent(a))}" for a in referenced),
        )

    info = etree.SubElement(root, _q("info"))
    _add(info, "language", mapping.cap_language(alert.language))
    _add(info, "category", mapping.cap_category(alert.event_code))
    _add(info, "event", mapping.event_name(alert.event_code, alert.language))
    _add(info, "urgency", alert.urgency)
    _add(info, "severity", SEVERITY_CAP[alert.severity])
    _add(info, "certainty", alert.certainty)
    _pair(info, "eventCode", EVENT_CODE_NAME, alert.event_code)
    _add(info, "effective", cap_time(alert.onset))
    _add(info, "onset", cap_time(alert.onset))
    _add(info, "expires", cap_time(alert.expires))
    _add(info, "senderName", alert.sender_name)
    _add(info, "headline", alert.title)
    _add(info, "description", alert.text)
    _pair(info, "parameter", "EBM-ID", alert.ebm_id)
    _pair(info, "parameter", "EBM-Severity", alert.severity)
    _pair(info, "parameter", "EBM-Volume", alert.volume)
    _pair(info, "parameter", "EBM-Repeat", alert.repeat)
    if alert.audio_sha256:
        _pair(info, "parameter", "EBM-Audio-SHA256", alert.audio_sha256)
        _add_audio(info, alert)
    for region in targets:
        area = etree.SubElement(info, _q("area"))
        _add(area, "areaDesc", region.name)
        _pair(area, "geocode", GEOCODE_NAME, region.code)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---------------------------------------------------------------------------- import


def _schema_problem(message: str) -> str:
    message = message.replace(f"{{{CAP_NS}}}", "")
    match = _ENUMERATION.match(message)
    if match:
        allowed = ", ".join(value.strip().strip("'") for value in match.group(3).split(","))
        return _("element '%(element)s': '%(value)s' is not one of %(allowed)s") % {
            "element": match.group(1),
            "value": match.group(2),
            "allowed": allowed,
        }
    return re.sub(r"^Element '", "element '", message).rstrip(".")


def _validate(root: etree._Element) -> None:
    if root.tag != _q("alert"):
        qname = etree.QName(root)
        raise import_error(
            _("the root element is “%(tag)s” in namespace “%(ns)s”; a CAP 1.2 file has “alert” in “%(cap)s”.")
            % {"tag": qname.localname, "ns": qname.namespace or "", "cap": CAP_NS},
            line=root.sourceline,
        )
    schema = cap_schema()
    if schema.validate(root):
        return
    errors = list(schema.error_log)
    first = errors[0]
    problem = _schema_problem(first.message)
    if len(errors) > 1:
        problem = _("%(problem)s (and %(count)s more schema errors)") % {"problem": problem, "count": len(errors) - 1}
    raise import_error(_("not valid CAP 1.2: %(problem)s") % {"problem": problem}, line=first.line)


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


def _event_key(info: etree._Element) -> str:
    codes = [value for name, value, _line in _pairs(info, "eventCode") if name.lower() == EVENT_CODE_NAME.lower()]
    return codes[0] if codes else _text(info, "event")


def _choose_info(root: etree._Element) -> etree._Element:
    """The one info block we draft: all must describe one event; the Chinese one is preferred."""
    infos = root.findall(_q("info"))
    if not infos:
        raise import_error(
            _("the alert has no “info” block, so there is no message to broadcast."), line=root.sourceline
        )
    events = list(dict.fromkeys(_event_key(info) for info in infos))
    if len(events) > 1:
        raise import_error(
            _("the info blocks describe different events (%(events)s); we draft one event per message: split the file.")
            % {"events": ", ".join(events)},
            line=infos[1].sourceline,
        )
    for info in infos:
        if _language(info, []) == "zho":
            return info
    return infos[0]


def _language(info: etree._Element, notes: list[str]) -> str | None:
    """Our code for the block's language. CAP's default is en-US, but a block without `language`
    whose text is Chinese is read as Chinese (a common omission of Chinese producers)."""
    tag = _text(info, "language")
    if not tag and _CJK.search(_text(info, "headline") + _text(info, "description")):
        notes.append("no language given; the text is Chinese, read as zh-CN")
        return "zho"
    return mapping.language_from_cap(tag or "en-US")


def _event_code(info: etree._Element, notes: list[str]) -> str:
    pairs = _pairs(info, "eventCode")
    for name, value, line in pairs:
        if name.lower() == EVENT_CODE_NAME.lower():
            if value not in event_types():
                raise import_error(
                    _("eventCode %(name)s “%(value)s” is not in our event table (data/alerts/event-types.csv).")
                    % {"name": EVENT_CODE_NAME, "value": value},
                    line=line,
                )
            return value
    category = _text(info, "category")
    code = mapping.CATEGORY_FALLBACK.get(category)
    if code is None:
        raise import_error(
            _("no eventCode %(name)s and no category we can map; add the 5-character event code.")
            % {"name": EVENT_CODE_NAME},
            line=info.sourceline,
        )
    notes.append(f"event code {code} taken from category {category} (no eventCode {EVENT_CODE_NAME})")
    return code


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


def _targets(info: etree._Element) -> list[Region]:
    areas = info.findall(_q("area"))
    if not areas:
        raise import_error(
            _("the info block has no “area”: give each target as a geocode %(name)s with its 12-digit region code.")
            % {"name": GEOCODE_NAME},
            line=info.sourceline,
        )
    regions: dict[str, Region] = {}
    for area in areas:
        description = _text(area, "areaDesc")
        found = False
        for name, value, line in _pairs(area, "geocode"):
            key = name.lower().replace(" ", "")
            if key not in _GEOCODE_NAMES:
                continue
            code = value + "000000" if key != "cn-areacode" and re.fullmatch(r"\d{6}", value) else value
            region = region_for_code(code, what=f"geocode {name}", line=line)
            regions[region.code] = region
            found = True
        if found:
            continue
        shapes = area.find(_q("polygon")) is not None or area.find(_q("circle")) is not None
        if shapes:
            problem = _(
                "area “%(area)s” is given only as a polygon or circle; we target by region: add a geocode %(name)s with the 12-digit region code."
            )
        else:
            problem = _(
                "area “%(area)s” has no geocode we can read; use %(name)s (12-digit region code) or GB/T2260 (6 digits)."
            )
        raise import_error(problem % {"area": description, "name": GEOCODE_NAME}, line=area.sourceline)
    return list(regions.values())


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
    for item in text.split():
        parts = item.split(",")
        if len(parts) != 3 or not parts[1]:
            raise import_error(_("references: “%(item)s” is not “sender,identifier,sent”.") % {"item": item}, line=line)
        resolved.append(referenced_alert(actor=actor, line=line, what=_("references identifier"), cap_id=parts[1]))
    return resolved[0].original


def _parse(root: etree._Element, actor: User) -> ParsedMessage:
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
    info = _choose_info(root)
    language = _language(info, notes)
    if language is None:
        raise import_error(
            _("language “%(tag)s” is not supported.") % {"tag": _text(info, "language")}, line=info.sourceline
        )
    params = {name: (value, line) for name, value, line in _pairs(info, "parameter")}
    onset = _time(info, "onset") or _time(info, "effective") or _time(root, "sent")
    expires = _time(info, "expires")
    if onset is None:
        raise import_error(_("the alert has no “sent” time."), line=root.sourceline)
    if expires is None:
        raise import_error(
            _("the info block has no “expires”; every broadcast needs an end time."), line=info.sourceline
        )
    headline, description, instruction = _text(info, "headline"), _text(info, "description"), _text(info, "instruction")
    if not description:
        raise import_error(
            _("the info block has no “description”: the text to be broadcast is missing."), line=info.sourceline
        )
    fields = AlertFields(
        status=status,
        event_code=_event_code(info, notes),
        severity=_severity(info, params),
        title=headline or _text(info, "event"),
        text=f"{description}\n{instruction}" if instruction else description,
        onset=onset,
        expires=expires,
        targets=_targets(info),
        urgency=_text(info, "urgency"),
        certainty=_text(info, "certainty"),
        scope=_text(root, "scope"),
        language=language,
    )
    volume, repeat = _int_parameter(params, "EBM-Volume", 0, 100), _int_parameter(params, "EBM-Repeat", 1, 10)
    if volume is not None:
        fields.volume = volume
    if repeat is not None:
        fields.repeat = repeat
    return ParsedMessage(
        fields=fields,
        msg_type=msg_type,
        references=_references(root, msg_type, actor, notes),
        source={"identifier": _text(root, "identifier"), "sender": _text(root, "sender"), "sent": _text(root, "sent")},
        elements=_ELEMENTS,
        notes=notes,
    )


def cap_import(*, actor: User, xml_bytes: bytes, issuer_region: Region) -> Alert:
    """Draft the message of a CAP 1.2 file as issued by the platform of `issuer_region`.

    A malformed, unsafe or schema-invalid file, or valid CAP we cannot broadcast faithfully, raises
    ValidationError naming the line and element. The draft still needs submission and approval.
    """
    draft_require(actor=actor, issuer_region=issuer_region)
    root = xml_parse(xml_bytes)
    _validate(root)
    parsed = _parse(root, actor)
    return draft_create(actor=actor, issuer_region=issuer_region, parsed=parsed, fmt="cap")
