"""CAP 1.2 as real senders write it (issue 15, items 2–7): the OASIS specification's own examples
(Appendix A) and Chinese senders' messages (cap_files/), imported through the services, the API and
the console."""

import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from lxml import etree

from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create
from ruralcast.alerts.formats.cap import CAP_NS, alert_to_cap, cap_import
from ruralcast.alerts.formats.classify import classify
from ruralcast.alerts.formats.mapping import DEFAULT_VALIDITY
from ruralcast.alerts.models import Alert, ImportedMessage, MsgType, State, Status
from ruralcast.alerts.services import AlertFields, alert_create, alert_edit, alert_submit
from ruralcast.alerts.tests.conftest import stand_in_audio
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import Conflict, ValidationError
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "cap_files"
API = "/api/v1/alerts"
NS = {"cap": CAP_NS}


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RUN_DIR = tmp_path
    settings.RURALCAST_PUBLIC_URL = "https://rc.example.test"


def _t(value: datetime) -> str:
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def cap_file(name: str, **times: datetime) -> bytes:
    """A file of cap_files/, its `$name` placeholders filled with these times (CAP's format)."""
    text = (FILES / name).read_text(encoding="utf-8")
    return Template(text).substitute({key: _t(value) for key, value in times.items()}).encode()


def now() -> datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def do_import(county_station_operator: User, rongjiang: Region) -> Callable[[bytes], Alert]:
    def run(xml: bytes) -> Alert:
        return cap_import(actor=county_station_operator, xml_bytes=xml, issuer_region=rongjiang)

    return run


def refused(call: Callable[[], Any]) -> str:
    count = Alert.objects.count()
    with pytest.raises(ValidationError) as caught:
        call()
    assert Alert.objects.count() == count
    return caught.value.message


def record(alert: Alert) -> ImportedMessage:
    return ImportedMessage.objects.get(alert=alert)


def bilingual(**overrides: datetime) -> bytes:
    times = {"sent": now() - timedelta(minutes=5), "onset": now(), "expires": now() + timedelta(hours=3)}
    return cap_file("bilingual-flood.xml", **{**times, **overrides})


# ---------------------------------------------------------------------------- several languages (item 1)


def test_a_zh_cn_and_en_us_message_imports_as_one_alert_with_an_english_translation(
    do_import: Callable[[bytes], Alert],
) -> None:
    alert = do_import(bilingual())
    assert alert.language == "zho"
    assert alert.title == "洪水橙色预警（演练）"
    assert alert.text.endswith("沿河群众请立即向高处转移。")
    (english,) = alert.translations.all()
    assert english.language == "eng"
    assert english.title == "Flood warning, orange (exercise)"
    assert english.text.endswith("People living by the river: move to higher ground now.")
    assert record(alert).other_infos == []


def test_the_first_info_is_primary_when_none_is_in_the_deployments_language(
    do_import: Callable[[bytes], Alert],
) -> None:
    xml = bilingual().decode().replace("<language>zh-CN</language>", "<language>ii-CN</language>")
    alert = do_import(xml.encode())
    assert alert.language == "iii"
    assert [t.language for t in alert.translations.all()] == ["eng"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("<severity>Severe</severity>", "<severity>Extreme</severity>"), "severity"),
        (("<urgency>Expected</urgency>", "<urgency>Immediate</urgency>"), "urgency"),
        (("<certainty>Likely</certainty>", "<certainty>Observed</certainty>"), "certainty"),
        (("<category>Met</category>", "<category>Geo</category>"), "category"),
        (("<value>522632100000</value>", "<value>522632101000</value>"), "area"),
    ],
)
def test_info_blocks_that_describe_different_events_are_refused_with_what_differs(
    do_import: Callable[[bytes], Alert], english: None, change: tuple[str, str], field: str
) -> None:
    xml = bilingual().decode()
    cut = xml.index("<language>en-US</language>")
    xml = xml[:cut] + xml[cut:].replace(*change, 1)
    message = refused(lambda: do_import(xml.encode()))
    assert "different events" in message and field in message and "split the file" in message


def test_two_info_blocks_in_the_same_language_are_refused(do_import: Callable[[bytes], Alert], english: None) -> None:
    xml = bilingual().decode().replace("<language>en-US</language>", "<language>zh-CN</language>")
    message = refused(lambda: do_import(xml.encode()))
    assert "same language (zh-CN)" in message and "split the file" in message


