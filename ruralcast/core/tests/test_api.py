"""The /api/v1 surface through Django's test client: authentication, the one error body, key endpoints,
and the operations endpoints /healthz and /metrics.

(That the committed OpenAPI schema equals the generated one is checked elsewhere.)
"""

import json
from typing import Any

import pytest
from django.test import Client

from ruralcast.accounts.demo import random_password
from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create, api_token_revoke
from ruralcast.regions.models import Designation

pytestmark = pytest.mark.django_db

API = "/api/v1"


def bearer(user: User) -> dict[str, str]:
    _token, secret = api_token_create(user=user, name="test client")
    return {"authorization": f"Bearer {secret}"}


def assert_error_body(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]


def post_json(client: Client, path: str, payload: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.post(path, data=json.dumps(payload), content_type="application/json", headers=headers)


# ---------------------------------------------------------------------------- authentication


@pytest.mark.parametrize("path", ["/me", "/regions/522632000000", "/regions/search?q=rongjiang", "/audit/events"])
def test_an_unauthenticated_request_gets_401_with_the_error_body(client: Client, path: str) -> None:
    assert_error_body(client.get(API + path), 401, "unauthenticated")


def test_a_bearer_token_authenticates(client: Client, township_viewer: User) -> None:
    response = client.get(f"{API}/me", headers=bearer(township_viewer))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == township_viewer.username
    assert [(g["role"], g["region_code"]) for g in body["grants"]] == [("viewer", "522632100000")]


@pytest.mark.parametrize("header", ["Bearer rc_00000000_nosuchsecret", "Bearer nonsense", "Basic dXNlcjpwYXNz"])
def test_an_invalid_token_gets_401(client: Client, township_viewer: User, header: str) -> None:
    assert_error_body(client.get(f"{API}/me", headers={"authorization": header}), 401, "unauthenticated")


def test_a_revoked_token_gets_401(client: Client, township_viewer: User) -> None:
    token, secret = api_token_create(user=township_viewer, name="short-lived")
    api_token_revoke(actor=township_viewer, token=token)
    response = client.get(f"{API}/me", headers={"authorization": f"Bearer {secret}"})
    assert_error_body(response, 401, "unauthenticated")


def test_the_console_session_also_authenticates(client: Client, township_viewer: User) -> None:
    client.force_login(township_viewer)
    assert client.get(f"{API}/me").json()["username"] == township_viewer.username


# ---------------------------------------------------------------------------- errors


def test_an_unknown_region_code_is_404_with_the_error_body(client: Client, township_viewer: User) -> None:
    error = assert_error_body(
        client.get(f"{API}/regions/529999000000", headers=bearer(township_viewer)), 404, "not_found"
    )
    assert "529999000000" in error["message"]


@pytest.mark.parametrize("code", ["52263", "52263200000x", "5226320000001"])
def test_a_malformed_region_code_is_400_with_the_error_body(client: Client, township_viewer: User, code: str) -> None:
    error = assert_error_body(client.get(f"{API}/regions/{code}", headers=bearer(township_viewer)), 400, "invalid")
    assert "region" in error["fields"]


def test_a_missing_field_is_400_naming_the_field(client: Client, county_bureau_admin: User) -> None:
    headers = bearer(county_bureau_admin)
    users = User.objects.count()
    response = post_json(client, f"{API}/users", {"username": "no-password", "home_region": "522632100000"}, headers)
    error = assert_error_body(response, 400, "invalid")
    assert "password" in error["fields"]
    assert User.objects.count() == users


@pytest.mark.parametrize(("language", "said"), [("zh-hans", "此项为必填项。"), ("en", "This field is required.")])
def test_validation_messages_follow_the_request_language(
    client: Client, county_bureau_admin: User, language: str, said: str
) -> None:
    headers = {**bearer(county_bureau_admin), "accept-language": language}
    response = post_json(client, f"{API}/users", {"username": "no-password", "home_region": "522632100000"}, headers)
    error = assert_error_body(response, 400, "invalid")
    assert error["fields"]["password"] == [said]
    assert "Field required" not in response.content.decode()


def test_malformed_json_is_400_not_500(client: Client, county_bureau_admin: User) -> None:
    response = client.post(
        f"{API}/users", data="{not json", content_type="application/json", headers=bearer(county_bureau_admin)
    )
    assert response.status_code == 400


def test_a_weak_password_is_400_naming_the_password(client: Client, county_bureau_admin: User) -> None:
    payload = {"username": "weak-one", "password": "short", "home_region": "522632100000"}
    response = post_json(client, f"{API}/users", payload, bearer(county_bureau_admin))
    error = assert_error_body(response, 400, "invalid")
    assert "password" in error["fields"]
    assert not User.objects.filter(username="weak-one").exists()


def test_a_viewer_cannot_create_users_403_and_nothing_created(client: Client, township_viewer: User) -> None:
    headers = bearer(township_viewer)
    payload = {"username": "sneaky", "password": random_password(username="sneaky"), "home_region": "522632100000"}
    users = User.objects.count()
    assert_error_body(post_json(client, f"{API}/users", payload, headers), 403, "forbidden")
    assert User.objects.count() == users
    assert not User.objects.filter(username="sneaky").exists()


def test_a_duplicate_username_is_409(client: Client, county_bureau_admin: User, township_viewer: User) -> None:
    payload = {
        "username": township_viewer.username,
        "password": random_password(username=township_viewer.username),
        "home_region": "522632100000",
    }
    assert_error_body(post_json(client, f"{API}/users", payload, bearer(county_bureau_admin)), 409, "conflict")


def test_a_bureau_admin_creates_a_user_through_the_api(client: Client, county_bureau_admin: User) -> None:
    payload = {"username": "api-made", "password": random_password(username="api-made"), "home_region": "522632100000"}
    response = post_json(client, f"{API}/users", payload, bearer(county_bureau_admin))
    assert response.status_code == 201
    assert response.json()["home_region"] == "522632100000"
    assert "password" not in response.json()
    assert User.objects.get(username="api-made").home_region_id == "522632100000"


@pytest.mark.parametrize(("expires_at", "status"), [("2030-01-01T00:00:00", 201), ("2000-01-01T00:00:00", 400)])
def test_a_token_expiry_without_time_zone_is_not_a_server_error(
    client: Client, township_viewer: User, expires_at: str, status: int
) -> None:
    response = post_json(
        client, f"{API}/tokens", {"name": "nightly", "expires_at": expires_at}, bearer(township_viewer)
    )
    assert response.status_code == status, response.content


# ---------------------------------------------------------------------------- regions and designations


def test_region_search_by_pinyin_returns_rongjiang(client: Client, township_viewer: User) -> None:
    response = client.get(f"{API}/regions/search", {"q": "rongjiang"}, headers=bearer(township_viewer))
    assert response.status_code == 200
    assert ("522632000000", "榕江县") in [(r["code"], r["name"]) for r in response.json()]


def test_region_detail_lists_ancestors_root_first(client: Client, township_viewer: User) -> None:
    body = client.get(f"{API}/regions/522632100000", headers=bearer(township_viewer)).json()
    assert (body["code"], body["name"], body["parent_code"]) == ("522632100000", "古州镇", "522632000000")
    assert [a["code"] for a in body["ancestors"]] == [
        "000000000000",
        "520000000000",
        "522600000000",
        "522632000000",
    ]


def test_a_designation_dry_run_reports_without_writing(client: Client, county_bureau_admin: User) -> None:
    payload = {
        "key": "api-trial",
        "name": "接口试运行",
        "csv": "code\n522632100000\n529999000000\n",
        "dry_run": True,
    }
    response = post_json(client, f"{API}/designations/", payload, bearer(county_bureau_admin))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["written"], body["matched"]) == (False, 1)
    assert [row["line"] for row in body["unmatched"]] == [3]
    assert not Designation.objects.filter(key="api-trial").exists()


