"""The demo's notice board: a notice of 古州镇 for all its villages, one of 大十字社区 for that village
only, and one for the whole province (what an unpaired screen sees), posted by the demo's content
editor and admin through the notice service. Created once, by title."""

from datetime import timedelta

from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.portal.models import Notice
from ruralcast.portal.services import notice_post
from ruralcast.regions.models import Region

_NOTICES = [
    # (region code, poster, title, text)
    ("522632100000", "rongjiang-editor", "古州镇冬季防火通知",
     "冬季天干物燥，请各村寨管好火源，不在山林周边烧荒；发现火情请拨打119或告诉村委会。"),
    ("522632100001", "rongjiang-editor", "本周六社区义诊",
     "本周六上午九点在社区广场开展免费义诊，测血压、测血糖，请需要的居民带上医保卡按时参加。"),
    ("520000000000", "admin", "电视上的村务公开",
     "从本月起，各村的通知、节目和预警记录都可以在家里的电视上查看，用遥控器的方向键和确定键就能操作。"),
]  # fmt: skip


def demo_notices_create() -> int:
    """Post the demo notices that are not on the board yet; returns how many were posted now."""
    created = 0
    for code, username, title, text in _NOTICES:
        if Notice.objects.filter(title=title).exists():
            continue
        notice_post(
            actor=User.objects.get(username=username),
            region=Region.objects.get(code=code),
            title=title,
            body=text,
            expires_at=timezone.now() + timedelta(days=365),
        )
        created += 1
    return created
