"""Alerts through the API and the console: same rules as the services, clear errors, exports, audio."""

import csv
import hashlib
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create
from ruralcast.alerts.models import Alert, Receipt, State
from ruralcast.alerts.services import AlertFields, alert_create
from ruralcast.messaging.models import OutboxMessage
from ruralcast.regions.models import Region
from ruralcast.terminals.services import terminal_register

pytestmark = pytest.mark.django_db


def _bearer(user: User) -> dict[str, str]:
    _token, secret = api_token_create(user=user, name="test")
    return {"Authorization": f"Bearer {secret}"}


def _body(rongjiang: Region, guzhou: Region, **overrides: object) -> dict[str, object]:
    now = timezone.now()
    body: dict[str, object] = {
        "issuer_region": rongjiang.code,
        "status": "Exercise",
        "event_code": "11B03",
        "severity": 2,
        "onset": now.isoformat(),
        "expires": (now + timedelta(hours=2)).isoformat(),
        "targets": [guzhou.code],
        "title": "暴雨橙色预警演练",
        "text": "请注意防范。",
    }
    body.update(overrides)
    return body


def _give_audio(alert: Alert) -> None:
    """Stand-in audio bytes in storage, so submit does not run espeak-ng (tested in the speech app)."""
    data = b"ID3" + bytes(range(256)) * 40
    digest = hashlib.sha256(data).hexdigest()
    name = default_storage.save(f"alerts/audio/{digest}.mp3", ContentFile(data))
    Alert.objects.filter(pk=alert.pk).update(
        audio_name=name, audio_sha256=digest, audio_bytes=len(data), audio_seconds=1.0
    )


def test_the_api_runs_the_two_person_workflow(
    client: Client, county_station_operator: User, county_alert_approver: User, rongjiang: Region, guzhou: Region
) -> None:
    operator, approver = _bearer(county_station_operator), _bearer(county_alert_approver)
    created = client.post(
        "/api/v1/alerts/", _body(rongjiang, guzhou), content_type="application/json", headers=operator
    )
    assert created.status_code == 201, created.content
    ebm_id = created.json()["ebm_id"]
    _give_audio(Alert.objects.get(ebm_id=ebm_id))
    submitted = client.post(f"/api/v1/alerts/{ebm_id}/submit", headers=operator).json()
    assert submitted["state"] == State.SUBMITTED
    version = client.get(f"/api/v1/alerts/{ebm_id}", headers=approver).json()["content_version"]
    assert version == submitted["content_version"]

    own = client.post(
        f"/api/v1/alerts/{ebm_id}/approve",
        {"confirm_status": "Exercise", "version": version},
        content_type="application/json",
        headers=operator,
    )
    assert own.status_code == 403
    assert own.json()["error"]["code"] == "forbidden"

    wrong = client.post(
        f"/api/v1/alerts/{ebm_id}/approve",
        {"confirm_status": "Actual", "version": version},
        content_type="application/json",
        headers=approver,
    )
    assert wrong.status_code == 400
    assert "confirm_status" in wrong.json()["error"]["fields"]

    approved = client.post(
        f"/api/v1/alerts/{ebm_id}/approve",
        {"confirm_status": "Exercise", "version": version},
        content_type="application/json",
        headers=approver,
    )
    assert approved.status_code == 200
    assert approved.json()["state"] == State.APPROVED
    assert OutboxMessage.objects.filter(key=ebm_id).count() == 1

    status = client.get(f"/api/v1/alerts/{ebm_id}/status", headers=approver).json()
    assert status["totals"]["targeted"] == 0


