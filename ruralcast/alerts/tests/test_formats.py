"""CAP 1.2 and EBM XML: export, import as a draft through the services, and refusal of bad files."""

import base64
import hashlib
import io
import re
import tarfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from lxml import etree
from ruralcast_terminal import crypto

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.accounts.services import api_token_create
from ruralcast.alerts.audio import store_mp3
from ruralcast.alerts.formats.cap import CAP_NS, alert_to_cap, cap_import, cap_schema
from ruralcast.alerts.formats.ebm import alert_to_ebm, ebm_import
from ruralcast.alerts.formats.package import ebd_package
from ruralcast.alerts.models import Alert, MsgType, State, Status
from ruralcast.alerts.services import AlertFields, alert_create
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import PermissionDenied, ValidationError
from ruralcast.regions.models import Region
from ruralcast.signing.models import SigningKey
from ruralcast.signing.services import signing_key_generate

pytestmark = pytest.mark.django_db

NS = {"cap": CAP_NS}
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
EBM_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
API = "/api/v1/alerts"


@pytest.fixture(autouse=True)
def _media_and_keys(settings: Any, tmp_path: Path) -> None:
    """Audio files and signing keys of these tests live in their own temporary folders."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RUN_DIR = tmp_path
    settings.RURALCAST_PUBLIC_URL = "https://rc.example.test"


@pytest.fixture
def fields(guzhou: Region, zhongcheng: Region) -> Callable[..., AlertFields]:
    """An Exercise rainstorm warning for two townships of 榕江县, with any field overridden."""

    def make(**overrides: Any) -> AlertFields:
        start = timezone.now().replace(microsecond=0) + timedelta(minutes=5)
        values: dict[str, Any] = {
            "status": Status.EXERCISE,
            "event_code": "11B03",
            "severity": 2,
            "title": "暴雨橙色预警（演练）",
            "text": "预计今天14时至20时，古州镇、忠诚镇将出现50毫米以上强降雨，请远离河道。",
            "onset": start,
            "expires": start + timedelta(hours=3),
            "targets": [guzhou, zhongcheng],
            "volume": 70,
            "repeat": 3,
        }
        values.update(overrides)
        return AlertFields(**values)

    return make


@pytest.fixture
def alert(county_station_operator: User, rongjiang: Region, fields: Callable[..., AlertFields]) -> Alert:
    return alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields())


@pytest.fixture
def with_audio(alert: Alert) -> Alert:
    """The alert with a stored MP3 (alert_create does not synthesise speech; submit would)."""
    audio = store_mp3(b"ID3\x04\x00fake-mp3-frames" * 20, seconds=1.5)
    alert.audio_name, alert.audio_sha256, alert.audio_bytes, alert.audio_seconds = (
        audio.name,
        audio.sha256,
        audio.size,
        audio.seconds,
    )
    alert.save()
    return alert


def _cap(alert: Alert) -> etree._Element:
    return etree.fromstring(alert_to_cap(alert))


def _edit(xml: bytes, old: str, new: str) -> bytes:
    text = xml.decode()
    assert old in text, old
    return text.replace(old, new, 1).encode()


def _remove(xml: bytes, pattern: str) -> bytes:
    text, count = re.subn(pattern, "", xml.decode(), flags=re.S)
    assert count, pattern
    return text.encode()


def _error(call: Callable[[], Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message


# ---------------------------------------------------------------------------- CAP export


def test_cap_export_is_valid_against_the_oasis_cap_1_2_schema(with_audio: Alert) -> None:
    schema = cap_schema()
    document = _cap(with_audio)
    assert schema.validate(document), schema.error_log


def test_cap_export_of_every_status_and_update_is_valid(
    alert: Alert, county_station_operator: User, rongjiang: Region, fields: Callable[..., AlertFields]
) -> None:
    update = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=fields(status=Status.ACTUAL, event_code="21E00", severity=1),
        msg_type=MsgType.UPDATE,
        references=alert,
    )
    for message in (alert, update):
        assert cap_schema().validate(_cap(message)), cap_schema().error_log


def test_cap_export_carries_the_message_in_cap_and_ebm_terms(with_audio: Alert) -> None:
    root = _cap(with_audio)
    assert root.findtext("cap:identifier", namespaces=NS) == with_audio.cap_id
    assert root.findtext("cap:sender", namespaces=NS) == f"ebr:{with_audio.sender_code}"
    assert CAP_TIME.match(root.findtext("cap:sent", namespaces=NS) or "")
    assert root.findtext("cap:sent", namespaces=NS).endswith("+08:00")  # type: ignore[union-attr]
    assert root.findtext("cap:status", namespaces=NS) == "Exercise"
    assert root.findtext("cap:msgType", namespaces=NS) == "Alert"
    assert root.findtext("cap:code", namespaces=NS) == "EBM-1.0"
    assert "draft" in (root.findtext("cap:note", namespaces=NS) or "")
    info = root.find("cap:info", namespaces=NS)
    assert info is not None
    assert info.findtext("cap:language", namespaces=NS) == "zh-CN"
    assert info.findtext("cap:category", namespaces=NS) == "Met"
    assert info.findtext("cap:event", namespaces=NS) == "暴雨"
    assert info.findtext("cap:severity", namespaces=NS) == "Severe"
    assert info.findtext("cap:eventCode/cap:valueName", namespaces=NS) == "EBM-EventType"
    assert info.findtext("cap:eventCode/cap:value", namespaces=NS) == "11B03"
    assert info.findtext("cap:headline", namespaces=NS) == with_audio.title
    assert info.findtext("cap:description", namespaces=NS) == with_audio.text
    assert info.findtext("cap:senderName", namespaces=NS) == "榕江县应急广播平台"
    parameters = {
        p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
        for p in info.findall("cap:parameter", namespaces=NS)
    }
    assert parameters == {
        "EBM-ID": with_audio.ebm_id,
        "EBM-Severity": "2",
        "EBM-Volume": "70",
        "EBM-Repeat": "3",
        "EBM-Audio-SHA256": with_audio.audio_sha256,
    }
    areas = [
        (a.findtext("cap:areaDesc", namespaces=NS), a.findtext("cap:geocode/cap:valueName", namespaces=NS))
        for a in info.findall("cap:area", namespaces=NS)
    ]
    assert areas == [("古州镇", "CN-AreaCode"), ("忠诚镇", "CN-AreaCode")]
    codes = [g.text for g in info.findall("cap:area/cap:geocode/cap:value", namespaces=NS)]
    assert codes == ["522632100000", "522632101000"]


def test_cap_audio_resource_has_the_sha1_digest_size_and_an_absolute_uri(with_audio: Alert) -> None:
    with default_storage.open(with_audio.audio_name, "rb") as handle:
        data = handle.read()
    resource = _cap(with_audio).find("cap:info/cap:resource", namespaces=NS)
    assert resource is not None
    assert resource.findtext("cap:mimeType", namespaces=NS) == "audio/mpeg"
    assert resource.findtext("cap:size", namespaces=NS) == str(len(data))
    assert resource.findtext("cap:digest", namespaces=NS) == hashlib.sha1(data).hexdigest()
    assert resource.findtext("cap:uri", namespaces=NS) == (
        f"https://rc.example.test/alerts/audio/{with_audio.audio_sha256}.mp3"
    )


@pytest.mark.parametrize(
    ("event_code", "category"),
    [
        ("11C00", "Geo"),
        ("11D01", "Geo"),
        ("11G00", "Fire"),
        ("21B00", "Transport"),
        ("31A00", "Health"),
        ("41A00", "Security"),
        ("00000", "Other"),
        ("20000", "Safety"),
    ],
)
def test_cap_category_follows_the_event_code(
    county_station_operator: User, rongjiang: Region, fields: Callable[..., AlertFields], event_code: str, category: str
) -> None:
    alert = alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields(event_code=event_code))
    assert _cap(alert).findtext("cap:info/cap:category", namespaces=NS) == category


# ---------------------------------------------------------------------------- CAP import


def _same_message(imported: Alert, original: Alert) -> None:
    for name in (
        "status",
        "msg_type",
        "scope",
        "event_code",
        "severity",
        "urgency",
        "certainty",
        "language",
        "title",
        "text",
        "volume",
        "repeat",
    ):
        assert getattr(imported, name) == getattr(original, name), name
    assert imported.onset == original.onset.replace(microsecond=0)
    assert imported.expires == original.expires.replace(microsecond=0)
    assert sorted(imported.targets.values_list("code", flat=True)) == sorted(
        original.targets.values_list("code", flat=True)
    )


def test_cap_round_trip_gives_an_equal_draft(
    with_audio: Alert, county_station_operator: User, rongjiang: Region
) -> None:
    imported = cap_import(actor=county_station_operator, xml_bytes=alert_to_cap(with_audio), issuer_region=rongjiang)
    assert imported.pk != with_audio.pk
    assert imported.state == State.DRAFT
    assert imported.ebm_id != with_audio.ebm_id
    assert imported.created_by == county_station_operator
    _same_message(imported, with_audio)
    assert imported.audio_sha256 == ""  # spoken afresh when the draft is submitted


def test_a_cap_import_is_audited_with_the_files_own_identifiers(
    alert: Alert, county_station_operator: User, rongjiang: Region
) -> None:
    imported = cap_import(actor=county_station_operator, xml_bytes=alert_to_cap(alert), issuer_region=rongjiang)
    verbs = list(
        AuditEvent.objects.filter(object_type="alerts.alert", object_id=str(imported.pk))
        .order_by("seq")
        .values_list("verb", flat=True)
    )
    assert verbs == ["alert.create", "alert.import"]
    after = (
        AuditEvent.objects.get(object_type="alerts.alert", object_id=str(imported.pk), verb="alert.import").after or {}
    )
    assert after["format"] == "cap"
    assert after["identifier"] == alert.cap_id


def test_a_cap_update_is_imported_as_an_update_of_the_referenced_message(
    alert: Alert, county_station_operator: User, rongjiang: Region, fields: Callable[..., AlertFields]
) -> None:
    update = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=fields(severity=1),
        msg_type=MsgType.UPDATE,
        references=alert,
    )
    imported = cap_import(actor=county_station_operator, xml_bytes=alert_to_cap(update), issuer_region=rongjiang)
    assert imported.msg_type == MsgType.UPDATE
    assert imported.references == alert
    assert imported.severity == 1


def test_cap_without_an_ebm_event_code_takes_a_generic_code_from_its_category_and_says_so(
    alert: Alert, county_station_operator: User, rongjiang: Region
) -> None:
    xml = _remove(alert_to_cap(alert), r"<eventCode>.*?</eventCode>")
    xml = _edit(xml, "<category>Met</category>", "<category>Health</category>")
    xml = _edit(xml, "<event>暴雨</event>", "<event>公共卫生通告</event>")
    imported = cap_import(actor=county_station_operator, xml_bytes=xml, issuer_region=rongjiang)
    assert imported.event_code == "30000"
    after = (
        AuditEvent.objects.get(object_type="alerts.alert", object_id=str(imported.pk), verb="alert.import").after or {}
    )
    assert any("category=Health" in note for note in after["notes"])


def test_cap_without_a_language_but_with_chinese_text_is_read_as_chinese(
    alert: Alert, county_station_operator: User, rongjiang: Region
) -> None:
    xml = _remove(alert_to_cap(alert), r"<language>zh-CN</language>")
    imported = cap_import(actor=county_station_operator, xml_bytes=xml, issuer_region=rongjiang)
    assert imported.language == "zho"


def test_cap_import_reads_a_6_digit_gb_t_2260_geocode_as_the_county(
    alert: Alert, county_station_operator: User, rongjiang: Region
) -> None:
    xml = alert_to_cap(alert)
    xml = _edit(xml, "<valueName>CN-AreaCode</valueName>", "<valueName>GB/T2260</valueName>")
    xml = _edit(xml, "<value>522632100000</value>", "<value>522632</value>")
    imported = cap_import(actor=county_station_operator, xml_bytes=xml, issuer_region=rongjiang)
    assert list(imported.targets.values_list("code", flat=True)) == ["522632000000"]


def test_cap_import_requires_the_right_to_draft_for_every_target(
    alert: Alert, township_station_operator: User, guzhou: Region
) -> None:
    # 忠诚镇 is outside 古州镇, where this operator works.
    with pytest.raises((PermissionDenied, ValidationError)):
        cap_import(actor=township_station_operator, xml_bytes=alert_to_cap(alert), issuer_region=guzhou)
    assert not Alert.objects.filter(created_by=township_station_operator).exists()


def test_cap_import_for_another_county_platform_is_refused(
    alert: Alert, county_station_operator: User, congjiang: Region
) -> None:
    with pytest.raises(PermissionDenied):
        cap_import(actor=county_station_operator, xml_bytes=alert_to_cap(alert), issuer_region=congjiang)


# ---------------------------------------------------------------------------- CAP: refused files


@pytest.fixture
def refuse_cap(county_station_operator: User, rongjiang: Region, english: None) -> Callable[[bytes], str]:
    def refuse(xml: bytes) -> str:
        count = Alert.objects.count()
        message = _error(lambda: cap_import(actor=county_station_operator, xml_bytes=xml, issuer_region=rongjiang))
        assert Alert.objects.count() == count
        return message

    return refuse


def test_a_file_that_is_not_xml_is_refused(refuse_cap: Callable[[bytes], str]) -> None:
    assert "not well-formed XML" in refuse_cap(b"identifier,sender\n1,2\n")
    assert "empty" in refuse_cap(b"  \n")


def test_an_xml_bomb_with_a_doctype_is_refused_before_parsing(refuse_cap: Callable[[bytes], str]) -> None:
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
        b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>&lol3;</identifier></alert>"
    )
    assert "DOCTYPE" in refuse_cap(bomb)


def test_an_external_entity_is_refused(refuse_cap: Callable[[bytes], str]) -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert>&x;</alert>'
    assert "DOCTYPE" in refuse_cap(xxe)
    # Without a DOCTYPE an entity reference is simply undefined.
    assert "not well-formed" in refuse_cap(b"<alert>&x;</alert>")


def test_cap_in_the_wrong_namespace_is_refused(alert: Alert, refuse_cap: Callable[[bytes], str]) -> None:
    xml = _edit(alert_to_cap(alert), "urn:oasis:names:tc:emergency:cap:1.2", "urn:oasis:names:tc:emergency:cap:1.1")
    message = refuse_cap(xml)
    assert message.startswith("Line 2:")
    assert "cap:1.1" in message and "cap:1.2" in message


def test_cap_without_info_is_refused(alert: Alert, refuse_cap: Callable[[bytes], str]) -> None:
    message = refuse_cap(_remove(alert_to_cap(alert), r"<info>.*</info>"))
    assert "no “info”" in message


def test_an_invalid_enumeration_value_names_the_element_and_its_line(
    alert: Alert, refuse_cap: Callable[[bytes], str]
) -> None:
    xml = _edit(alert_to_cap(alert), "<severity>Severe</severity>", "<severity>Awful</severity>")
    line = next(i for i, text in enumerate(xml.decode().splitlines(), 1) if "Awful" in text)
    message = refuse_cap(xml)
    assert message.startswith(f"Line {line}: ")
    assert (
        "alert/info/severity: “Awful” is not allowed; write one of Extreme, Severe, Moderate, Minor, Unknown" in message
    )


def test_a_missing_required_element_is_named(alert: Alert, refuse_cap: Callable[[bytes], str]) -> None:
    message = refuse_cap(_remove(alert_to_cap(alert), r"<urgency>.*?</urgency>"))
    assert "urgency" in message and "Line" in message


def test_an_unknown_region_geocode_is_named(alert: Alert, refuse_cap: Callable[[bytes], str]) -> None:
    xml = _edit(alert_to_cap(alert), "<value>522632101000</value>", "<value>522632999000</value>")
    message = refuse_cap(xml)
    assert "geocode CN-AreaCode “522632999000”" in message
    assert message.startswith("Line ")


def test_a_cancel_of_an_unknown_identifier_is_refused(alert: Alert, refuse_cap: Callable[[bytes], str]) -> None:
    xml = _edit(alert_to_cap(alert), "<msgType>Alert</msgType>", "<msgType>Cancel</msgType>")
    # CAP's order: … code, note, references, incidents, info
    xml = _edit(xml, "<info>", "<references>ebr:1,urn:elsewhere:42,2026-01-01T00:00:00+08:00</references>\n  <info>")
    message = refuse_cap(xml)
    assert "urn:elsewhere:42" in message and "no such message" in message


def test_a_cancel_without_references_is_refused(alert: Alert, refuse_cap: Callable[[bytes], str]) -> None:
    xml = _edit(alert_to_cap(alert), "<msgType>Alert</msgType>", "<msgType>Cancel</msgType>")
    assert "needs “references”" in refuse_cap(xml)


def test_a_cap_draft_status_is_not_imported(alert: Alert, refuse_cap: Callable[[bytes], str]) -> None:
    xml = _edit(alert_to_cap(alert), "<status>Exercise</status>", "<status>Draft</status>")
    assert "status Draft" in refuse_cap(xml)


def test_an_unknown_ebm_event_code_is_refused(alert: Alert, refuse_cap: Callable[[bytes], str]) -> None:
    xml = _edit(alert_to_cap(alert), "<value>11B03</value>", "<value>99Z99</value>")
    assert "“99Z99” is not in our event table" in refuse_cap(xml)


def test_severity_parameter_contradicting_severity_is_refused(alert: Alert, refuse_cap: Callable[[bytes], str]) -> None:
    xml = _edit(alert_to_cap(alert), "<severity>Severe</severity>", "<severity>Minor</severity>")
    assert "EBM-Severity 2 contradicts" in refuse_cap(xml)


# ---------------------------------------------------------------------------- EBM export


def _ebm(alert: Alert) -> etree._Element:
    return etree.fromstring(alert_to_ebm(alert))


def test_ebm_export_is_an_ebd_packet_with_the_35_digit_ebm_id(with_audio: Alert) -> None:
    root = _ebm(with_audio)
    assert root.tag == "EBD"
    assert root.findtext("EBDVersion") == "1.0"
    ebdid = root.findtext("EBDID") or ""
    assert re.fullmatch(r"\d{41}", ebdid)
    assert ebdid == "10" + with_audio.sender_code + "0000" + with_audio.ebm_id[23:]
    assert root.findtext("EBDType") == "EBM"
    assert root.findtext("SRC/EBRID") == with_audio.sender_code
    assert EBM_TIME.match(root.findtext("EBDTime") or "")
    assert root.findtext("EBM/EBMVersion") == "1"
    assert re.fullmatch(r"\d{35}", root.findtext("EBM/EBMID") or "")
    assert root.findtext("EBM/EBMID") == with_audio.ebm_id
    assert root.find("EBM/RelatedInfo") is None
    basic = root.find("EBM/MsgBasicInfo")
    assert basic is not None
    assert [child.tag for child in basic] == [
        "MsgType",
        "SenderName",
        "SenderCode",
        "SendTime",
        "EventType",
        "Severity",
        "StartTime",
        "EndTime",
    ]
    assert basic.findtext("EventType") == "11B03"
    assert basic.findtext("Severity") == "2"
    assert basic.findtext("StartTime") == timezone.localtime(with_audio.onset).strftime("%Y-%m-%d %H:%M:%S")
    assert root.findtext("EBM/MsgContent/LanguageCode") == "zho"
    assert root.findtext("EBM/MsgContent/AreaCode") == "522632100000,522632101000"
    auxiliary = root.find("EBM/MsgContent/Auxiliary")
    assert auxiliary is not None
    assert auxiliary.findtext("AuxiliaryType") == "2"
    assert auxiliary.findtext("AuxiliaryDesc") == f"{with_audio.audio_sha256}.mp3"
    assert auxiliary.findtext("Size") == str(with_audio.audio_bytes)
    assert len(auxiliary.findtext("Digest") or "") == 40


@pytest.mark.parametrize(
    ("status", "msg_type"), [(Status.ACTUAL, "1"), (Status.EXERCISE, "3"), (Status.TEST, "3"), (Status.SYSTEM, "3")]
)
def test_ebm_msg_type_is_1_for_live_alerts_and_3_for_drills(
    county_station_operator: User, rongjiang: Region, fields: Callable[..., AlertFields], status: str, msg_type: str
) -> None:
    alert = alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields(status=status))
    assert _ebm(alert).findtext("EBM/MsgBasicInfo/MsgType") == msg_type


def test_an_ebm_cancel_has_msg_type_2_and_names_the_original(
    alert: Alert, county_station_operator: User, rongjiang: Region, fields: Callable[..., AlertFields]
) -> None:
    cancel = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=fields(),
        msg_type=MsgType.CANCEL,
        references=alert,
    )
    root = _ebm(cancel)
    assert root.findtext("EBM/MsgBasicInfo/MsgType") == "2"
    assert root.findtext("EBM/RelatedInfo/EBMID") == alert.ebm_id


# ---------------------------------------------------------------------------- EBM import


def test_ebm_round_trip_gives_an_equal_draft(
    with_audio: Alert, county_station_operator: User, rongjiang: Region
) -> None:
    imported = ebm_import(actor=county_station_operator, xml_bytes=alert_to_ebm(with_audio), issuer_region=rongjiang)
    assert imported.state == State.DRAFT
    for name in ("status", "msg_type", "event_code", "severity", "language", "title", "text"):
        assert getattr(imported, name) == getattr(with_audio, name), name
    assert imported.onset == with_audio.onset.replace(microsecond=0)
    assert imported.expires == with_audio.expires.replace(microsecond=0)
    assert sorted(imported.targets.values_list("code", flat=True)) == ["522632100000", "522632101000"]


def test_an_ebm_cancel_round_trips_with_the_status_of_the_original(
    alert: Alert, county_station_operator: User, rongjiang: Region, fields: Callable[..., AlertFields]
) -> None:
    cancel = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=fields(),
        msg_type=MsgType.CANCEL,
        references=alert,
    )
    imported = ebm_import(actor=county_station_operator, xml_bytes=alert_to_ebm(cancel), issuer_region=rongjiang)
    assert (imported.msg_type, imported.status, imported.references) == (MsgType.CANCEL, Status.EXERCISE, alert)


def test_an_ebm_with_related_info_and_msg_type_1_is_an_actual_update(
    alert: Alert, county_station_operator: User, rongjiang: Region
) -> None:
    xml = _edit(alert_to_ebm(alert), "<MsgType>3</MsgType>", "<MsgType>1</MsgType>")
    xml = _edit(xml, "<MsgBasicInfo>", f"<RelatedInfo><EBMID>{alert.ebm_id}</EBMID></RelatedInfo><MsgBasicInfo>")
    imported = ebm_import(actor=county_station_operator, xml_bytes=xml, issuer_region=rongjiang)
    assert (imported.msg_type, imported.status, imported.references) == (MsgType.UPDATE, Status.ACTUAL, alert)


@pytest.fixture
def refuse_ebm(county_station_operator: User, rongjiang: Region, english: None) -> Callable[[bytes], str]:
    def refuse(xml: bytes) -> str:
        count = Alert.objects.count()
        message = _error(lambda: ebm_import(actor=county_station_operator, xml_bytes=xml, issuer_region=rongjiang))
        assert Alert.objects.count() == count
        return message

    return refuse


def test_ebm_missing_end_time_is_named_with_its_path(alert: Alert, refuse_ebm: Callable[[bytes], str]) -> None:
    message = refuse_ebm(_remove(alert_to_ebm(alert), r"<EndTime>.*?</EndTime>"))
    assert re.match(r"Line \d+: EBD/EBM/MsgBasicInfo: element “EndTime” is missing\.", message), message


def test_ebm_invalid_severity_is_named(alert: Alert, refuse_ebm: Callable[[bytes], str]) -> None:
    xml = _edit(alert_to_ebm(alert), "<Severity>2</Severity>", "<Severity>7</Severity>")
    line = next(i for i, text in enumerate(xml.decode().splitlines(), 1) if "<Severity>" in text)
    message = refuse_ebm(xml)
    assert message.startswith(f"Line {line}: EBD/EBM/MsgBasicInfo/Severity: “7”")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("<EBDType>EBM</EBDType>", "<EBDType>ConnectionCheck</EBDType>", "EBD/EBDType: “ConnectionCheck”"),
        ("<Severity>2</Severity>", "<Severity>0</Severity>", "Severity: 0 (unknown) cannot be broadcast"),
        (
            "<EventType>11B03</EventType>",
            "<EventType>99Z99</EventType>",
            "EventType: “99Z99” is not in our event table",
        ),
        (
            "<LanguageCode>zho</LanguageCode>",
            "<LanguageCode>xyz</LanguageCode>",
            "LanguageCode: “xyz” is not supported",
        ),
        ("<AreaCode>522632100000,", "<AreaCode>5226321,", "AreaCode: “5226321” is not a 12-digit region code"),
        ("<AreaCode>522632100000,", "<AreaCode>522632999000,", "EBD/EBM/MsgContent/AreaCode “522632999000”"),
        ("<MsgType>3</MsgType>", "<MsgType>2</MsgType>", "a cancel (MsgType 2) needs “RelatedInfo/EBMID”"),
        ("<MsgType>3</MsgType>", "<MsgType>9</MsgType>", "MsgBasicInfo/MsgType: “9” is not one of 1, 2, 3, 4, 5"),
        ("<SendTime>", "<SendTime>yesterday", "SendTime: “yesterday"),
        ("<EBD>", "<EBDResponse>", "not well-formed"),
    ],
)
def test_broken_ebm_files_name_the_element(
    alert: Alert, refuse_ebm: Callable[[bytes], str], old: str, new: str, expected: str
) -> None:
    assert expected in refuse_ebm(_edit(alert_to_ebm(alert), old, new))


def test_an_ebm_root_other_than_ebd_is_refused(refuse_ebm: Callable[[bytes], str]) -> None:
    assert "an EBM file is an “EBD” packet" in refuse_ebm(b"<EBM><EBMID>1</EBMID></EBM>")


def test_an_ebm_naming_an_unknown_related_message_is_refused(alert: Alert, refuse_ebm: Callable[[bytes], str]) -> None:
    unknown = "4" + "522632000000" + "0101010101" + "202001010001"
    xml = _edit(
        alert_to_ebm(alert), "<MsgBasicInfo>", f"<RelatedInfo><EBMID>{unknown}</EBMID></RelatedInfo><MsgBasicInfo>"
    )
    assert f"EBD/EBM/RelatedInfo/EBMID “{unknown}”: no such message" in refuse_ebm(xml)


def test_an_ebm_doctype_is_refused(refuse_ebm: Callable[[bytes], str]) -> None:
    assert "DOCTYPE" in refuse_ebm(b'<!DOCTYPE EBD SYSTEM "http://example.test/ebd.dtd"><EBD/>')


# ---------------------------------------------------------------------------- EBD package


def test_an_approved_message_is_packaged_with_a_signature_over_the_exact_packet_bytes(with_audio: Alert) -> None:
    key = signing_key_generate(actor=None, alg="Ed25519")
    with_audio.state = State.APPROVED
    with_audio.save()
    now = timezone.now()
    with tarfile.open(fileobj=io.BytesIO(ebd_package(with_audio, now=now))) as package:
        ebdid = "10" + with_audio.sender_code + "0000" + with_audio.ebm_id[23:]
        names = package.getnames()
        assert names == [f"EBDB_{ebdid}.xml", f"EBDS_EBDB_{ebdid}.xml", f"{with_audio.audio_sha256}.mp3"]
        body = package.extractfile(names[0]).read()  # type: ignore[union-attr]
        signature = etree.fromstring(package.extractfile(names[1]).read())  # type: ignore[union-attr]
        assert signature.findtext("RelatedEBD/EBDID") == ebdid
        assert signature.findtext("CertSN") == key.serial
        value = base64.b64decode(signature.findtext("SignatureValue") or "")
        assert crypto.verify(key.alg, SigningKey.objects.get(pk=key.pk).public_key_bytes, body, value)
        assert hashlib.sha256(package.extractfile(names[2]).read()).hexdigest() == with_audio.audio_sha256  # type: ignore[union-attr]


def test_a_draft_is_never_packaged_and_signed(alert: Alert, english: None) -> None:
    signing_key_generate(actor=None, alg="Ed25519")
    with pytest.raises(Exception, match="approved"):
        ebd_package(alert)


# ---------------------------------------------------------------------------- API


def _bearer(user: User) -> dict[str, str]:
    _token, secret = api_token_create(user=user, name="formats test")
    return {"authorization": f"Bearer {secret}"}


def test_api_serves_cap_and_ebm_xml(client: Client, alert: Alert, county_alert_approver: User) -> None:
    for suffix, check in (("cap.xml", "urn:oasis:names:tc:emergency:cap:1.2"), ("ebm.xml", "<EBD>")):
        response = client.get(f"{API}/{alert.ebm_id}/{suffix}", headers=_bearer(county_alert_approver))
        assert response.status_code == 200, response.content
        assert response["content-type"] == "application/xml"
        assert check in response.content.decode()


def test_api_xml_of_a_message_outside_my_regions_is_not_found(
    client: Client, alert: Alert, make_user: Callable[..., User], congjiang: Region
) -> None:
    outsider = make_user(role=Role.VIEWER, region=congjiang, username="congjiang-viewer")
    assert client.get(f"{API}/{alert.ebm_id}/cap.xml", headers=_bearer(outsider)).status_code == 404


def test_api_import_is_not_taken_for_an_ebm_id_and_answers_201(
    client: Client, alert: Alert, county_station_operator: User
) -> None:
    upload = io.BytesIO(alert_to_cap(alert))
    upload.name = "alert.xml"
    response = client.post(
        f"{API}/import",
        data={"file": upload, "issuer_region": "522632000000", "format": "cap"},
        headers=_bearer(county_station_operator),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "draft" and body["title"] == alert.title and body["ebm_id"] != alert.ebm_id


def test_api_import_of_a_broken_file_answers_400_naming_the_line(
    client: Client, alert: Alert, county_station_operator: User, english: None
) -> None:
    upload = io.BytesIO(_remove(alert_to_ebm(alert), r"<EndTime>.*?</EndTime>"))
    upload.name = "ebm.xml"
    response = client.post(
        f"{API}/import",
        data={"file": upload, "issuer_region": "522632000000", "format": "ebm"},
        headers={**_bearer(county_station_operator), "accept-language": "en"},
    )
    assert response.status_code == 400
    assert "EndTime" in response.json()["error"]["message"]
    assert response.json()["error"]["fields"]["file"]


# ---------------------------------------------------------------------------- console


def test_detail_page_links_cap_and_ebm_downloads(
    en_client: Client, alert: Alert, county_station_operator: User
) -> None:
    en_client.force_login(county_station_operator)
    page = en_client.get(f"/alerts/{alert.ebm_id}/").content.decode()
    assert f"/api/v1/alerts/{alert.ebm_id}/cap.xml" in page
    assert f"/api/v1/alerts/{alert.ebm_id}/ebm.xml" in page


def test_console_import_of_a_broken_file_shows_the_error_and_keeps_the_choices(
    en_client: Client, alert: Alert, county_station_operator: User
) -> None:
    en_client.force_login(county_station_operator)
    assert en_client.get("/alerts/import/").status_code == 200
    upload = io.BytesIO(_edit(alert_to_ebm(alert), "<Severity>2</Severity>", "<Severity>7</Severity>"))
    upload.name = "broken-ebm.xml"
    response = en_client.post("/alerts/import/", {"file": upload, "format": "ebm", "issuer_region": "522632000000"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "EBD/EBM/MsgBasicInfo/Severity" in page
    assert re.search(r'value="ebm"[^>]*checked', page)
    assert 'value="522632000000"' in page
    assert "broken-ebm.xml" in page


def test_console_import_of_a_good_file_opens_the_new_draft(
    en_client: Client, alert: Alert, county_station_operator: User
) -> None:
    en_client.force_login(county_station_operator)
    upload = io.BytesIO(alert_to_cap(alert))
    upload.name = "alert.cap.xml"
    response = en_client.post("/alerts/import/", {"file": upload, "format": "cap", "issuer_region": "522632000000"})
    assert response.status_code == 302
    imported = Alert.objects.exclude(pk=alert.pk).get(created_by=county_station_operator)
    assert response["location"] == f"/alerts/{imported.ebm_id}/"
    assert imported.state == State.DRAFT


def test_console_import_page_is_refused_to_someone_who_cannot_draft(en_client: Client, township_viewer: User) -> None:
    en_client.force_login(township_viewer)
    assert (
        en_client.get("/alerts/import/").status_code == 403
    )  # like every console module: a known user without the right role
