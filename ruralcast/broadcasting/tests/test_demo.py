"""The demo's day of programmes (what `make run` sets up), made with the real speech pipeline."""

from datetime import date

import pytest

from ruralcast.accounts.demo import demo_users_create
from ruralcast.broadcasting.demo import demo_schedules_create
from ruralcast.broadcasting.programme import effective_programme
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


def test_demo_county_gets_news_farming_advice_a_village_notice_and_an_evening_playlist(
    rongjiang: Region, dashizi: Region, liziyuan: Region
) -> None:
    demo_users_create(reset_passwords=False)
    assert demo_schedules_create(county=rongjiang) == 4
    assert demo_schedules_create(county=rongjiang) == 0  # idempotent

    wednesday, saturday = date(2026, 12, 2), date(2026, 12, 5)
    heard = effective_programme(village=dashizi, day=wednesday)
    assert [(e.start_time.hour, e.tier) for e in heard.entries] == [(7, 3), (12, 4), (18, 5), (19, 3)]
    evening = heard.entries[-1]
    assert evening.playlist_id is not None and [p.item_title for p in evening.pieces()] == [
        "晚间天气预报",
        "健康小常识",
    ]
    assert [e.start_time.hour for e in effective_programme(village=dashizi, day=saturday).entries] == [7, 18, 19]
    assert [e.start_time.hour for e in effective_programme(village=liziyuan, day=wednesday).entries] == [7, 12, 19]
