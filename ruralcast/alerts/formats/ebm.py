"""EBM XML: the `<EBD>` packet carrying one emergency broadcast message (应急广播消息).

As public implementations of GD/J 082 / GY/T 385 write it (the shared ebm-format.md §1–2): no
namespace, UTF-8, times as local `YYYY-MM-DD HH:MM:SS`. There is **no official XSD**, so
`ebm_import` checks the structure here and names the missing or invalid element.

Our choices (docs/protocols.md, "CAP 1.2 and EBM XML"):
- EBDID (41 digits) = `10` + sender EBRID (23) + `0000` + the EBM id's date and daily sequence
  (12): one packet id per message, so re-sending the same message repeats its id.
- MsgType: 1 actual broadcast (Alert or Update of an Actual message), 2 cancel, 3 platform drill
  (any status but Actual: Exercise, System, Test). An Update carries `RelatedInfo/EBMID`.
- The audio is one `Auxiliary` (type 2 = MP3) named `<sha256>.mp3`, with its SHA-1 as `Digest`.
"""

import re
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from ruralcast.accounts.models import User
from ruralcast.alerts.events import event_types
from ruralcast.alerts.formats.common import (
    ParsedMessage,
    audio_sha1,
    draft_create,
    draft_require,
    import_error,
    local_name,
    referenced_alert,
    region_for_code,
    to_local,
    xml_parse,
)
from ruralcast.alerts.models import Alert, MsgType, Status
from ruralcast.alerts.services import AlertFields
from ruralcast.regions.models import Region

EBD_VERSION = "1.0"
EBM_VERSION = "1"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
AUXILIARY_MP3 = "2"
MSG_ACTUAL, MSG_CANCEL, MSG_PLATFORM_DRILL = "1", "2", "3"
_DRILLS = {"3", "4", "5"}
LANGUAGES = {"zho", "eng", "bod", "uig", "mon", "iii", "zha", "kor"}
_ELEMENTS = {
    "status": "MsgType",
    "event_code": "EventType",
    "severity": "Severity",
    "title": "MsgTitle",
    "text": "MsgDesc",
    "onset": "StartTime",
    "expires": "EndTime",
    "targets": "AreaCode",
}


def ebm_time(value: datetime) -> str:
    return to_local(value).strftime(TIME_FORMAT)


def ebd_id(alert: Alert) -> str:
    """41 digits: `10` + sender EBRID + `0000` + the EBM id's `YYYYMMDD` and 4-digit sequence."""
    return f"10{alert.sender_code}0000{alert.ebm_id[-12:]}"


def ebm_msg_type(alert: Alert) -> str:
    if alert.msg_type == MsgType.CANCEL:
        return MSG_CANCEL
    return MSG_ACTUAL if alert.status == Status.ACTUAL else MSG_PLATFORM_DRILL


def audio_file_name(alert: Alert) -> str:
    return f"{alert.audio_sha256}.mp3"


# ---------------------------------------------------------------------------- export


def _add(parent: etree._Element, name: str, text: str | int | None = None) -> etree._Element:
    element = etree.SubElement(parent, name)
    if text is not None:
        element.text = str(text)
    return element


def alert_to_ebm(alert: Alert, *, dest: str = "", now: datetime | None = None) -> bytes:
    """The message as an `<EBD>` packet of type EBM (UTF-8 bytes); `dest` is the receiver's EBRID."""
    root = etree.Element("EBD")
    _add(root, "EBDVersion", EBD_VERSION)
    _add(root, "EBDID", ebd_id(alert))
    _add(root, "EBDType", "EBM")
    _add(_add(root, "SRC"), "EBRID", alert.sender_code)
    if dest:
        _add(_add(root, "DEST"), "EBRID", dest)
    _add(root, "EBDTime", ebm_time(now or timezone.now()))
    ebm = _add(root, "EBM")
    _add(ebm, "EBMVersion", EBM_VERSION)
    _add(ebm, "EBMID", alert.ebm_id)
    if alert.references_id and alert.references is not None:
        _add(_add(ebm, "RelatedInfo"), "EBMID", alert.references.ebm_id)
    basic = _add(ebm, "MsgBasicInfo")
    _add(basic, "MsgType", ebm_msg_type(alert))
    _add(basic, "SenderName", alert.sender_name)
    _add(basic, "SenderCode", alert.sender_code)
    _add(basic, "SendTime", ebm_time(alert.sent_at or alert.created_at))
    _add(basic, "EventType", alert.event_code)
    _add(basic, "Severity", alert.severity)
    _add(basic, "StartTime", ebm_time(alert.onset))
    _add(basic, "EndTime", ebm_time(alert.expires))
    content = _add(ebm, "MsgContent")
    _add(content, "LanguageCode", alert.language)
    _add(content, "MsgTitle", alert.title)
    _add(content, "MsgDesc", alert.text)
    _add(content, "AreaCode", ",".join(alert.targets.order_by("code").values_list("code", flat=True)))
    if alert.audio_sha256:
        auxiliary = _add(content, "Auxiliary")
        _add(auxiliary, "AuxiliaryType", AUXILIARY_MP3)
        _add(auxiliary, "AuxiliaryDesc", audio_file_name(alert))
        _add(auxiliary, "Size", alert.audio_bytes)
        digest = audio_sha1(alert)
        if digest:
            _add(auxiliary, "Digest", digest)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---------------------------------------------------------------------------- import


