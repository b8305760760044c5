"""The demo's day of programmes in 榕江县: county news at 07:00 every day, the township's farming
advice at 12:00 on weekdays, a village notice at 18:00, and the county's evening playlist (weather,
then a health tip) at 19:30 every day, all spoken by the speech app."""

from datetime import time

from ruralcast.accounts.models import User
from ruralcast.broadcasting.models import Playlist, Recurrence, Schedule
from ruralcast.broadcasting.services import (
    SlotFields,
    playlist_create,
    playlist_items_set,
    programme_item_create_from_text,
    schedule_create,
    slot_create,
)
from ruralcast.regions.models import Region

TOWNSHIP = "522632100000"  # 古州镇
VILLAGE = "522632100001"  # 大十字社区

_PLAN = [
    # (owner, actor, schedule name, item title, text, tags, start, recurrence)
    ("county", "rongjiang-operator", "榕江县每日新闻", "榕江新闻早班车",
     "各位乡亲早上好，现在播送榕江新闻。今天全县天气多云，气温8到15摄氏度，请注意添衣保暖。", "新闻,每日", time(7), Recurrence.DAILY),
    ("township", "rongjiang-operator", "古州镇农技广播", "冬季农技小贴士",
     "冬季油菜田要及时清沟排水，防止渍害；柑橘园要做好防冻，树干刷白，覆盖稻草。", "农技", time(12), Recurrence.WEEKDAYS),
    ("village", "dashizi-broadcaster", "大十字社区通知", "社区通知",
     "大十字社区通知：本周六上午九点在社区广场开展免费义诊，请需要的居民按时参加。", "通知", time(18), Recurrence.DAILY),
]  # fmt: skip


PLAYLIST_NAME = "榕江晚间节目"
_EVENING = [
    # (item title, text, tags)
    ("晚间天气预报", "榕江县气象台今晚发布：明天多云转小雨，气温7到13摄氏度，出门请带好雨具。", "天气"),
    ("健康小常识", "冬季天气寒冷，老年人早晚出门要注意保暖，血压高的朋友请按时服药。", "健康"),
]  # fmt: skip


def _evening_playlist_create(*, county: Region) -> bool:
    """The county's evening playlist and the schedule that plays it at 19:30 (once, by name)."""
    if Playlist.objects.filter(owner_region=county, name=PLAYLIST_NAME).exists():
        return False
    actor = User.objects.get(username="rongjiang-operator")
    items = [
        programme_item_create_from_text(actor=actor, owner_region=county, title=title, text=text, tags=tags)
        for title, text, tags in _EVENING
    ]
    playlist = playlist_create(actor=actor, owner_region=county, name=PLAYLIST_NAME, tags="晚间")
    playlist_items_set(actor=actor, playlist=playlist, items=items)
    schedule = schedule_create(actor=actor, owner_region=county, target_region=county, name="榕江县晚间节目", volume=70)
    slot_create(actor=actor, schedule=schedule, fields=SlotFields(start_time=time(19, 30), playlist=playlist))
    return True


def demo_schedules_create(*, county: Region) -> int:
    """Create the demo schedules once (by name); returns how many were created now."""
    regions = {
        "county": county,
        "township": Region.objects.get(code=TOWNSHIP),
        "village": Region.objects.get(code=VILLAGE),
    }
    created = 0
    for owner_key, username, name, title, text, tags, start, recurrence in _PLAN:
        owner = regions[owner_key]
        if Schedule.objects.filter(owner_region=owner, name=name).exists():
            continue
        actor = User.objects.get(username=username)
        item = programme_item_create_from_text(actor=actor, owner_region=owner, title=title, text=text, tags=tags)
        schedule = schedule_create(actor=actor, owner_region=owner, target_region=owner, name=name, volume=70)
        slot_create(
            actor=actor, schedule=schedule, fields=SlotFields(start_time=start, item=item, recurrence=recurrence)
        )
        created += 1
    return created + _evening_playlist_create(county=county)