def test_a_designation_import_outside_ones_county_is_403(client: Client, county_bureau_admin: User) -> None:
    payload = {"key": "api-overreach", "name": "越权", "csv": "code\n522633000000\n"}
    response = post_json(client, f"{API}/designations/", payload, bearer(county_bureau_admin))
    assert_error_body(response, 403, "forbidden")
    assert not Designation.objects.filter(key="api-overreach").exists()


# ---------------------------------------------------------------------------- operations


def test_healthz_reports_the_database_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["checks"]["database"]["ok"] is True


def test_metrics_are_prometheus_text(client: Client) -> None:
    client.get("/healthz")  # at least one request so the request counters exist
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["content-type"].startswith("text/plain")
    text = response.content.decode()
    assert "# HELP" in text and "# TYPE" in text
    assert "django_http_requests_total" in text


@pytest.mark.django_db
def test_a_nul_character_in_input_is_a_clear_400_not_a_database_error(client, platform_admin) -> None:
    """PostgreSQL cannot store U+0000; every way in refuses it before the database sees it."""
    client.force_login(platform_admin)
    body = client.post("/api/v1/tokens", {"name": "a\x00b"}, content_type="application/json")
    assert body.status_code == 400 and body.json()["error"]["fields"]
    assert client.get("/api/v1/audit/events", {"actor": "x\x00"}).status_code == 400
    assert client.get("/api/v1/alerts/12%0034").status_code == 400
    assert client.get("/regions/52%00/").status_code == 400


@pytest.mark.django_db
def test_times_with_offsets_postgresql_cannot_store_are_read_as_utc(client, platform_admin) -> None:
    """Python accepts offsets up to ±23:59, PostgreSQL only ±15:59: the API converts to UTC first."""
    client.force_login(platform_admin)
    events = client.get(
        "/api/v1/audit/events", {"until": "2030-01-07T08:22:28+23:01", "since": "0001-01-01T00:00:00-00:30"}
    )
    assert events.status_code == 200
    token = client.post(
        "/api/v1/tokens",
        {"name": "far east", "expires_at": "2031-01-01T00:00:00+23:00"},
        content_type="application/json",
    )
    assert token.status_code == 201
    assert token.json()["expires_at"].endswith(("Z", "+00:00", "+08:00"))
    edge = client.get("/api/v1/audit/events", {"since": "0001-01-01T00:00:00+01:00"})
    assert edge.status_code == 400  # before year 1 in UTC: a clear error, not a server error
