"""Console pages through Django's test client: login and its rate limit, the dashboard, friendly
error pages, a form that keeps what was typed, the audit CSV export and the region picker.

Pages are requested by someone who chose English with the language switch (`en_client`), so the
assertions can quote the English source strings.
"""

import csv
import io
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from ruralcast.accounts.demo import random_password
from ruralcast.accounts.models import User
from ruralcast.accounts.services import user_create
from ruralcast.audit.models import AuditEvent
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def text(response: Any) -> str:
    return response.content.decode()


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def assert_friendly_error_page(response: Any, status: int) -> str:
    assert response.status_code == status
    body = text(response)
    assert 'class="error-page"' in body
    assert f'<p class="error-code">{status}</p>' in body
    assert "Traceback" not in body
    return body


# ---------------------------------------------------------------------------- login


def test_login_page_renders(en_client: Client) -> None:
    response = en_client.get(LOGIN)
    assert response.status_code == 200
    body = text(response)
    assert 'name="username"' in body and 'name="password"' in body
    assert "csrfmiddlewaretoken" in body


def test_anonymous_visitors_are_sent_to_the_login_page(en_client: Client) -> None:
    response = en_client.get("/")
    assert response.status_code == 302
    assert response["location"].startswith(LOGIN)


def test_a_wrong_password_is_refused_with_a_clear_message(en_client: Client, township_viewer: User) -> None:
    response = en_client.post(LOGIN, {"username": township_viewer.username, "password": "Not-the-password-1"})
    assert response.status_code == 200
    assert "Wrong username or password" in text(response)
    assert not logged_in(en_client)


def test_repeated_wrong_passwords_lock_the_account_even_against_the_right_password(
    en_client: Client, township_viewer: User
) -> None:
    limit = settings.RURALCAST_LOGIN_LOCKOUT["free_failures"]
    assert limit == 5
    statuses = []
    for _attempt in range(10):
        response = en_client.post(LOGIN, {"username": township_viewer.username, "password": "Not-the-password-1"})
        statuses.append(response.status_code)
    # Failures below the limit get the ordinary "wrong password" form. The failure that reaches the
    # limit is answered with the lockout page already, and every later attempt is refused outright.
    assert statuses == [200] * (limit - 1) + [429] * (10 - limit + 1)
    assert "Too many failed attempts" in text(response)
    # The lock started at the fifth failure; on a loaded machine a second or more can pass by the tenth.
    assert "Try again in 1 min" in text(response) and 50 <= int(response["Retry-After"]) <= 60

    right = en_client.post(LOGIN, {"username": township_viewer.username, "password": township_viewer.raw_password})  # type: ignore[attr-defined]
    assert right.status_code == 429
    assert "Too many failed attempts" in text(right)
    assert not logged_in(en_client)
    assert en_client.get("/").status_code == 302


def test_a_locked_out_username_does_not_lock_out_colleagues(
    en_client: Client, township_viewer: User, county_station_operator: User
) -> None:
    for _attempt in range(settings.RURALCAST_LOGIN_LOCKOUT["free_failures"]):
        en_client.post(LOGIN, {"username": township_viewer.username, "password": "Not-the-password-1"})
    response = en_client.post(
        LOGIN,
        {"username": county_station_operator.username, "password": county_station_operator.raw_password},  # type: ignore[attr-defined]
    )
    assert response.status_code == 302
    assert logged_in(en_client)


def test_a_deactivated_user_cannot_log_in(en_client: Client, deactivated_operator: User) -> None:
    response = en_client.post(
        LOGIN,
        {"username": deactivated_operator.username, "password": deactivated_operator.raw_password},  # type: ignore[attr-defined]
    )
    assert response.status_code == 200
    assert not logged_in(en_client)