def test_a_bilingual_message_exported_imported_and_exported_again_is_the_same(
    do_import: Callable[[bytes], Alert],
) -> None:
    first = do_import(bilingual())
    exported = alert_to_cap(first)
    infos = etree.fromstring(exported).findall(f"{{{CAP_NS}}}info")
    assert [i.findtext(f"{{{CAP_NS}}}language") for i in infos] == ["zh-CN", "en-US"]
    again = do_import(exported)
    assert [(t.language, t.title, t.text) for t in again.translations.all()] == [
        (t.language, t.title, t.text) for t in first.translations.all()
    ]

    def comparable(alert: Alert) -> bytes:
        text = alert_to_cap(alert).decode()
        for value in (alert.cap_id, alert.ebm_id):
            text = text.replace(value, "ID")
        return re.sub(r"<sent>[^<]*</sent>", "<sent/>", text).encode()

    assert comparable(again) == comparable(first)


# ---------------------------------------------------------------------------- item 2: expires optional, references


def test_an_alert_without_expires_is_valid_for_its_levels_default(do_import: Callable[[bytes], Alert]) -> None:
    onset = now() + timedelta(minutes=10)
    xml = bilingual(onset=onset).decode()
    xml = re.sub(r"<expires>.*?</expires>", "", xml)
    alert = do_import(xml.encode())
    assert alert.severity == 2
    assert alert.expires == onset + DEFAULT_VALIDITY[2] == onset + timedelta(hours=12)
    after = AuditEvent.objects.get(object_id=str(alert.pk), verb="alert.import").after or {}
    assert any("default validity of level 2" in note for note in after["notes"])


def test_a_cancel_without_expires_imports_and_names_the_imported_original(
    do_import: Callable[[bytes], Alert],
) -> None:
    sent = now() - timedelta(minutes=30)
    original = do_import(bilingual(sent=sent))
    cancel = do_import(cap_file("cancel-without-expires.xml", sent=now(), ref_sent=sent))
    assert cancel.msg_type == MsgType.CANCEL
    assert cancel.references == original  # found by the file's sender and identifier, not ours
    assert cancel.state == State.DRAFT
    # Level 4 (Minor): 24 hours from its sent time, longer than the original's 3 hours.
    assert cancel.expires == cancel.onset + DEFAULT_VALIDITY[4]
    assert record(cancel).references.startswith("rjsl@rongjiang.gov.cn,cn-gz-rj-sl-2026-0042,")


def test_a_cancel_lasts_at_least_as_long_as_what_it_cancels(do_import: Callable[[bytes], Alert]) -> None:
    sent = now() - timedelta(minutes=30)
    original = do_import(bilingual(sent=sent, expires=now() + timedelta(hours=30)))
    cancel = do_import(cap_file("cancel-without-expires.xml", sent=now(), ref_sent=sent))
    assert cancel.expires == original.expires


def test_references_with_several_triplets_link_to_the_known_ones(
    do_import: Callable[[bytes], Alert], county_station_operator: User, rongjiang: Region
) -> None:
    sent = now() - timedelta(minutes=30)
    original = do_import(bilingual(sent=sent))
    xml = cap_file("cancel-without-expires.xml", sent=now(), ref_sent=sent).decode()
    xml = xml.replace("<references>", "<references>other@example.org,never-seen-1,2026-01-01T00:00:00+08:00 ")
    cancel = do_import(xml.encode())
    assert cancel.references == original
    after = AuditEvent.objects.get(object_id=str(cancel.pk), verb="alert.import").after or {}
    assert any("never-seen-1" in note for note in after["notes"])


def test_an_update_of_our_own_exported_message_is_found_by_its_triplet(
    do_import: Callable[[bytes], Alert], county_station_operator: User, rongjiang: Region, guzhou: Region
) -> None:
    ours = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=AlertFields(
            status=Status.EXERCISE,
            event_code="11B03",
            severity=3,
            title="暴雨黄色预警（演练）",
            text="古州镇将出现强降雨。",
            onset=now(),
            expires=now() + timedelta(hours=2),
            targets=[guzhou],
        ),
    )
    exported = alert_to_cap(ours).decode()
    triplet = f"ebr:{ours.sender_code},{ours.cap_id},2026-01-01T00:00:00+08:00"
    update = exported.replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>").replace(
        "<info>", f"<references>{triplet}</references>\n  <info>", 1
    )
    update = re.sub(r"<expires>.*?</expires>", "", update)
    imported = do_import(update.encode())
    assert imported.msg_type == MsgType.UPDATE and imported.references == ours