def _children(parent: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in parent if local_name(child) == name]


def _child(parent: etree._Element, name: str, path: str) -> etree._Element:
    found = _children(parent, name)
    if not found:
        raise import_error(
            _("%(path)s: element “%(name)s” is missing.") % {"path": path, "name": name}, line=parent.sourceline
        )
    return found[0]


def _value(
    parent: etree._Element, name: str, path: str, *, pattern: str | None = None, expected: str = ""
) -> tuple[str, int | None]:
    element = _child(parent, name, path)
    value = (element.text or "").strip()
    if not value or (pattern and not re.fullmatch(pattern, value)):
        raise import_error(
            _("%(path)s/%(name)s: “%(value)s” is not %(expected)s.")
            % {"path": path, "name": name, "value": value, "expected": expected or _("a value")},
            line=element.sourceline,
        )
    return value, element.sourceline


def _time(parent: etree._Element, name: str, path: str) -> datetime:
    value, line = _value(
        parent, name, path, pattern=r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", expected=_("a time YYYY-MM-DD HH:MM:SS")
    )
    try:
        naive = datetime.strptime(value, TIME_FORMAT)
    except ValueError as error:
        raise import_error(
            _("%(path)s/%(name)s: “%(value)s” is not a real date and time.")
            % {"path": path, "name": name, "value": value},
            line=line,
        ) from error
    return timezone.make_aware(naive, timezone.get_default_timezone())


def _content(ebm: etree._Element) -> etree._Element:
    """The MsgContent we draft: the Chinese one when the packet carries several."""
    contents = _children(ebm, "MsgContent") or [_child(ebm, "MsgContent", "EBD/EBM")]
    for content in contents:
        if [(c.text or "").strip() for c in _children(content, "LanguageCode")] == ["zho"]:
            return content
    return contents[0]


def _event_code(basic: etree._Element, path: str, notes: list[str]) -> str:
    element = _child(basic, "EventType", path)
    code = (element.text or "").strip()
    if not code:
        notes.append("empty EventType read as 00000 (routine or unspecified)")
        return "00000"
    if code not in event_types():
        raise import_error(
            _("%(path)s/EventType: “%(code)s” is not in our event table (data/alerts/event-types.csv).")
            % {"path": path, "code": code},
            line=element.sourceline,
        )
    return code


def _targets(content: etree._Element, path: str) -> list[Region]:
    value, line = _value(content, "AreaCode", path, expected=_("a comma-separated list of 12-digit region codes"))
    regions: dict[str, Region] = {}
    for code in re.split(r"[,，\s]+", value):
        if not code:
            continue
        if not re.fullmatch(r"\d{12}", code):
            raise import_error(
                _("%(path)s/AreaCode: “%(code)s” is not a 12-digit region code.") % {"path": path, "code": code},
                line=line,
            )
        region = region_for_code(code, what=f"{path}/AreaCode", line=line)
        regions[region.code] = region
    return list(regions.values())