def test_successful_login_lands_on_the_dashboard_showing_the_users_roles(
    en_client: Client, township_station_operator: User, guzhou: Region
) -> None:
    response = en_client.post(
        LOGIN,
        {"username": township_station_operator.username, "password": township_station_operator.raw_password},  # type: ignore[attr-defined]
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/"
    assert response.status_code == 200
    body = text(response)
    assert "Your roles" in body
    assert "Station operator" in body
    assert f'href="/regions/{guzhou.code}/">{guzhou.name}</a>' in body


# ---------------------------------------------------------------------------- friendly errors


def test_a_viewer_gets_a_friendly_403_page_on_the_users_page(en_client: Client, township_viewer: User) -> None:
    en_client.force_login(township_viewer)
    body = assert_friendly_error_page(en_client.get("/accounts/users/"), 403)
    assert "Not allowed" in body


def test_a_bureau_admin_sees_the_users_of_the_county(
    en_client: Client, county_bureau_admin: User, township_viewer: User, neighbour_county_bureau_admin: User
) -> None:
    en_client.force_login(county_bureau_admin)
    response = en_client.get("/accounts/users/")
    assert response.status_code == 200
    assert township_viewer.username in text(response)
    assert neighbour_county_bureau_admin.username not in text(response)


def test_an_unknown_region_code_gives_a_friendly_404_page(en_client: Client, township_viewer: User) -> None:
    en_client.force_login(township_viewer)
    body = assert_friendly_error_page(en_client.get("/regions/529999000000/"), 404)
    assert "529999000000" in body


def test_a_malformed_region_code_gives_a_friendly_400_page(en_client: Client, township_viewer: User) -> None:
    en_client.force_login(township_viewer)
    body = assert_friendly_error_page(en_client.get("/regions/52263/"), 400)
    assert "12-digit" in body


def test_a_region_outside_ones_grants_gives_a_friendly_403_page(en_client: Client, township_viewer: User) -> None:
    en_client.force_login(township_viewer)
    assert_friendly_error_page(en_client.get("/regions/522633000000/"), 403)


def test_a_region_inside_ones_grants_is_shown(en_client: Client, township_viewer: User, dashizi: Region) -> None:
    en_client.force_login(township_viewer)
    response = en_client.get(f"/regions/{dashizi.code}/")
    assert response.status_code == 200
    assert dashizi.name in text(response)


# ---------------------------------------------------------------------------- forms


def test_the_user_form_with_a_weak_password_keeps_the_username_and_creates_nothing(
    en_client: Client, county_bureau_admin: User
) -> None:
    en_client.force_login(county_bureau_admin)
    users, events = User.objects.count(), AuditEvent.objects.count()
    response = en_client.post(
        "/accounts/users/new/",
        {"username": "typed-name", "full_name": "李四", "home_region": "522632100000", "password": "short"},
    )
    assert response.status_code in (200, 400)  # form shown again: 200 today, 400 like other forms would do
    body = text(response)
    assert 'value="typed-name"' in body
    assert 'value="李四"' in body
    assert "too short" in body
    assert (User.objects.count(), AuditEvent.objects.count()) == (users, events)


def test_the_user_form_creates_the_user_and_redirects_to_them(en_client: Client, county_bureau_admin: User) -> None:
    en_client.force_login(county_bureau_admin)
    response = en_client.post(
        "/accounts/users/new/",
        {"username": "form-made", "home_region": "522632100000", "password": random_password(username="form-made")},
    )
    assert response.status_code == 302
    assert response["location"] == "/accounts/users/form-made/"
    assert User.objects.get(username="form-made").home_region_id == "522632100000"


def test_the_user_form_refuses_a_region_outside_the_admins_county(en_client: Client, county_bureau_admin: User) -> None:
    en_client.force_login(county_bureau_admin)
    response = en_client.post(
        "/accounts/users/new/",
        {"username": "elsewhere", "home_region": "522633000000", "password": random_password(username="elsewhere")},
    )
    # The form is shown again, answering the service's refusal with its own status (403).
    assert response.status_code == 403
    body = text(response)
    assert "You may not do" in body
    assert 'value="elsewhere"' in body
    assert not User.objects.filter(username="elsewhere").exists()


# ---------------------------------------------------------------------------- audit export and picker


def test_audit_csv_export_has_a_header_row_and_only_the_readers_events(
    en_client: Client, county_bureau_admin: User, guzhou: Region, congjiang: Region
) -> None:
    user_create(actor=None, username="exported", password=random_password(username="exported"), home_region=guzhou)
    user_create(
        actor=None, username="not-exported", password=random_password(username="not-exported"), home_region=congjiang
    )
    en_client.force_login(county_bureau_admin)

    response = en_client.get("/audit/export.csv")

    assert response.status_code == 200
    assert response["content-type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode("utf-8").splitlines()  # type: ignore[attr-defined]
    assert lines[0].lstrip("\ufeff").split(",")[:4] == ["seq", "time", "actor", "verb"]
    body = "\n".join(lines[1:])
    assert "exported" in body
    assert "not-exported" not in body


def test_audit_csv_export_is_refused_to_someone_without_audit_view(en_client: Client, township_viewer: User) -> None:
    en_client.force_login(township_viewer)
    assert_friendly_error_page(en_client.get("/audit/export.csv"), 403)


def test_the_region_picker_finds_rongjiang_by_chinese_name(en_client: Client, township_viewer: User) -> None:
    en_client.force_login(township_viewer)
    response = en_client.get("/regions/picker/", {"q": "榕江"})
    assert response.status_code == 200
    body = text(response)
    assert 'data-region-code="522632000000"' in body
    assert 'data-region-label="榕江县"' in body


def test_the_region_picker_says_when_nothing_matches(en_client: Client, township_viewer: User) -> None:
    en_client.force_login(township_viewer)
    response = en_client.get("/regions/picker/", {"q": "不存在的地方"})
    assert response.status_code == 200
    assert "No region matches." in text(response)


def test_audit_csv_export_does_not_let_spreadsheets_run_typed_text_as_formulas(
    en_client: Client, county_bureau_admin: User, guzhou: Region
) -> None:
    formula = '=HYPERLINK("https://example.invalid/","点击")'
    user_create(
        actor=None,
        username="formula-name",
        full_name=formula,
        password=random_password(username="formula-name"),
        home_region=guzhou,
    )
    en_client.force_login(county_bureau_admin)

    response = en_client.get("/audit/export.csv", {"verb": "user.create"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))  # type: ignore[attr-defined]
    cells = [cell for row in rows[1:] for cell in row]
    assert formula in "".join(cells)  # the text itself is kept …
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)  # … but never as a formula


@pytest.mark.parametrize("path", ["/audit/?since=2024-13-45", "/audit/export.csv?until=2024-02-30"])
def test_an_impossible_date_in_the_audit_filter_is_reported_not_a_server_error(
    en_client: Client, county_bureau_admin: User, path: str
) -> None:
    en_client.raise_request_exception = False
    en_client.force_login(county_bureau_admin)
    assert en_client.get(path).status_code == 200


# ---------------------------------------------------------------------------- dashboard scope


def test_the_dashboard_counts_only_the_regions_of_ones_grants(
    en_client: Client, township_station_operator: User, guzhou: Region
) -> None:
    en_client.force_login(township_station_operator)
    response = en_client.get("/")
    counts = {row["label"]: row["count"] for row in response.context["region_counts"]}
    villages_in_township = Region.objects.filter(parent=guzhou).count()
    assert villages_in_township > 0
    assert counts["Village"] == villages_in_township
    assert counts["Province"] == 0  # the whole database's provinces are not the operator's


def test_the_dashboard_shows_recent_operations_of_ones_own_regions_without_audit_rights(
    en_client: Client, township_station_operator: User, guzhou: Region, congjiang: Region
) -> None:
    from ruralcast.audit.services import audit_record

    audit_record(actor=None, verb="alert.dispatched", region_code=guzhou.code, object_label="drill in Guzhou")
    audit_record(actor=None, verb="alert.dispatched", region_code=congjiang.code, object_label="drill in Congjiang")
    audit_record(actor=None, verb="signing.key_rotated", object_label="system-wide key")
    en_client.force_login(township_station_operator)
    body = text(en_client.get("/"))
    assert "drill in Guzhou" in body
    assert "drill in Congjiang" not in body
    assert "system-wide key" not in body


def test_the_console_has_an_icon_and_favicon_ico_leads_to_it(en_client: Client, township_viewer: User) -> None:
    en_client.force_login(township_viewer)
    assert 'rel="icon" href="/static/web/favicon.svg"' in text(en_client.get("/"))
    response = en_client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/web/favicon.svg"