# ---------------------------------------------------------------------------- item 3: expired and future messages


def test_an_expired_message_is_kept_as_a_record_that_cannot_be_submitted(
    do_import: Callable[[bytes], Alert], county_station_operator: User
) -> None:
    xml = cap_file(
        "expired.xml",
        sent=now() - timedelta(days=2),
        effective=now() - timedelta(days=2),
        onset=now() - timedelta(days=2),
        expires=now() - timedelta(days=1),
    )
    alert = do_import(xml)
    assert alert.state == State.EXPIRED and alert.dispatched_at is None and alert.sent_at is None
    assert record(alert).history
    with pytest.raises(Conflict):
        alert_submit(actor=county_station_operator, alert=stand_in_audio(alert))


def test_a_future_onset_is_kept_as_a_draft_with_all_its_times(do_import: Callable[[bytes], Alert]) -> None:
    effective, onset, expires = now() + timedelta(hours=1), now() + timedelta(hours=20), now() + timedelta(hours=40)
    alert = do_import(cap_file("future-onset.xml", sent=now(), effective=effective, onset=onset, expires=expires))
    assert alert.state == State.DRAFT
    assert (alert.onset, alert.expires) == (onset, expires)
    assert record(alert).effective == effective
    assert not record(alert).history


# ---------------------------------------------------------------------------- item 4: event classification


@pytest.mark.parametrize(
    ("event", "category", "codes", "parameters", "expected"),
    [
        ("Flood Warning", "Met", [], [], "11A01"),  # not 11B00 meteorological
        ("洪水", "Met", [], [], "11A01"),
        ("Warning", "Met", [("SAME", "FLW")], [], "11A01"),
        ("Warning", "Met", [("SAME", "FFW")], [], "11A03"),
        ("Avis", "Met", [("profile:CAP-CP:Event:0.4", "stormSurge")], [], "11E00"),
        ("台风残余环流大风", "Met", [("GB/T 35561", "11B06")], [], "11B06"),  # the code wins over the words
        ("x", "Met", [], [("EBM-EventType", "11C00")], "11C00"),
        ("Homeland Security Advisory System Update", "Security", [], [], "40000"),
        ("公共卫生通告", "Health", [], [], "30000"),
        ("Special weather statement", "Met", [], [], ""),  # unclassified, never 11B00
        ("Statement", "Geo", [], [], ""),
    ],
)
def test_cap_events_map_to_national_codes(
    event: str, category: str, codes: list[tuple[str, str]], parameters: list[tuple[str, str]], expected: str
) -> None:
    assert classify(event=event, category=category, codes=codes, parameters=parameters).code == expected


def test_a_flood_without_an_event_code_is_a_flood(do_import: Callable[[bytes], Alert]) -> None:
    alert = do_import(bilingual())
    assert alert.event_code == "11A01"
    assert record(alert).event_mapping == "event=洪水"


def test_an_unclassified_event_blocks_submission_until_an_operator_picks_a_code(
    do_import: Callable[[bytes], Alert], county_station_operator: User, guzhou: Region, english: None
) -> None:
    xml = bilingual().decode().replace("<event>洪水</event>", "<event>水情通告</event>", 1)
    alert = do_import(xml.encode())
    assert alert.event_code == "" and alert.state == State.DRAFT
    assert "category=Met" in record(alert).event_mapping and record(alert).unclassified
    with pytest.raises(ValidationError) as caught:
        alert_submit(actor=county_station_operator, alert=stand_in_audio(alert))
    assert "unclassified" in caught.value.message
    fields = AlertFields(
        status=alert.status,
        event_code="11A01",
        severity=alert.severity,
        title=alert.title,
        text=alert.text,
        onset=alert.onset,
        expires=alert.expires,
        targets=[guzhou],
    )
    alert_edit(actor=county_station_operator, alert=alert, fields=fields)
    edit = AuditEvent.objects.get(object_id=str(alert.pk), verb="alert.edit")
    assert (edit.before or {})["event"] == "" and (edit.after or {})["event"] == "11A01"
    assert alert_submit(actor=county_station_operator, alert=stand_in_audio(alert)).state == State.SUBMITTED