def test_api_input_errors_name_the_fields_and_write_nothing(
    client: Client, county_station_operator: User, rongjiang: Region, guzhou: Region
) -> None:
    body = _body(rongjiang, guzhou, severity=9, targets=["12345"], event_code="XXXXX")
    answer = client.post(
        "/api/v1/alerts/", body, content_type="application/json", headers=_bearer(county_station_operator)
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"]
    assert not Alert.objects.exists()


def test_a_viewer_sees_alerts_but_cannot_draft_them(
    client: Client, township_viewer: User, county_station_operator: User, rongjiang: Region, guzhou: Region
) -> None:
    answer = client.post(
        "/api/v1/alerts/", _body(rongjiang, guzhou), content_type="application/json", headers=_bearer(township_viewer)
    )
    assert answer.status_code == 403
    assert not Alert.objects.exists()


def _dispatched_with_receipts(
    operator: User, rongjiang: Region, guzhou: Region, fields_for: Callable[..., AlertFields]
) -> Alert:
    village = Region.objects.filter(parent=guzhou).order_by("code")[0]
    played, silent = terminal_register(actor=None, village=village), terminal_register(actor=None, village=village)
    alert = alert_create(actor=operator, issuer_region=rongjiang, fields=fields_for([guzhou]))
    Alert.objects.filter(pk=alert.pk).update(state=State.DISPATCHED, dispatched_at=timezone.now())
    for event in ("received", "started", "finished"):
        Receipt.objects.create(alert=alert, terminal_code=played.terminal.code, event=event)
    Receipt.objects.create(alert=alert, terminal_code="=cmd|'/c calc'!A1", event="rejected", reason="bad_signature")
    alert.refresh_from_db()
    assert silent.terminal.code
    return alert


def test_proof_of_broadcast_lists_every_targeted_terminal_in_csv_and_xlsx(
    client: Client,
    county_station_operator: User,
    rongjiang: Region,
    guzhou: Region,
    fields_for: Callable[..., AlertFields],
) -> None:
    alert = _dispatched_with_receipts(county_station_operator, rongjiang, guzhou, fields_for)
    client.force_login(county_station_operator)

    answer = client.get(f"/alerts/{alert.ebm_id}/proof.csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert sorted(row["outcome"] for row in rows) == ["played", "silent"]

    workbook = load_workbook(io.BytesIO(client.get(f"/alerts/{alert.ebm_id}/proof.xlsx").content))
    sheet = workbook.active
    assert sheet is not None
    assert sheet.max_row == 2 + len(rows)


def test_proof_of_broadcast_pdf_has_a_searchable_chinese_text_layer_with_every_terminal(
    client: Client,
    county_station_operator: User,
    rongjiang: Region,
    guzhou: Region,
    fields_for: Callable[..., AlertFields],
) -> None:
    alert = _dispatched_with_receipts(county_station_operator, rongjiang, guzhou, fields_for)
    client.force_login(county_station_operator)
    answer = client.get(f"/alerts/{alert.ebm_id}/proof.pdf")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert "播发证明" in text  # the heading, in Chinese: the font is embedded with a real text layer
    assert alert.title in text and alert.ebm_id in text
    for row in csv.DictReader(io.StringIO(client.get(f"/alerts/{alert.ebm_id}/proof.csv").content.decode("utf-8-sig"))):
        assert row["terminal"] in text


def test_proof_of_broadcast_in_an_unknown_format_is_a_404(
    client: Client,
    county_station_operator: User,
    rongjiang: Region,
    guzhou: Region,
    fields_for: Callable[..., AlertFields],
) -> None:
    alert = _dispatched_with_receipts(county_station_operator, rongjiang, guzhou, fields_for)
    client.force_login(county_station_operator)
    assert client.get(f"/alerts/{alert.ebm_id}/proof.docx").status_code == 404


def test_the_live_status_partial_counts_receipts_per_region(
    client: Client,
    county_station_operator: User,
    rongjiang: Region,
    guzhou: Region,
    fields_for: Callable[..., AlertFields],
) -> None:
    alert = _dispatched_with_receipts(county_station_operator, rongjiang, guzhou, fields_for)
    client.force_login(county_station_operator)
    page = client.get(f"/alerts/{alert.ebm_id}/status/").content.decode()
    assert 'data-count="targeted">2<' in page
    assert 'data-count="played">1<' in page
    assert 'data-count="silent">1<' in page
    assert 'id="alert-state"' in page and "hx-swap-oob" in page  # the state line follows the receipts


def test_alert_audio_is_served_with_ranges_and_long_caching(
    client: Client,
    county_station_operator: User,
    rongjiang: Region,
    guzhou: Region,
    fields_for: Callable[..., AlertFields],
) -> None:
    alert = alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields_for([guzhou]))
    _give_audio(alert)
    alert.refresh_from_db()
    url = f"/alerts/audio/{alert.audio_sha256}.mp3"
    with default_storage.open(alert.audio_name, "rb") as handle:
        data = handle.read()

    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.getvalue() == data
    assert "immutable" in whole["Cache-Control"] and whole["Accept-Ranges"] == "bytes"

    part = client.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and part.content == data[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert client.get(url, HTTP_RANGE="bytes=-5").content == data[-5:]
    assert client.get(url, HTTP_RANGE=f"bytes={len(data) + 10}-").status_code == 416
    assert client.get(url, HTTP_IF_NONE_MATCH=f'"{alert.audio_sha256}"').status_code == 304
    assert client.get("/alerts/audio/" + "0" * 64 + ".mp3").status_code == 404


def test_the_console_form_keeps_the_input_and_names_the_problem(
    client: Client, county_station_operator: User, rongjiang: Region, guzhou: Region
) -> None:
    client.force_login(county_station_operator)
    now = timezone.localtime()
    answer = client.post(
        "/alerts/new/",
        {
            "issuer_region": rongjiang.code,
            "status": "Exercise",
            "event_code": "11B03",
            "severity": "2",
            "urgency": "Immediate",
            "certainty": "Observed",
            "scope": "Public",
            "onset": now.strftime("%Y-%m-%dT%H:%M"),
            "expires": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "targets": guzhou.code,
            "title": "保留我的标题",
            "text": "正文",
            "volume": "80",
            "repeat": "2",
        },
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "保留我的标题" in page and guzhou.name in page
    assert not Alert.objects.exists()


def test_listing_messages_costs_the_same_few_queries_however_many_there_are(
    client: Client,
    county_station_operator: User,
    rongjiang: Region,
    guzhou: Region,
    fields_for: Callable[..., AlertFields],
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(12):
        alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields_for([guzhou]))
    headers = _bearer(county_station_operator)
    client.get("/api/v1/alerts/", headers=headers)  # warm caches (sessions, content types)
    with django_assert_max_num_queries(8):
        answer = client.get("/api/v1/alerts/", headers=headers)
    assert len(answer.json()["items"]) == 12
    assert all(item["targets"] == [guzhou.code] for item in answer.json()["items"])


def test_the_status_panel_lists_silent_terminals_by_their_village_not_only_their_code(
    client: Client,
    county_station_operator: User,
    rongjiang: Region,
    guzhou: Region,
    fields_for: Callable[..., AlertFields],
) -> None:
    alert = _dispatched_with_receipts(county_station_operator, rongjiang, guzhou, fields_for)
    client.force_login(county_station_operator)
    panel = client.get(f"/alerts/{alert.ebm_id}/status/").content.decode()
    listed = panel.split('class="silent-list">')[1].split("</ul>")[0]
    village = Region.objects.filter(parent=guzhou).order_by("code")[0]
    name, code = listed.removeprefix("<li>").split(" <small", 1)
    assert name.endswith(f"{rongjiang.name} / {guzhou.name} / {village.name}")  # the village's path first
    assert code.split(">", 1)[1].startswith("6")  # then its resource code, small
