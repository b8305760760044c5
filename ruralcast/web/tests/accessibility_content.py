"""What the accessibility walk (test_accessibility_browser.py) needs beyond the demo, made in a
running demo's database (`manage.py shell -c`, like portal_content): the portal's content (a paired
screen, a public replay, a dispatched drill), an alert draft and an open work order; then one
instance of each main detail page of the console, as URLs.

Prints one JSON line: {"token": the screen's device token, "pages": [console URL, …]}.
"""

import json
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

DRAFT_TITLE = "无障碍检查草稿"
REPLAY_TITLE = "无障碍检查回放"


def _draft() -> str:
    """An alert draft of the demo county (its edit form has the region pickers)."""
    from ruralcast.accounts.models import User
    from ruralcast.alerts.models import Alert
    from ruralcast.alerts.services import AlertFields, alert_create
    from ruralcast.portal.tests.portal_content import COUNTY
    from ruralcast.regions.models import Region

    draft = Alert.objects.filter(title=DRAFT_TITLE).first()
    if draft is None:
        now = timezone.now()
        draft = alert_create(
            actor=User.objects.get(username="rongjiang-operator"),
            issuer_region=Region.objects.get(code=COUNTY),
            fields=AlertFields(
                status="Exercise",
                event_code="11B03",
                severity=2,
                title=DRAFT_TITLE,
                text="预计今天14时至20时将出现强降雨。",
                onset=now,
                expires=now + timedelta(hours=2),
                targets=[Region.objects.get(code=COUNTY)],
            ),
        )
    return draft.ebm_id


def _work_order() -> int:
    """An open speaker-fault work order on the demo village's terminal, as the fault rules open one."""
    from ruralcast.maintenance.models import WorkOrder
    from ruralcast.portal.tests.portal_content import VILLAGE
    from ruralcast.terminals.models import Terminal

    order = WorkOrder.objects.filter(resolved_at__isnull=True).order_by("pk").first()
    if order is None:
        terminal = Terminal.objects.filter(village_id=VILLAGE).order_by("pk").first()
        assert terminal is not None, "demo_setup registers a terminal in every village of the demo county"
        now = timezone.now()
        order = WorkOrder.objects.create(
            terminal=terminal, village_code=VILLAGE, fault="speaker", opened_at=now, due_at=now + timedelta(days=1)
        )
    return order.pk


def _replay() -> str:
    """A public ready video of the demo county as the media pipeline leaves one (an HLS master
    rendition), made as rows without ffmpeg: the walk checks the player page's markup, not
    playback (the portal's browser tests play portal_content's transcoded replay). Its own title,
    so those tests, sharing the session's demo server, still make and transcode theirs."""
    from ruralcast.accounts.models import User
    from ruralcast.media.models import Access, Asset, AssetState, Kind, Rendition, RenditionKind
    from ruralcast.media.portal import HLS_MASTER
    from ruralcast.portal.tests.portal_content import COUNTY

    asset = Asset.objects.filter(title=REPLAY_TITLE).first()
    if asset is None:
        asset = Asset.objects.create(
            kind=Kind.VIDEO,
            owner_region_id=COUNTY,
            title=REPLAY_TITLE,
            tags="农技",
            access=Access.PUBLIC,
            state=AssetState.READY,
            original_name="original.mp4",
            original_filename="replay.mp4",
            sha256="0" * 64,
            duration=30,
            width=320,
            height=180,
            created_by=User.objects.get(username="rongjiang-operator"),
        )
        Rendition.objects.create(asset=asset, kind=RenditionKind.HLS_MASTER, name="master", path=HLS_MASTER)
    return asset.uid


def accessibility_content_create() -> str:
    from ruralcast.alerts.models import Alert
    from ruralcast.broadcasting.models import Schedule
    from ruralcast.portal.tests.portal_content import DRILL_TITLE, VILLAGE, portal_content_create
    from ruralcast.reporting.models import DataSet
    from ruralcast.terminals.models import Terminal

    token = json.loads(portal_content_create(replay=False))["token"]
    replay, draft, order = _replay(), _draft(), _work_order()
    drill = Alert.objects.get(title=DRILL_TITLE)
    terminal = Terminal.objects.filter(village_id=VILLAGE).order_by("pk").first()
    schedule = Schedule.objects.order_by("pk").first()
    data_set = DataSet.objects.order_by("pk").first()
    assert terminal is not None and schedule is not None and data_set is not None
    pages = [
        reverse("alerts:detail", kwargs={"ebm_id": drill.ebm_id}),
        reverse("alerts:edit", kwargs={"ebm_id": draft}),
        reverse("terminals:detail", kwargs={"code": terminal.code}),
        reverse("maintenance:detail", kwargs={"pk": order}),
        reverse("media:detail", kwargs={"uid": replay}),
        reverse("broadcasting:schedule", kwargs={"schedule_id": schedule.pk}),
        reverse("reporting:entry", kwargs={"code": data_set.code}),
        reverse("regions:detail", kwargs={"code": VILLAGE}),
    ]
    return json.dumps({"token": token, "pages": pages, "replay": replay, "drill": drill.ebm_id})
