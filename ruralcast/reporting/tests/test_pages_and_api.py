"""Reporting through the console and the API: scope, entry, upload report, exports, circular PDF."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader

from ruralcast.accounts.roles import Role
from ruralcast.accounts.services import api_token_create
from ruralcast.notifications.models import Notification
from ruralcast.regions.selectors import region_get
from ruralcast.reporting.models import Approval, Circular, DataElement, DataValue, Indicator, Post
from ruralcast.reporting.services import circular_create, post_create, values_save

PERIOD = "2026-03"
METADATA = Path(settings.BASE_DIR) / "data" / "reporting" / "metadata.json"


def _bearer(user):  # type: ignore[no-untyped-def]
    _token, secret = api_token_create(user=user, name="test")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def operator_client(county_station_operator):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(county_station_operator)
    return client


def test_every_reporting_page_opens_for_a_county_operator(operator_client, broadcast_set, rongjiang, dashizi):  # type: ignore[no-untyped-def]
    pages = [
        "/reporting/",
        f"/reporting/entry/{broadcast_set.code}/?region={rongjiang.code}&period={PERIOD}",
        f"/reporting/entry/{broadcast_set.code}/?region={dashizi.code}&period={PERIOD}",
        f"/reporting/entry/{broadcast_set.code}/upload/?region={rongjiang.code}&period={PERIOD}",
        f"/reporting/completeness/{broadcast_set.code}/?region={rongjiang.code}&period={PERIOD}",
        f"/reporting/approval/{broadcast_set.code}/?region={rongjiang.code}&period={PERIOD}",
        f"/reporting/pivot/?region={rongjiang.code}&item=online_rate&item=terminals_online&period={PERIOD}&count=3",
        f"/reporting/dashboard/?region={rongjiang.code}&line=6&period={PERIOD}&count=3",
        "/reporting/circulars/",
        "/reporting/posts/",
    ]
    for page in pages:
        response = operator_client.get(page)
        assert response.status_code == 200, page


def test_a_county_user_cannot_see_or_enter_another_county(operator_client, broadcast_set, congjiang, congjiang_village):  # type: ignore[no-untyped-def]
    for page in (
        f"/reporting/pivot/?region={congjiang.code}",
        f"/reporting/completeness/{broadcast_set.code}/?region={congjiang.code}&period={PERIOD}",
        f"/reporting/dashboard/?region={congjiang.code}",
    ):
        assert operator_client.get(page).status_code == 403, page
    response = operator_client.post(
        f"/reporting/entry/{broadcast_set.code}/?region={congjiang_village.code}&period={PERIOD}",
        {"terminals_planned": "3"},
    )
    assert response.status_code == 403
    assert not DataValue.objects.exists()


def test_entry_form_keeps_what_was_typed_and_marks_the_rule(operator_client, broadcast_set, dashizi):  # type: ignore[no-untyped-def]
    url = f"/reporting/entry/{broadcast_set.code}/?region={dashizi.code}&period={PERIOD}"
    response = operator_client.post(url, {"terminals_planned": "2", "terminals_online": "7"})
    assert response.status_code == 400
    assert 'value="7"' in response.content.decode()
    assert operator_client.post(url, {"terminals_planned": "9", "terminals_online": "7"}).status_code == 302
    assert DataValue.objects.filter(region=dashizi).count() == 2


def test_upload_page_lists_broken_cells(operator_client, broadcast_set, rongjiang, dashizi):  # type: ignore[no-untyped-def]
    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(["region_code", "region_name", "terminals_planned", "terminals_online"])
    sheet.append([dashizi.code, "", "many", 1])
    data = io.BytesIO()
    book.save(data)
    response = operator_client.post(
        f"/reporting/entry/{broadcast_set.code}/upload/?region={rongjiang.code}",
        {"period": PERIOD, "file": SimpleUploadedFile("x.xlsx", data.getvalue())},
    )
    assert response.status_code == 400
    assert "<code>C2</code>" in response.content.decode()


def test_pivot_exports_to_xlsx_and_csv(operator_client, broadcast_set, county_station_operator, dashizi, guzhou):  # type: ignore[no-untyped-def]
    values_save(
        actor=county_station_operator,
        data_set=broadcast_set,
        period=PERIOD,
        region=dashizi,
        raw={"terminals_planned": "5"},
    )
    base = f"/reporting/pivot/?region={guzhou.code}&item=terminals_planned&period={PERIOD}&count=1"
    book = load_workbook(io.BytesIO(operator_client.get(base + "&format=xlsx").content))
    rows = list(book.active.values)
    assert len(rows[0]) == 3  # code, region, one column for the one period
    assert (dashizi.code, dashizi.name, 5) in [tuple(r[:3]) for r in rows]
    text = operator_client.get(base + "&format=csv").content.decode("utf-8-sig")
    assert [dashizi.code, dashizi.name, "5.0"] in list(csv.reader(io.StringIO(text)))


def test_circular_pdf_has_a_chinese_text_layer(
    operator_client, county_bureau_admin, broadcast_set, county_station_operator, dashizi, rongjiang
):  # type: ignore[no-untyped-def]
    values_save(
        actor=county_station_operator,
        data_set=broadcast_set,
        period=PERIOD,
        region=dashizi,
        raw={"terminals_planned": "5"},
    )
    circular = circular_create(
        actor=county_bureau_admin,
        region=rongjiang,
        period=PERIOD,
        title="榕江县智慧广电专项扶贫工作进展通报",
        body="各乡镇要按时报送。",
    )
    client = Client()
    client.force_login(county_bureau_admin)
    page = client.get(f"/reporting/circulars/{circular.pk}/")
    assert "榕江县智慧广电专项扶贫工作进展通报" in page.content.decode()
    response = client.get(f"/reporting/circulars/{circular.pk}/circular.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "榕江县智慧广电专项扶贫工作进展通报" in text.replace("\n", "")
    assert "古州镇" in text  # the ranking of townships
    assert "各乡镇要按时报送" in text


def test_only_approvers_write_circulars(operator_client, rongjiang):  # type: ignore[no-untyped-def]
    response = operator_client.post("/reporting/circulars/", {"region": rongjiang.code, "period": PERIOD, "title": "x"})
    assert response.status_code == 403
    assert not Circular.objects.exists()


def test_work_dynamics_post_with_an_attachment(operator_client, rongjiang, congjiang, neighbour_county_bureau_admin):  # type: ignore[no-untyped-def]
    response = operator_client.post(
        "/reporting/posts/",
        {
            "region": rongjiang.code,
            "line": "6",
            "title": "榕江县完成村村响终端巡检",
            "body": "本月完成252个行政村终端巡检。",
            "files": SimpleUploadedFile("巡检表.csv", "村,状态\n".encode()),
        },
    )
    assert response.status_code == 302
    post = Post.objects.get()
    attachment = post.attachments.get()
    download = operator_client.get(f"/reporting/posts/{post.pk}/files/{attachment.pk}/")
    assert download.getvalue().decode() == "村,状态\n"
    other = Client()
    other.force_login(neighbour_county_bureau_admin)
    assert other.get(f"/reporting/posts/{post.pk}/").status_code == 404
    with pytest.raises(Exception):  # noqa: B017 - PermissionDenied from the service
        post_create(actor=neighbour_county_bureau_admin, region=rongjiang, line=6, title="x", body="y")


def test_an_attachment_named_html_is_a_download_of_unknown_type_never_a_page(operator_client, rongjiang):  # type: ignore[no-untyped-def]
    markup = b"<html><script>alert(document.cookie)</script></html>"
    files = [SimpleUploadedFile("x.html", markup, content_type="text/html"), SimpleUploadedFile("r.pdf", b"%PDF-1.4\n")]
    response = operator_client.post(
        "/reporting/posts/", {"region": rongjiang.code, "line": "6", "title": "t", "body": "b", "files": files}
    )
    assert response.status_code == 302
    post = Post.objects.get()
    html, pdf = post.attachments.order_by("name").reverse()
    assert (html.name, html.content_type, pdf.content_type) == ("x.html", "application/octet-stream", "application/pdf")
    assert not html.file.name.endswith(".html"), "stored under a name the platform chose"
    download = operator_client.get(f"/reporting/posts/{post.pk}/files/{html.pk}/")
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == 'attachment; filename="x.html"'
    assert download["X-Content-Type-Options"] == "nosniff" and "sandbox" in download["Content-Security-Policy"]
    assert download.getvalue() == markup
    shown = operator_client.get(f"/reporting/posts/{post.pk}/files/{pdf.pk}/")
    assert shown["Content-Type"] == "application/pdf" and shown["Content-Disposition"].startswith("attachment")


def test_api_enters_reads_aggregates_and_approves(
    county_station_operator, broadcast_set, dashizi, liziyuan, guzhou, rongjiang, client
):  # type: ignore[no-untyped-def]
    headers = _bearer(county_station_operator)
    for village, planned in ((dashizi, 4), (liziyuan, 6)):
        response = client.post(
            f"/api/v1/reporting/data-sets/{broadcast_set.code}/values",
            {"region": village.code, "period": PERIOD, "values": {"terminals_planned": planned}},
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 200, response.content
    bad = client.post(
        f"/api/v1/reporting/data-sets/{broadcast_set.code}/values",
        {"region": dashizi.code, "period": PERIOD, "values": {"terminals_online": 99}},
        content_type="application/json",
        headers=headers,
    )
    assert bad.status_code == 400
    assert "terminals_online" in bad.json()["error"]["fields"]
    data = client.get(
        "/api/v1/reporting/aggregate",
        {"region": rongjiang.code, "items": "terminals_planned", "periods": PERIOD},
        headers=headers,
    ).json()
    cells = {(c["region"], c["item"]): c["value"] for c in data["cells"]}
    assert cells[(guzhou.code, "terminals_planned")] == 10
    assert cells[(rongjiang.code, "terminals_planned")] == 10
    step = client.post(
        f"/api/v1/reporting/data-sets/{broadcast_set.code}/approval",
        {"region": rongjiang.code, "period": PERIOD, "step": "advance"},
        content_type="application/json",
        headers=headers,
    )
    assert step.json() == {"region": rongjiang.code, "period": PERIOD, "state": "submitted"}
    locked = client.post(
        f"/api/v1/reporting/data-sets/{broadcast_set.code}/values",
        {"region": dashizi.code, "period": PERIOD, "values": {"terminals_planned": 1}},
        content_type="application/json",
        headers=headers,
    )
    assert locked.status_code == 409
    assert (
        client.get(
            "/api/v1/reporting/aggregate",
            {"region": "522633000000", "items": "terminals_planned", "periods": PERIOD},
            headers=headers,
        ).status_code
        == 403
    )


def test_pivot_as_a_ranking_table(operator_client, broadcast_set, county_station_operator, dashizi, liziyuan, guzhou):  # type: ignore[no-untyped-def]
    for village, planned in ((dashizi, 5), (liziyuan, 9)):
        values_save(
            actor=county_station_operator,
            data_set=broadcast_set,
            period=PERIOD,
            region=village,
            raw={"terminals_planned": str(planned)},
        )
    page = operator_client.get(
        f"/reporting/pivot/?region={guzhou.code}&item=terminals_planned&period={PERIOD}&count=1&sort=rank"
    ).content.decode()
    first, second = page.index(liziyuan.name), page.index(dashizi.name)
    assert first < second  # 9 before 5, whatever the codes say


def test_api_circulars_are_written_by_approvers_and_read_as_pdf(
    county_bureau_admin, county_station_operator, rongjiang, client
):  # type: ignore[no-untyped-def]
    body = {"region": rongjiang.code, "period": PERIOD, "title": "榕江县三月通报"}
    refused = client.post(
        "/api/v1/reporting/circulars", body, content_type="application/json", headers=_bearer(county_station_operator)
    )
    assert refused.status_code == 403
    headers = _bearer(county_bureau_admin)
    created = client.post("/api/v1/reporting/circulars", body, content_type="application/json", headers=headers)
    assert created.status_code == 201
    listed = client.get("/api/v1/reporting/circulars", headers=headers).json()
    assert [c["title"] for c in listed["items"]] == ["榕江县三月通报"]
    pdf = client.get(f"/api/v1/reporting/circulars/{created.json()['id']}.pdf", headers=headers)
    assert "榕江县三月通报" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


def test_approval_page_submits_and_the_city_sends_back(operator_client, consumption_set, rongjiang, make_user):  # type: ignore[no-untyped-def]
    url = f"/reporting/approval/{consumption_set.code}/?region={rongjiang.code}&period={PERIOD}"
    form = {"target": rongjiang.code, "region": rongjiang.code, "period": PERIOD}
    assert operator_client.post(url, {**form, "step": "advance"}).status_code == 302
    assert Approval.objects.get(region=rongjiang).state == "submitted"
    assert "县级已上报" in operator_client.get(url).content.decode()  # the console speaks Chinese by default
    city = Client()
    city.force_login(make_user(role=Role.BUREAU_ADMIN, region=region_get(code="522600000000")))
    city.post(url, {**form, "step": "revoke", "reason": ""})  # no reason: refused with a message
    assert Approval.objects.filter(region=rongjiang).exists()
    city.post(url, {**form, "step": "revoke", "reason": "数据待核实"})
    assert not Approval.objects.filter(region=rongjiang).exists()


def test_the_county_sees_who_sent_its_report_back_when_and_why_until_it_submits_again(  # type: ignore[no-untyped-def]
    operator_client, county_station_operator, consumption_set, rongjiang, make_user
):
    approval_url = f"/reporting/approval/{consumption_set.code}/?region={rongjiang.code}&period={PERIOD}"
    entry_url = f"/reporting/entry/{consumption_set.code}/?region={rongjiang.code}&period={PERIOD}"
    form = {"target": rongjiang.code, "region": rongjiang.code, "period": PERIOD}
    operator_client.post(approval_url, {**form, "step": "advance"})
    sender = make_user(role=Role.BUREAU_ADMIN, region=region_get(code="522600000000"), username="qdn-li")
    sender.first_name = "李明"
    sender.save(update_fields=["first_name"])
    city = Client()
    city.force_login(sender)
    city.post(approval_url, {**form, "step": "revoke", "reason": "交易额与台账不符"})
    for url in (entry_url, approval_url):
        page = operator_client.get(url).content.decode()
        assert "data-send-back" in page and "交易额与台账不符" in page and "李明 (qdn-li)" in page, url
        assert timezone.localtime().strftime("%Y-%m-%d") in page
    told = Notification.objects.get(recipient=county_station_operator, kind="report.sent_back")
    assert "交易额与台账不符" in told.body
    operator_client.post(approval_url, {**form, "step": "advance"})  # submitted again: the notice has done its work
    assert "data-send-back" not in operator_client.get(entry_url).content.decode()


def test_api_completeness_names_who_has_not_reported(county_station_operator, broadcast_set, dashizi, guzhou, client):  # type: ignore[no-untyped-def]
    values_save(
        actor=county_station_operator,
        data_set=broadcast_set,
        period=PERIOD,
        region=dashizi,
        raw={"terminals_planned": "2"},
    )
    data = client.get(
        f"/api/v1/reporting/data-sets/{broadcast_set.code}/completeness",
        {"region": guzhou.code, "period": PERIOD},
        headers=_bearer(county_station_operator),
    ).json()
    assert data["reported"] == 1
    assert data["expected"] == data["reported"] + len(data["missing"])
    assert dashizi.code not in data["missing"]
    assert data["deadline"] == "2026-04-07"


def test_api_metadata_is_written_at_the_national_level_only(
    metadata, national_bureau_admin, county_bureau_admin, client
):  # type: ignore[no-untyped-def]
    document = {
        "elements": [
            {"code": "radio_hours", "name": "广播时长", "line": 1, "aggregation": "sum"},
            {"code": "radio_days", "name": "广播天数", "line": 1, "aggregation": "sum"},
        ],
        "data_sets": [
            {
                "code": "radio-monthly",
                "name": "广播月报",
                "line": 1,
                "period_type": "monthly",
                "elements": ["radio_hours", "radio_days"],
            }
        ],
        "indicators": [{"code": "hours_per_day", "name": "日均时长", "line": 1, "formula": "radio_hours / radio_days"}],
    }
    refused = client.post(
        "/api/v1/reporting/metadata", document, content_type="application/json", headers=_bearer(county_bureau_admin)
    )
    assert refused.status_code == 403
    headers = _bearer(national_bureau_admin)
    bad = {**document, "indicators": [{"code": "x", "name": "x", "line": 1, "formula": "__import__('os')"}]}
    assert (
        client.post("/api/v1/reporting/metadata", bad, content_type="application/json", headers=headers).status_code
        == 400
    )
    unknown = {**document, "data_sets": [{**document["data_sets"][0], "elements": ["nope"]}]}
    answer = client.post("/api/v1/reporting/metadata", unknown, content_type="application/json", headers=headers)
    assert answer.status_code == 400
    assert "data_sets.0.elements" in answer.json()["error"]["fields"]
    assert not DataElement.objects.filter(code="radio_hours").exists()  # nothing half-written
    created = client.post("/api/v1/reporting/metadata", document, content_type="application/json", headers=headers)
    assert created.json() == {"elements": 2, "data_sets": 1, "validation_rules": 0, "indicators": 1}
    assert Indicator.objects.get(code="hours_per_day").formula == "radio_hours / radio_days"


def test_an_xlsx_bomb_is_refused_unread_with_413_naming_the_limit(operator_client, broadcast_set, rongjiang):  # type: ignore[no-untyped-def]
    from ruralcast.core.tests.archive_bombs import xlsx_bomb

    bomb = xlsx_bomb(header=("region_code", "region_name", "terminals_planned", "terminals_online"))
    response = operator_client.post(
        f"/reporting/entry/{broadcast_set.code}/upload/?region={rongjiang.code}",
        {"period": PERIOD, "file": SimpleUploadedFile("x.xlsx", bomb)},
    )
    assert response.status_code == 413
    assert "xl/sharedStrings.xml" in response.content.decode()
    assert not DataValue.objects.exists()


def test_an_english_reader_sees_data_sets_elements_and_units_in_english_and_a_chinese_one_in_chinese(  # type: ignore[no-untyped-def]
    operator_client, consumption_set, rongjiang
):
    shipped = json.loads(METADATA.read_text(encoding="utf-8"))
    for section, keys in (("data_sets", ("name_en",)), ("elements", ("name_en", "unit_en"))):
        missing = [item["code"] for item in shipped[section] if any(not item.get(k) and item.get(k[:-3]) for k in keys)]
        assert missing == [], f"{section} without English: {missing}"
    entry = f"/reporting/entry/{consumption_set.code}/?region={rongjiang.code}&period={PERIOD}"
    chinese = operator_client.get(entry).content.decode()
    assert "消费扶贫月报" in chinese and "交易额" in chinese and "元/公斤" in chinese
    operator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = operator_client.get(entry).content.decode()
    assert "Consumption support, monthly" in english and "Transaction volume" in english and "yuan/kg" in english
    assert "消费扶贫月报" not in english and "元/公斤" not in english
    index = operator_client.get("/reporting/").content.decode()
    assert "Terminal online rate" in index and "终端在线率" not in index


def test_approval_buttons_say_what_they_do_and_a_step_that_would_fail_is_disabled_with_the_reason(
    operator_client, consumption_set, rongjiang, make_user
):  # type: ignore[no-untyped-def]
    url = f"/reporting/approval/{consumption_set.code}/?region={rongjiang.code}&period={PERIOD}"
    page = operator_client.get(url).content.decode()
    assert "data-confirmation" in page and "榕江县" in page and "古州镇" in page  # the regions whose entry locks
    assert 'data-confirm="榕江县' in page and " disabled" not in page.split("data-approval-advance")[1][:3000]
    city_code = "522600000000"
    city = Client()
    city.force_login(make_user(role=Role.BUREAU_ADMIN, region=region_get(code=city_code)))
    city_page = city.get(
        f"/reporting/approval/{consumption_set.code}/?region={city_code}&period={PERIOD}"
    ).content.decode()
    advance = city_page.split("data-approval-advance")[1]
    assert "disabled" in advance and "data-confirmation-blocked" in advance and "榕江县" in advance