def test_the_draft_page_shows_the_mapping_and_the_unclassified_state(
    do_import: Callable[[bytes], Alert], county_station_operator: User, en_client: Client
) -> None:
    classified = do_import(bilingual())
    xml = bilingual().decode().replace("<event>洪水</event>", "<event>水情通告</event>", 1)
    xml = xml.replace("cn-gz-rj-sl-2026-0042", "cn-gz-rj-sl-2026-0044")
    unclassified = do_import(xml.encode())
    en_client.force_login(county_station_operator)
    page = en_client.get(f"/alerts/{classified.ebm_id}/").content.decode()
    assert "11A01 ← <code>event=洪水</code>" in page and "data-import-unclassified" not in page
    assert "Flood warning, orange (exercise)" in page and 'data-translation="eng"' in page  # its translation
    page = en_client.get(f"/alerts/{unclassified.ebm_id}/").content.decode()
    assert "data-import-unclassified" in page and "Unclassified event" in page
    edit = en_client.get(f"/alerts/{unclassified.ebm_id}/edit/").content.decode()
    assert re.search(r'<option value="" selected>—</option>', edit)


# ---------------------------------------------------------------------------- item 5: areas


def test_geocodes_of_the_chinese_division_code_schemes_map_to_regions(do_import: Callable[[bytes], Alert]) -> None:
    alert = do_import(cap_file("geocode-typhoon.xml", sent=now(), expires=now() + timedelta(hours=6)))
    # 9-digit GB/T 2260 township code → 522632100000; 12-digit CN-AreaCode as it is.
    assert sorted(alert.targets.values_list("code", flat=True)) == ["522632100000", "522632101000"]
    assert alert.event_code == "11B06"
    assert [area["regions"] for area in record(alert).areas] == [["522632100000"], ["522632101000"]]


def test_polygon_and_circle_areas_are_kept_and_the_operator_chooses_the_regions(
    do_import: Callable[[bytes], Alert], county_station_operator: User, zhongcheng: Region, en_client: Client
) -> None:
    alert = do_import(cap_file("polygon-rainstorm.xml", sent=now(), expires=now() + timedelta(hours=6)))
    assert alert.state == State.DRAFT and not alert.targets.exists()
    areas = record(alert).areas
    assert areas[0]["polygons"] == ["26.10,108.45 26.10,108.60 25.95,108.60 25.95,108.45 26.10,108.45"]
    assert areas[1]["circles"] == ["25.93,108.52 8"]
    en_client.force_login(county_station_operator)
    page = en_client.get(f"/alerts/{alert.ebm_id}/").content.decode()
    assert "data-import-needs-targets" in page and "Choose the target regions" in page
    assert "25.93,108.52 8" in page
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        alert_submit(actor=county_station_operator, alert=stand_in_audio(alert))
    assert "no target regions" in caught.value.message
    fields = AlertFields(
        status=alert.status,
        event_code=alert.event_code,
        severity=alert.severity,
        title=alert.title,
        text=alert.text,
        onset=alert.onset,
        expires=alert.expires,
        targets=[zhongcheng],
    )
    alert_edit(actor=county_station_operator, alert=alert, fields=fields)
    assert alert_submit(actor=county_station_operator, alert=stand_in_audio(alert)).state == State.SUBMITTED


# ---------------------------------------------------------------------------- item 6: messages people read


@pytest.fixture
def zh() -> Iterator[None]:
    with translation.override("zh-hans"):
        yield


def test_a_time_without_offset_says_what_to_write_in_english(
    do_import: Callable[[bytes], Alert], english: None
) -> None:
    xml = bilingual().decode()
    xml = re.sub(r"<sent>(.*?)[+-]\d\d:\d\d</sent>", r"<sent>\1</sent>", xml)
    message = refused(lambda: do_import(xml.encode()))
    assert message.startswith("Line 5: not valid CAP 1.2: alert/sent: “")
    assert "is not allowed; write a date and time with its UTC offset and no fractions of a second" in message
    assert "facet" not in message and "atomic type" not in message and "\\d" not in message


