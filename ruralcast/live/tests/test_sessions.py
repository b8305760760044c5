"""Live sessions: who may speak to which region (service, API, console), tiers, one at a time, the
audit trail, and terminal receipts arriving through the shared receipt uplink."""

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.accounts.services import api_token_create
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import Conflict, PermissionDenied
from ruralcast.live.models import LiveReceipt, LiveSession, LiveState
from ruralcast.live.services import live_session_start, live_session_stop
from ruralcast.messaging.handlers import Uplink, uplink_handler
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


def _api(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="t")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_a_village_broadcaster_speaks_to_their_own_village_only(
    village_broadcaster: User, dashizi: Region, liziyuan: Region, guzhou: Region
) -> None:
    session = live_session_start(actor=village_broadcaster, target=dashizi)
    assert (session.tier, session.state) == (5, LiveState.LIVE)
    live_session_stop(actor=village_broadcaster, session=session)
    for elsewhere in (liziyuan, guzhou):  # the next village, and the township above
        with pytest.raises(PermissionDenied):
            live_session_start(actor=village_broadcaster, target=elsewhere)
    assert LiveSession.objects.count() == 1


def test_the_api_refuses_the_next_village_and_writes_nothing(village_broadcaster: User, liziyuan: Region) -> None:
    answer = _api(village_broadcaster).post("/api/v1/live/", {"target": liziyuan.code}, content_type="application/json")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
    assert not LiveSession.objects.exists()


def test_a_county_operator_speaks_at_county_tier_to_a_township(county_station_operator: User, guzhou: Region) -> None:
    client = _api(county_station_operator)
    answer = client.post("/api/v1/live/", {"target": guzhou.code}, content_type="application/json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["tier"], body["target"], body["state"]) == (3, guzhou.code, "live")
    assert body["websocket"] == f"/ws/live/{body['id']}/"
    again = client.post("/api/v1/live/", {"target": guzhou.code}, content_type="application/json")
    assert again.status_code == 409  # one session at a time
    stopped = client.post(f"/api/v1/live/{body['id']}/stop")
    assert stopped.status_code == 200
    assert stopped.json()["state"] == "ended"
    status = client.get(f"/api/v1/live/{body['id']}").json()
    assert (status["playing"], status["started"]) == ([], 0)
    assert [s["id"] for s in client.get("/api/v1/live/").json()["items"]] == [body["id"]]
    verbs = list(AuditEvent.objects.filter(verb__startswith="live.").values_list("verb", flat=True))
    assert sorted(verbs) == ["live.start", "live.stop"]


def test_a_bad_target_is_a_clear_400(county_station_operator: User) -> None:
    answer = _api(county_station_operator).post("/api/v1/live/", {"target": "12"}, content_type="application/json")
    assert answer.status_code == 400


def test_one_session_at_a_time_and_stop_is_idempotent(county_station_operator: User, guzhou: Region) -> None:
    session = live_session_start(actor=county_station_operator, target=guzhou)
    with pytest.raises(Conflict):
        live_session_start(actor=county_station_operator, target=guzhou)
    first = live_session_stop(actor=county_station_operator, session=session, reason="stopped")
    second = live_session_stop(actor=None, session=session, reason="disconnected")
    assert (first.end_reason, second.end_reason) == ("stopped", "stopped")
    assert AuditEvent.objects.filter(verb="live.stop").count() == 1


def test_others_cannot_see_or_stop_a_session_outside_their_area(
    village_broadcaster: User, county_station_operator: User, guzhou: Region, congjiang: Region, make_user
) -> None:
    session = live_session_start(actor=county_station_operator, target=guzhou)
    neighbour = make_user(role=Role.STATION_OPERATOR, region=congjiang)
    assert _api(neighbour).get(f"/api/v1/live/{session.pk}").status_code == 404
    assert _api(neighbour).post(f"/api/v1/live/{session.pk}/stop").status_code == 404
    assert LiveSession.objects.get(pk=session.pk).state == LiveState.LIVE


def test_live_receipts_are_stored_and_alert_receipts_still_reach_alerts(
    county_station_operator: User, guzhou: Region
) -> None:
    session = live_session_start(actor=county_station_operator, target=guzhou)
    handler = uplink_handler("receipt")
    assert handler is not None
    now = timezone.now()
    at = datetime.now(UTC).isoformat()
    terminal = "65226321000010314010401"

    def uplink(**body: object) -> Uplink:
        return Uplink(terminal, "receipt", {"terminal": terminal, **body}, now)

    stopped = [{"event": "live_stopped", "reason": "preempted", "at": at}]
    handler(
        [
            uplink(ebm_id=f"live-{session.pk}", event="live_started", reason="", at=at),
            uplink(ebm_id=f"live-{session.pk}", events=stopped),
            uplink(ebm_id="live-999999", event="live_started", reason="", at=at),  # unknown session: dropped
            uplink(ebm_id="4" + "0" * 34, event="received", reason="", at=at),  # an alert's: handed on
        ]
    )
    rows = set(LiveReceipt.objects.values_list("session_id", "event", "reason"))
    assert rows == {(session.pk, "live_started", ""), (session.pk, "live_stopped", "preempted")}


def test_the_console_page_lists_sessions_and_starts_one(
    en_client: Client, village_broadcaster: User, dashizi: Region, liziyuan: Region
) -> None:
    en_client.force_login(village_broadcaster)
    page = en_client.get("/live/")
    assert page.status_code == 200
    assert b"Start speaking" in page.content
    refused = en_client.post("/live/start/", {"target": liziyuan.code})
    assert refused.status_code == 403
    started = en_client.post("/live/start/", {"target": dashizi.code})
    assert started.status_code == 201
    session_id = started.json()["id"]
    assert started.json()["websocket"] == f"/ws/live/{session_id}/"
    assert en_client.get(f"/live/{session_id}/").status_code == 200
    assert en_client.get(f"/live/{session_id}/status/").status_code == 200
    assert en_client.post(f"/live/{session_id}/stop/").json()["state"] == "ended"
