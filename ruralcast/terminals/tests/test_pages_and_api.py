"""The registry through the console and the API: scoped lists, register, import report, export."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create
from ruralcast.messaging.ingest import ingest_batch
from ruralcast.messaging.topics import uplink_topic
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal
from ruralcast.terminals.services import terminal_register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def client(en_client: Client) -> Client:
    """Pages in English (the source language), as chosen with the language switch."""
    return en_client


def _bearer(user: User) -> dict[str, str]:
    _token, secret = api_token_create(user=user, name="test")
    return {"Authorization": f"Bearer {secret}"}


def _connected_then_dropped(code: str) -> None:
    """The terminal came online once (it is commissioned) and its connection then dropped: offline."""
    now = timezone.now()
    ingest_batch(
        [
            (uplink_topic(code, "status"), json.dumps({"terminal": code, "online": True}).encode(), now),
            (uplink_topic(code, "status"), b'{"online":false}', now),
        ]
    )


def test_the_console_lists_registers_and_shows_terminals(
    client: Client, county_station_operator: User, dashizi: Region
) -> None:
    _connected_then_dropped(terminal_register(actor=None, village=dashizi).terminal.code)  # commissioned, offline
    client.force_login(county_station_operator)
    page = client.get("/terminals/all/", {"status": "offline", "q": "6522632"})
    assert page.status_code == 200
    assert "65226321000010314010401" in page.content.decode()
    response = client.post(
        "/terminals/new/",
        {"village": dashizi.code, "kind": "4g_speaker", "model": "M-1", "latitude": "25.9", "longitude": "108.5"},
    )
    assert response.status_code == 302, response.content.decode()
    created = Terminal.objects.get(code="65226321000010314010402")
    assert (created.model, created.transport, created.is_provisioned) == ("M-1", "cellular", False)
    detail = client.get(f"/terminals/{created.code}/")
    assert "M-1" in detail.content.decode()
    bad = client.post("/terminals/new/", {"village": dashizi.code, "kind": "ip_speaker", "latitude": "99"})
    assert bad.status_code == 400 and "latitude" in bad.content.decode().lower()


def test_the_import_page_reports_bad_rows_and_imports_nothing(
    client: Client, county_station_operator: User, dashizi: Region
) -> None:
    client.force_login(county_station_operator)
    data = f"village_code,kind\n{dashizi.code},ip_speaker\n{dashizi.code},radio\n".encode()
    response = client.post("/terminals/import/", {"file": SimpleUploadedFile("t.csv", data)})
    assert response.status_code == 400
    assert "Nothing was imported" in response.content.decode()
    assert not Terminal.objects.filter(village=dashizi).exists()
    response = client.post("/terminals/import/", {"file": SimpleUploadedFile("t.csv", data), "valid_only": "on"})
    assert response.status_code == 200 and Terminal.objects.filter(village=dashizi).count() == 1


def test_exports_follow_the_filters(client: Client, township_viewer: User, dashizi: Region) -> None:
    terminal_register(actor=None, village=dashizi)
    terminal_register(actor=None, village=Region.objects.get(code="522632101001"))  # outside the viewer's township
    client.force_login(township_viewer)
    text = client.get("/terminals/export.csv").content.decode("utf-8-sig")
    assert text.count("\n") == 2 and dashizi.code in text
    assert client.get("/terminals/export.xlsx")["Content-Type"].startswith("application/vnd.openxml")
    assert client.get("/terminals/export.pdf").status_code == 404


def test_an_xlsx_bomb_is_refused_unread_by_the_import_page_and_the_api(
    client: Client, county_station_operator: User
) -> None:
    from ruralcast.core.tests.archive_bombs import xlsx_bomb

    bomb = xlsx_bomb(header=("village_code", "name"))
    client.force_login(county_station_operator)
    page = client.post("/terminals/import/", {"file": SimpleUploadedFile("t.xlsx", bomb)})
    # The page answers like the API (413: the content, unpacked, is too large) and keeps its form.
    assert page.status_code == 413 and "xl/sharedStrings.xml" in page.content.decode()
    assert 'name="file"' in page.content.decode()
    api = client.post("/api/v1/terminals/import", {"file": SimpleUploadedFile("t.xlsx", bomb)})
    assert api.status_code == 413
    assert api.json()["error"]["code"] == "archive_limits" and "file" in api.json()["error"]["fields"]
    assert not Terminal.objects.exists()


def test_a_viewer_cannot_register_or_import(client: Client, township_viewer: User) -> None:
    client.force_login(township_viewer)
    assert client.get("/terminals/new/").status_code == 403
    assert client.get("/terminals/import/").status_code == 403


def test_the_api_lists_registers_edits_and_imports(
    client: Client, county_station_operator: User, township_viewer: User, dashizi: Region
) -> None:
    headers = _bearer(county_station_operator)
    created = client.post(
        "/api/v1/terminals/",
        {"village": dashizi.code, "kind": "smart_speaker", "model": "XM"},
        content_type="application/json",
        headers=headers,
    )
    assert created.status_code == 201, created.content
    code = created.json()["code"]
    assert created.json()["transport"] == "wifi" and created.json()["state"]["online"] is False
    edited = client.put(
        f"/api/v1/terminals/{code}",
        {"kind": "smart_speaker", "model": "XM-2", "firmware": "1.0"},
        content_type="application/json",
        headers=headers,
    )
    assert edited.status_code == 200 and edited.json()["model"] == "XM-2"
    listed = client.get("/api/v1/terminals/", {"kind": "smart_speaker"}, headers=_bearer(township_viewer))
    assert [t["code"] for t in listed.json()["items"]] == [code]
    refused = client.put(
        f"/api/v1/terminals/{code}",
        {"kind": "ip_speaker"},
        content_type="application/json",
        headers=_bearer(township_viewer),
    )
    assert refused.status_code == 404  # a viewer's scope for control is empty: the terminal is not there for them
    bad = client.post(
        "/api/v1/terminals/import",
        {"file": SimpleUploadedFile("t.csv", b"village_code\n123\n")},
        headers=headers,
    )
    assert bad.status_code == 400 and bad.json()["rows"][0]["errors"]
    ok = client.post(
        "/api/v1/terminals/import",
        {"file": SimpleUploadedFile("t.csv", io.BytesIO(f"village_code\n{dashizi.code}\n".encode()).read())},
        headers=headers,
    )
    assert ok.status_code == 200 and len(ok.json()["created"]) == 1
    exported = client.get("/api/v1/terminals/export.csv", headers=headers)
    assert exported.status_code == 200 and code in exported.content.decode()


def test_the_import_template_names_every_column_in_both_languages_and_imports_back(
    client: Client, county_station_operator: User, dashizi: Region
) -> None:
    from openpyxl import Workbook, load_workbook

    client.force_login(county_station_operator)
    page = client.get("/terminals/import/").content.decode()
    assert "行政村代码" in page and "<code>village_code</code>" in page and "/terminals/import/template.xlsx" in page
    csv_header = client.get("/terminals/import/template.csv").content.decode("utf-8-sig").strip()
    assert csv_header.startswith("资源编码 (code),行政村代码 (village_code),")
    template = client.get("/terminals/import/template.xlsx")
    assert template["Content-Type"].startswith("application/vnd.openxml")
    book = load_workbook(io.BytesIO(template.content))
    header = [cell.value for cell in book.worksheets[0][1]]
    assert "维护人 (maintainer)" in header and book.worksheets[1].max_row == 14  # a line per column
    # The operator fills the template in: the bilingual header reads back.
    filled = Workbook()
    sheet = filled.active
    assert sheet is not None
    sheet.append(header)
    sheet.append(["", dashizi.code, "村口", "IP loudspeaker column"])
    output = io.BytesIO()
    filled.save(output)
    response = client.post("/terminals/import/", {"file": SimpleUploadedFile("t.xlsx", output.getvalue())})
    assert response.status_code == 200, response.content.decode()[:2000]
    assert Terminal.objects.get(village=dashizi).name == "村口"
    assert client.get("/terminals/import/template.pdf").status_code == 404


def test_a_terminals_page_shows_its_history_newest_first_each_section_paginated(
    client: Client, county_station_operator: User, dashizi: Region, rongjiang: Region
) -> None:
    import json
    from datetime import timedelta

    from django.utils import timezone

    from ruralcast.alerts.models import Receipt
    from ruralcast.alerts.services import AlertFields, alert_create
    from ruralcast.maintenance.rules import work_orders_sync
    from ruralcast.messaging.ingest import ingest_batch
    from ruralcast.messaging.topics import uplink_topic
    from ruralcast.terminals.commands import command_send

    terminal = terminal_register(actor=None, village=dashizi).terminal
    for _ in range(11):
        command_send(actor=county_station_operator, kind="time_sync", terminals=[terminal])
    command_send(actor=county_station_operator, kind="reboot", regions=[rongjiang])  # with the whole county
    body = {"terminal": terminal.code, "online": True, "at": timezone.now().isoformat(), "speaker": "fault"}
    ingest_batch([(uplink_topic(terminal.code, "status"), json.dumps(body).encode(), timezone.now())])
    work_orders_sync()
    now = timezone.now()
    alert = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=AlertFields(
            status="Exercise", event_code="11B03", severity=2, title="暴雨演练", text="演练", onset=now,
            expires=now + timedelta(hours=2), targets=[rongjiang],
        ),
    )  # fmt: skip
    Receipt.objects.create(alert=alert, terminal_code=terminal.code, event="finished")

    client.force_login(county_station_operator)
    page = client.get(f"/terminals/{terminal.code}/").content.decode()
    history = page.split("data-terminal-history")[1]
    commands = history.split('data-history="commands"')[1].split('data-history="status"')[0]
    assert commands.index("Reboot") < commands.index("Time sync")  # newest first
    assert commands.count("Time sync") == 9 and "commands_page=2" in commands  # ten to a page
    status = history.split('data-history="status"')[1].split('data-history="work_orders"')[0]
    assert "Came online" in status and "Faults changed" in status
    assert "Speaker fault" in history.split('data-history="work_orders"')[1]
    assert "暴雨演练" in history.split('data-history="alerts"')[1] and "Playback finished" in history
    second = client.get(f"/terminals/{terminal.code}/", {"commands_page": 2}).content.decode()
    assert second.split('data-history="commands"')[1].split('data-history="status"')[0].count("Time sync") == 2