def test_a_time_without_offset_says_what_to_write_in_chinese(do_import: Callable[[bytes], Alert], zh: None) -> None:
    xml = re.sub(r"<sent>(.*?)[+-]\d\d:\d\d</sent>", r"<sent>\1</sent>", bilingual().decode())
    message = refused(lambda: do_import(xml.encode()))
    assert message.startswith("第 5 行") and "alert/sent" in message and "时区" in message


def test_an_element_out_of_place_names_what_is_expected(do_import: Callable[[bytes], Alert], english: None) -> None:
    xml = bilingual().decode().replace("<scope>Public</scope>", "<note>x</note><scope>Public</scope>")
    message = refused(lambda: do_import(xml.encode()))
    assert "alert/note: the element “note” is not allowed here" in message
    assert "expects source, scope" in message and "{urn:" not in message


def test_a_bad_value_in_the_second_info_block_names_its_path(
    do_import: Callable[[bytes], Alert], english: None
) -> None:
    xml = bilingual().decode()
    head, tail = xml.rsplit("<urgency>Expected</urgency>", 1)
    message = refused(lambda: do_import((head + "<urgency>Soon</urgency>" + tail).encode()))
    assert "alert/info[2]/urgency: “Soon” is not allowed; write one of Immediate, Expected, Future, Past, Unknown" in (
        message
    )


def _bearer(user: User) -> dict[str, str]:
    _token, secret = api_token_create(user=user, name="cap senders test")
    return {"authorization": f"Bearer {secret}"}


def _upload(client: Client, user: User, xml: bytes, **headers: str) -> Any:
    upload = io.BytesIO(xml)
    upload.name = "alert.xml"
    return client.post(
        f"{API}/import",
        data={"file": upload, "issuer_region": "522632000000", "format": "cap"},
        headers={**_bearer(user), **headers},
    )


def test_the_api_answers_in_the_callers_accept_language(client: Client, county_station_operator: User) -> None:
    broken = re.sub(r"<sent>(.*?)[+-]\d\d:\d\d</sent>", r"<sent>\1</sent>", bilingual().decode()).encode()
    english = _upload(client, county_station_operator, broken, **{"accept-language": "en-US,en;q=0.8"})
    assert english.status_code == 400
    assert "write a date and time with its UTC offset" in english.json()["error"]["message"]
    assert "Accept-Language" in english["Vary"]
    chinese = _upload(client, county_station_operator, broken, **{"accept-language": "zh-CN"})
    assert "时区" in chinese.json()["error"]["message"]
    # No Accept-Language: the person's choice (the language cookie), else Chinese.
    assert "时区" in _upload(client, county_station_operator, broken).json()["error"]["message"]
    client.cookies["django_language"] = "en"
    assert "UTC offset" in _upload(client, county_station_operator, broken).json()["error"]["message"]


def test_the_console_keeps_the_chosen_language_whatever_the_browser_accepts(
    client: Client, county_station_operator: User
) -> None:
    client.force_login(county_station_operator)
    page = client.get("/alerts/import/", headers={"accept-language": "en"})
    assert page["Content-Language"] == "zh-hans"


def test_the_api_shows_an_imported_record_and_what_it_needs(client: Client, county_station_operator: User) -> None:
    expired = cap_file(
        "expired.xml",
        sent=now() - timedelta(days=2),
        effective=now() - timedelta(days=2),
        onset=now() - timedelta(days=2),
        expires=now() - timedelta(days=1),
    )
    response = _upload(client, county_station_operator, expired)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "expired"
    assert body["imported"]["history"] is True
    assert body["imported"]["identifier"] == "cn-gz-rj-qx-2026-0290"
    shapes = _upload(
        client,
        county_station_operator,
        cap_file("polygon-rainstorm.xml", sent=now(), expires=now() + timedelta(hours=6)),
    ).json()
    assert shapes["imported"]["needs_targets"] is True and shapes["targets"] == []
    assert shapes["imported"]["unclassified"] is False and shapes["event_code"] == "11B03"


# ---------------------------------------------------------------------------- item 7: the specification's examples


def _oasis(name: str) -> bytes:
    return (FILES / name).read_bytes()