def _kind(ebm: etree._Element, msg_type: str, actor: User, notes: list[str]) -> tuple[str, str, Alert | None]:
    """(status, msg_type, referenced original) from MsgType and RelatedInfo."""
    related = _children(ebm, "RelatedInfo")
    original = None
    if related:
        ebm_id, line = _value(
            related[0], "EBMID", "EBD/EBM/RelatedInfo", pattern=r"\d{35}", expected=_("a 35-digit EBM id")
        )
        original = referenced_alert(actor=actor, line=line, what="EBD/EBM/RelatedInfo/EBMID", ebm_id=ebm_id).original
    if msg_type == MSG_CANCEL:
        if original is None:
            raise import_error(
                _("EBD/EBM: a cancel (MsgType 2) needs “RelatedInfo/EBMID” naming the message it cancels."),
                line=ebm.sourceline,
            )
        return original.status, MsgType.CANCEL, original
    if msg_type in ("4", "5"):
        notes.append(f"MsgType {msg_type} (front-end or terminal drill) imported as Exercise")
    status = Status.ACTUAL if msg_type == MSG_ACTUAL else Status.EXERCISE
    return status, MsgType.UPDATE if original is not None else MsgType.ALERT, original


def _parse(root: etree._Element, actor: User) -> ParsedMessage:
    if local_name(root) != "EBD":
        raise import_error(
            _("the root element is “%(tag)s”; an EBM file is an “EBD” packet.") % {"tag": local_name(root)},
            line=root.sourceline,
        )
    ebd_type, line = _value(root, "EBDType", "EBD")
    if ebd_type != "EBM":
        raise import_error(
            _("EBD/EBDType: “%(type)s” packets are not messages; only EBM packets can be imported.")
            % {"type": ebd_type},
            line=line,
        )
    notes: list[str] = []
    ebm = _child(root, "EBM", "EBD")
    ebm_id, _line = _value(ebm, "EBMID", "EBD/EBM", pattern=r"\d{35}", expected=_("a 35-digit EBM id"))
    basic_path, content_path = "EBD/EBM/MsgBasicInfo", "EBD/EBM/MsgContent"
    basic = _child(ebm, "MsgBasicInfo", "EBD/EBM")
    msg_type, _line = _value(basic, "MsgType", basic_path, pattern="[1-5]", expected=_("one of 1, 2, 3, 4, 5"))
    sender_code, _line = _value(
        basic, "SenderCode", basic_path, pattern=r"\d{23}", expected=_("a 23-digit resource code")
    )
    severity, line = _value(basic, "Severity", basic_path, pattern="[0-4]", expected=_("one of 1, 2, 3, 4"))
    if severity == "0":
        raise import_error(
            _("%(path)s/Severity: 0 (unknown) cannot be broadcast; give a level from 1 to 4.") % {"path": basic_path},
            line=line,
        )
    status, kind, original = _kind(ebm, msg_type, actor, notes)
    send_time = _time(basic, "SendTime", basic_path)
    onset = _time(basic, "StartTime", basic_path) if _children(basic, "StartTime") else send_time
    content = _content(ebm)
    language, line = _value(content, "LanguageCode", content_path)
    if language not in LANGUAGES:
        raise import_error(
            _("%(path)s/LanguageCode: “%(code)s” is not supported; use one of %(codes)s.")
            % {"path": content_path, "code": language, "codes": ", ".join(sorted(LANGUAGES))},
            line=line,
        )
    fields = AlertFields(
        status=status,
        event_code=_event_code(basic, basic_path, notes),
        severity=int(severity),
        title=_value(content, "MsgTitle", content_path, expected=_("a title"))[0],
        text=_value(content, "MsgDesc", content_path, expected=_("a message text"))[0],
        onset=onset,
        expires=_time(basic, "EndTime", basic_path),
        targets=_targets(content, content_path),
        language=language,
    )
    return ParsedMessage(
        fields=fields,
        msg_type=kind,
        references=original,
        source={"ebm_id": ebm_id, "sender_code": sender_code, "ebd_id": (root.findtext("EBDID") or "").strip()},
        elements=_ELEMENTS,
        notes=notes,
    )


def ebm_import(*, actor: User, xml_bytes: bytes, issuer_region: Region) -> Alert:
    """Draft the message of an EBD/EBM file as issued by the platform of `issuer_region`.

    A malformed or unsafe file, a missing or invalid element (named, with its line), or content we
    cannot broadcast faithfully raises ValidationError. The draft still needs submission and approval.
    """
    draft_require(actor=actor, issuer_region=issuer_region)
    root = xml_parse(xml_bytes)
    parsed = _parse(root, actor)
    return draft_create(actor=actor, issuer_region=issuer_region, parsed=parsed, fmt="ebm")
