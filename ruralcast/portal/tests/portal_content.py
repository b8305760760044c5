"""What the portal's browser tests and screenshots need beyond the demo, made through the real
services in a running demo's database: a screen paired to 大十字社区, a public replay (a short
clip through the media pipeline, HLS and all) and a dispatched drill for 榕江县.

Run inside the demo's database (`manage.py shell -c`, as the browser test and
scripts/portal_screenshots.py do); prints one JSON line with the screen's device token.
"""

import json
import secrets
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

VILLAGE = "522632100001"  # 大十字社区, 古州镇, 榕江县
COUNTY = "522632000000"
REPLAY_TITLE = "稻田冬季管理"
DRILL_TITLE = "暴雨橙色预警演练"


def _screen() -> str:
    from ruralcast.villagers.models import Screen
    from ruralcast.villagers.selectors import token_hash

    token = secrets.token_urlsafe(24)
    Screen.objects.create(
        token_hash=token_hash(token), label="大十字社区 test screen", village_id=VILLAGE, paired_at=timezone.now()
    )
    return token


def _replay() -> None:
    from ruralcast.accounts.models import User
    from ruralcast.media import pipeline
    from ruralcast.media.models import Access, Asset
    from ruralcast.media.services import AssetFields, asset_create_from_file
    from ruralcast.regions.models import Region

    if Asset.objects.filter(title=REPLAY_TITLE).exists():
        return
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "replay.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-y",
             "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=30", "-f", "lavfi", "-i", "sine=duration=30",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(clip)],
            check=True, timeout=120,
        )  # fmt: skip
        asset = asset_create_from_file(
            actor=User.objects.get(username="rongjiang-operator"),
            owner_region=Region.objects.get(code=COUNTY),
            path=clip,
            filename="replay.mp4",
            fields=AssetFields(title=REPLAY_TITLE, access=Access.PUBLIC, tags=["农技"]),
        )
    for job in asset.jobs.all():
        pipeline.job_run(job.pk)  # what the task worker does, here and now


def _drill() -> None:
    from ruralcast.accounts.models import User
    from ruralcast.alerts.lifecycle import alert_mark_dispatched
    from ruralcast.alerts.models import Alert, Status
    from ruralcast.alerts.payload import content_version
    from ruralcast.alerts.services import AlertFields, alert_approve, alert_create, alert_submit
    from ruralcast.regions.models import Region

    if Alert.objects.filter(title=DRILL_TITLE).exists():
        return
    county = Region.objects.get(code=COUNTY)
    now = timezone.now()
    author = User.objects.get(username="rongjiang-operator")
    alert = alert_create(
        actor=author,
        issuer_region=county,
        fields=AlertFields(
            status=Status.EXERCISE,
            event_code="11B03",
            severity=2,
            title=DRILL_TITLE,
            text="预计今天14时至20时，榕江县将出现50毫米以上强降雨，请做好防范。",
            onset=now,
            expires=now + timedelta(hours=2),
            targets=[county],
        ),
    )
    alert = alert_submit(actor=author, alert=alert)
    alert_approve(
        approver=User.objects.get(username="rongjiang-approver"),
        alert=alert,
        confirm_status=alert.status,
        version=content_version(alert),
    )
    alert_mark_dispatched(ebm_id=alert.ebm_id)


def portal_content_create(*, replay: bool = True) -> str:
    """The content; `replay=False` leaves out the replay (its ffmpeg clip and transcoding are the
    slow part) for a caller that brings its own (the accessibility walk)."""
    if replay:
        _replay()
    _drill()
    return json.dumps({"token": _screen()})
