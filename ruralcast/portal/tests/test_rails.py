"""The home screen's rails for a screen: alerts that reached dispatch for the village only, the
village's programme today, lives the screen may watch, and a home page whose cost does not grow
with the number of tiles."""

from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ruralcast.alerts.models import Alert
from ruralcast.alerts.portal import history_tiles
from ruralcast.alerts.services import alert_create
from ruralcast.alerts.tests.conftest import dispatched
from ruralcast.broadcasting.portal import today_tiles
from ruralcast.broadcasting.services import SlotFields, programme_item_create_from_text, schedule_create, slot_create
from ruralcast.core.registries.portal import Screen
from ruralcast.media.models import Access
from ruralcast.media.portal import live_tiles
from ruralcast.media.services import LiveFields, live_create
from ruralcast.portal.services import notice_post

pytestmark = pytest.mark.django_db


def test_the_alert_history_shows_only_dispatched_alerts_targeting_the_village(
    county_station_operator, county_alert_approver, rongjiang, dashizi, liziyuan, fields_for
):
    def draft(title, targets):
        return alert_create(
            actor=county_station_operator, issuer_region=rongjiang, fields=fields_for(targets, title=title)
        )

    dispatched(draft("全县演练", [rongjiang]), county_station_operator, county_alert_approver)
    dispatched(draft("梨子园演练", [liziyuan]), county_station_operator, county_alert_approver)
    draft("还在草稿", [dashizi])
    assert Alert.objects.count() == 3
    titles = [tile.title for tile in history_tiles(screen=Screen(region_code=dashizi.code), limit=12)]
    assert titles == ["全县演练"]
    neighbour = [tile.title for tile in history_tiles(screen=Screen(region_code=liziyuan.code), limit=12)]
    assert sorted(neighbour) == ["全县演练", "梨子园演练"]


def test_the_loudspeaker_rail_shows_the_villages_programme_today(county_station_operator, rongjiang, dashizi):
    item = programme_item_create_from_text(
        actor=county_station_operator, owner_region=rongjiang, title="晚间新闻", text="各位乡亲晚上好。"
    )
    schedule = schedule_create(
        actor=county_station_operator, owner_region=rongjiang, target_region=rongjiang, name="晚间"
    )
    slot_create(actor=county_station_operator, schedule=schedule, fields=SlotFields(start_time=time(23, 59), item=item))
    tiles = today_tiles(screen=Screen(region_code=dashizi.code), limit=12)
    assert [tile.type for tile in tiles][-1] == "broadcasting.piece"
    assert tiles[-1].title == "晚间新闻" and tiles[-1].subtitle == "23:59"
    # An unpaired screen (the province) has no loudspeakers of its own.
    assert today_tiles(screen=Screen(region_code="520000000000"), limit=12) == []


def test_a_screen_sees_public_lives_and_those_for_its_region_only(
    county_station_operator, rongjiang, congjiang, dashizi
):
    start = timezone.now() + timedelta(hours=1)

    def live(title, access, audience):
        return live_create(
            actor=county_station_operator,
            owner_region=rongjiang,
            fields=LiveFields(
                title=title, starts_at=start, ends_at=start + timedelta(hours=1), access=access, audience=audience
            ),
        )

    live("公开直播", Access.PUBLIC, [rongjiang])
    live("榕江直播", Access.REGION, [rongjiang])
    live("要登录的直播", Access.LOGGED_IN, [rongjiang])
    titles = sorted(tile.title for tile in live_tiles(screen=Screen(region_code=dashizi.code), limit=12))
    assert titles == ["公开直播", "榕江直播"]
    elsewhere = congjiang.children.first().children.first()
    assert [tile.title for tile in live_tiles(screen=Screen(region_code=elsewhere.code), limit=12)] == ["公开直播"]


def test_the_home_page_costs_the_same_queries_for_one_tile_and_many(
    screen_client, county_station_operator, rongjiang, dashizi
):
    client = screen_client(dashizi)

    def post(n):
        for index in range(n):
            notice_post(
                actor=county_station_operator,
                region=dashizi,
                title=f"通知{index}",
                body="",
                expires_at=timezone.now() + timedelta(days=1),
            )

    post(1)
    client.get(reverse("portal:home"))  # warm caches (the deployment's top region, content types)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("portal:home")).status_code == 200
    post(10)
    with CaptureQueriesContext(connection) as eleven:
        page = client.get(reverse("portal:home"))
    assert page.content.decode().count('data-tile="portal.notice"') == 11
    assert len(eleven) == len(one), [q["sql"] for q in eleven.captured_queries]