def test_oasis_a1_homeland_security_advisory_is_a_record_of_a_social_security_event(
    do_import: Callable[[bytes], Alert],
) -> None:
    alert = do_import(_oasis("oasis-a1-homeland-security.xml"))
    assert alert.state == State.EXPIRED and record(alert).history  # sent in 2003
    assert alert.event_code == "40000" and alert.severity == 2 and alert.language == "eng"
    assert alert.title == "Homeland Security Sets Code ORANGE"
    assert record(alert).sender == "hsas@dhs.gov" and record(alert).identifier == "43b080713727"
    assert record(alert).areas == [
        {
            "desc": "U.S. nationwide and interests worldwide",
            "geocodes": [],
            "polygons": [],
            "circles": [],
            "regions": [],
        }
    ]


def test_oasis_a2_thunderstorm_warning_maps_same_svr_and_keeps_its_polygon(
    do_import: Callable[[bytes], Alert],
) -> None:
    alert = do_import(_oasis("oasis-a2-thunderstorm.xml"))
    assert alert.event_code == "11B14" and record(alert).event_mapping == "SAME=SVR"
    assert alert.expires == datetime.fromisoformat("2003-06-17T16:00:00-07:00")
    area = record(alert).areas[0]
    assert area["polygons"][0].startswith("38.47,-120.14") and area["regions"] == []
    assert area["geocodes"] == [["SAME", "006109"], ["SAME", "006009"], ["SAME", "006003"]]
    assert alert.text.endswith("TAKE COVER IN A SUBSTANTIAL SHELTER UNTIL THE STORM PASSES.")


def test_oasis_a3_earthquake_update_needs_its_original_and_then_links_to_it(
    do_import: Callable[[bytes], Alert], english: None
) -> None:
    message = refused(lambda: do_import(_oasis("oasis-a3-earthquake.xml")))
    assert "TRI13970876.1" in message and "no such message" in message
    original = do_import(_oasis("oasis-a3-earthquake-original.xml"))
    update = do_import(_oasis("oasis-a3-earthquake.xml"))
    assert update.msg_type == MsgType.UPDATE and update.references == original
    assert update.event_code == "11C00"
    # No expires: level 4 (Minor) is valid 24 hours from the onset (the sent time).
    assert update.expires - update.onset == timedelta(hours=24)
    assert record(update).areas[0]["circles"] == ["32.9525,-115.5527 0"]


def test_oasis_a4_amber_alert_keeps_the_spanish_block(do_import: Callable[[bytes], Alert]) -> None:
    alert = do_import(_oasis("oasis-a4-amber.xml"))
    assert alert.event_code == "40000" and record(alert).event_mapping == "SAME=CAE"
    assert alert.language == "eng" and alert.title == "Amber Alert in Los Angeles County"
    assert [o["language"] for o in record(alert).other_infos] == ["es-US"]
    assert record(alert).other_infos[0]["headline"] == "Alerta Amber en el condado de Los Ángeles"


# ---------------------------------------------------------------------------- round trip


def _canonical(xml: bytes) -> bytes:
    """The export with what a new message necessarily changes masked: our identifier and EBM id,
    the sent time (when the copy was drafted); then C14N 2.0 without insignificant whitespace."""
    root = etree.fromstring(xml)
    for path in ("cap:identifier", "cap:sent"):
        root.find(path, namespaces=NS).text = "*"  # type: ignore[union-attr]
    for parameter in root.findall("cap:info/cap:parameter", namespaces=NS):
        if parameter.findtext("cap:valueName", namespaces=NS) == "EBM-ID":
            parameter.find("cap:value", namespaces=NS).text = "*"  # type: ignore[union-attr]
    return etree.tostring(root, method="c14n2", strip_text=True)


@pytest.mark.parametrize("name", ["bilingual-flood.xml", "geocode-typhoon.xml", "future-onset.xml"])
def test_export_import_export_is_byte_stable_after_canonical_formatting(
    do_import: Callable[[bytes], Alert], name: str
) -> None:
    times = {"sent": now(), "onset": now() + timedelta(hours=1), "expires": now() + timedelta(hours=5)}
    if name == "future-onset.xml":
        times["effective"] = now()
    xml = Template((FILES / name).read_text(encoding="utf-8")).safe_substitute({k: _t(v) for k, v in times.items()})
    first = alert_to_cap(do_import(xml.encode()))
    second = alert_to_cap(do_import(first))
    assert _canonical(first) == _canonical(second)
    assert b"<identifier>*</identifier>" in _canonical(first)
