"""Daily broadcasting through the API and the console: same rules, scoped, conflicts before saving."""

from datetime import date, timedelta

import pytest
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create
from ruralcast.broadcasting.models import Schedule, ScheduleSlot
from ruralcast.broadcasting.programme import local_today
from ruralcast.broadcasting.services import programme_item_create_from_text
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="t")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_api_creates_schedule_and_slot_and_checks_conflicts_before_saving(
    county_station_operator: User, township_station_operator: User, rongjiang: Region, guzhou: Region, dashizi: Region,
    make_item,
) -> None:  # fmt: skip
    news = make_item(rongjiang, 600, "县新闻")
    advice = make_item(guzhou, 300, "农技")
    county_api, township_api = _client(county_station_operator), _client(township_station_operator)
    county = county_api.post(
        "/api/v1/broadcasting/schedules", {"owner_region": rongjiang.code, "target_region": rongjiang.code, "name": "县"},
        content_type="application/json",
    ).json()  # fmt: skip
    assert county["tier"] == 3
    response = county_api.post(
        f"/api/v1/broadcasting/schedules/{county['id']}/slots", {"start_time": "07:00", "item": news.pk},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content

    township = township_api.post(
        "/api/v1/broadcasting/schedules", {"owner_region": guzhou.code, "target_region": guzhou.code, "name": "镇"},
        content_type="application/json",
    ).json()  # fmt: skip
    proposed = {"start_time": "07:05", "item": advice.pk, "recurrence": "weekdays"}
    check = township_api.post(
        f"/api/v1/broadcasting/schedules/{township['id']}/check", proposed, content_type="application/json"
    )
    assert check.status_code == 200, check.content
    conflicts = check.json()
    assert conflicts and all(c["relation"] == "above" and not c["yours_plays"] for c in conflicts)
    assert len(conflicts) == sum(1 for n in range(7) if (local_today() + timedelta(days=n)).weekday() < 5)
    assert not ScheduleSlot.objects.filter(schedule_id=township["id"]).exists()  # checking saves nothing

    township_api.post(
        f"/api/v1/broadcasting/schedules/{township['id']}/slots", proposed, content_type="application/json"
    )
    # Editing the county slot shows the same clash from above: the county's slot plays.
    county_slot = ScheduleSlot.objects.get(schedule_id=county["id"])
    from_above = county_api.post(
        f"/api/v1/broadcasting/schedules/{county['id']}/check",
        {"start_time": "07:00", "item": news.pk, "slot": county_slot.pk}, content_type="application/json",
    ).json()  # fmt: skip
    assert from_above and all(c["relation"] == "below" and c["yours_plays"] for c in from_above)

    monday = local_today() + timedelta(days=(7 - local_today().weekday()) % 7)
    heard = county_api.get(f"/api/v1/broadcasting/effective?village={dashizi.code}&day={monday}").json()
    assert [(e["title"], e["tier"]) for e in heard["entries"]] == [("县新闻", 3)]
    assert [(d["entry"]["title"], d["reason"]) for d in heard["dropped"]] == [("农技", "higher_tier")]


def test_api_refuses_township_operator_on_county_schedule(
    county_station_operator: User, township_station_operator: User, rongjiang: Region
) -> None:
    county = Schedule.objects.create(name="县", owner_region=rongjiang, target_region=rongjiang)
    response = _client(township_station_operator).put(
        f"/api/v1/broadcasting/schedules/{county.pk}",
        {"target_region": rongjiang.code, "name": "x", "volume": 10, "active": False},
        content_type="application/json",
    )
    assert response.status_code == 404
    response = _client(township_station_operator).post(
        "/api/v1/broadcasting/schedules", {"owner_region": rongjiang.code, "target_region": rongjiang.code, "name": "x"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_api_refuses_effective_programme_of_the_next_village(village_broadcaster: User, liziyuan: Region) -> None:
    response = _client(village_broadcaster).get(f"/api/v1/broadcasting/effective?village={liziyuan.code}")
    assert response.status_code == 403


def test_console_pages_author_a_slot_with_the_conflict_check(
    county_station_operator: User, township_station_operator: User, rongjiang: Region, guzhou: Region, dashizi: Region,
    make_item, make_schedule,
) -> None:  # fmt: skip
    news = make_item(rongjiang, 600, "县新闻")
    advice = make_item(guzhou, 300, "农技")
    make_schedule(county_station_operator, rongjiang, [("07:00", news)])
    client = Client()
    client.force_login(township_station_operator)

    response = client.post(
        "/broadcasting/schedules/new/",
        {"owner_region": guzhou.code, "target_region": guzhou.code, "name": "镇广播", "volume": 60, "active": "on"},
    )
    assert response.status_code == 302
    schedule = Schedule.objects.get(name="镇广播")
    assert client.get(f"/broadcasting/schedules/{schedule.pk}/slots/new/").status_code == 200

    slot = {"start_time": "07:05", "item": advice.pk, "recurrence": "daily"}
    partial = client.post(f"/broadcasting/schedules/{schedule.pk}/slots/check/", slot)
    assert partial.status_code == 200 and partial.content.count(b'data-relation="above"') == 7
    assert not schedule.slots.exists()

    assert client.post(f"/broadcasting/schedules/{schedule.pk}/slots/new/", slot).status_code == 302
    assert schedule.slots.count() == 1
    for url in ("/broadcasting/", f"/broadcasting/schedules/{schedule.pk}/", "/broadcasting/library/",
                "/broadcasting/library/speech/", "/broadcasting/library/upload/", "/broadcasting/effective/"):  # fmt: skip
        assert client.get(url).status_code == 200, url
    page = client.get(f"/broadcasting/effective/?village={dashizi.code}&day={date(2026, 12, 2)}")
    assert page.status_code == 200 and b"data-dropped" in page.content and "县新闻" in page.content.decode()


def test_console_refuses_the_county_schedule_to_a_township_operator(
    county_station_operator: User, township_station_operator: User, rongjiang: Region, make_item, make_schedule
) -> None:
    county = make_schedule(county_station_operator, rongjiang, [("07:00", make_item(rongjiang, 60))])
    client = Client()
    client.force_login(township_station_operator)
    assert client.get(f"/broadcasting/schedules/{county.pk}/edit/").status_code == 404
    slot = county.slots.get()
    assert client.post(f"/broadcasting/slots/{slot.pk}/delete/").status_code == 404
    assert county.slots.count() == 1


def test_a_schedule_the_service_refuses_answers_403_with_what_was_typed(
    township_station_operator: User, rongjiang: Region, guzhou: Region
) -> None:
    """The form round trip answers the service error's own status (403 here; it was 400 for every
    refusal) and keeps the input, so the operator sees what to change."""
    client = Client()
    client.force_login(township_station_operator)
    response = client.post(
        "/broadcasting/schedules/new/",
        {"owner_region": rongjiang.code, "target_region": guzhou.code, "name": "县广播（误选）", "volume": 65},
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "县广播（误选）" in page and 'value="65"' in page
    assert not Schedule.objects.filter(name="县广播（误选）").exists()


def test_programme_audio_is_served_by_hash(county_station_operator: User, rongjiang: Region) -> None:
    item = programme_item_create_from_text(
        actor=county_station_operator, owner_region=rongjiang, title="t", text="你好"
    )
    response = Client().get(f"/broadcasting/audio/{item.audio_sha256}.mp3", headers={"Range": "bytes=0-9"})
    assert response.status_code == 206 and len(response.content) == 10
    assert Client().get(f"/broadcasting/audio/{'0' * 64}.mp3").status_code == 404


def test_console_edits_a_schedule_and_a_slot(
    county_station_operator: User, guzhou: Region, dashizi: Region, make_item, make_schedule
) -> None:
    item = make_item(guzhou, 60, "农技")
    schedule = make_schedule(county_station_operator, guzhou, [("12:00", item)])
    slot = schedule.slots.get()
    client = Client()
    client.force_login(county_station_operator)

    assert client.get(f"/broadcasting/schedules/{schedule.pk}/edit/").status_code == 200
    response = client.post(
        f"/broadcasting/schedules/{schedule.pk}/edit/",
        {"owner_region": "522633000000", "name": "改名", "target_region": dashizi.code, "volume": 40},
    )
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.name, schedule.target_region_id, schedule.volume, schedule.active) == (
        "改名",
        dashizi.code,
        40,
        False,
    )
    assert schedule.owner_region_id == guzhou.code  # the owner (the tier) cannot be changed

    assert client.get(f"/broadcasting/slots/{slot.pk}/edit/").status_code == 200
    bad = client.post(
        f"/broadcasting/slots/{slot.pk}/edit/", {"start_time": "13:30", "item": item.pk, "recurrence": "dates"}
    )
    assert bad.status_code == 400 and "13:30" in bad.content.decode()  # what was typed stays
    ok = client.post(
        f"/broadcasting/slots/{slot.pk}/edit/",
        {"start_time": "13:30", "item": item.pk, "recurrence": "dates", "dates": "2026-12-01, 2026-12-08"},
    )
    assert ok.status_code == 302
    slot.refresh_from_db()
    assert slot.start_time.hour == 13 and slot.dates == ["2026-12-01", "2026-12-08"]
