"""The demo county's past year of emergency messages (`make run`, demo_setup).

A county platform sends a few messages a month: the monthly drill of the whole county, and the
season's real warnings (rainstorm blue/yellow and a flood warning in the rainy months, lightning in
summer, forest-fire drills in spring and autumn, road icing and cold waves in winter). Without them
"alert coverage" reads "—" on the dashboard, pivot and circulars, and no proof of broadcast exists.

Each message is written as the platform would have recorded it: drafted and submitted by the
county's operator, approved by a *different* person (the county's approver), signed off at its
`sent_at`, dispatched a second later to the terminals registered by then (its `TargetedTerminal`
snapshot), and the receipts those terminals sent: most received, started and finished it within
seconds; a few stayed silent (a power cut, a flaky link: about 1.5 % per message, stable from run to
run), and the demo's terminals kept offline on purpose (`demo_simulator --absent 0.03`, the nine
the live page names) never answered any of them. Every message has ended (state `expired`).

Why the records are written here and not through the services: the services refuse, rightly, a
message whose end is past (`alert_create`, `alert_submit`, `alert_approve`), and dispatch goes
through the broker, which cannot publish into the past. So this writes, in bulk and in one
transaction, the rows the services and the ingest path would have written at the time: `Alert`,
`AlertTarget`, `AlertContributor` (as `alert_create`/`alert_submit` do), `TargetedTerminal` (as
`lifecycle.targeted_terminals_record` does at dispatch) and `Receipt` (as `services.receipts_store`
does for the ingest). The EBM ids come from the real daily sequence of each past day. No audit
events are written for this made-up history (the audit trail records only what really happened).
About 35 messages and 25,000 receipts: about a second on SQLite.

`demo_feed_subscribe` at the end subscribes the county to the demo CAP feed (`alerts.demo_feed`, a
stand-in for an outside authority), through the feed service.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.alerts import ids
from ruralcast.alerts.feeds.services import MIN_INTERVAL_SECONDS, FeedFields, feed_create
from ruralcast.alerts.models import (
    Alert,
    AlertContributor,
    AlertTarget,
    Certainty,
    Contribution,
    FeedSubscription,
    Receipt,
    ReceiptEvent,
    State,
    Status,
    TargetedTerminal,
    Urgency,
)
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal

DEMO_AUTHOR = "rongjiang-operator"
DEMO_APPROVER = "rongjiang-approver"
# The share of demo terminals the simulator keeps offline (`demo_simulator --absent`), and the same
# stable choice of which ones (ruralcast_terminal.fleet._fraction with the salt "absent").
DEMO_ABSENT_SHARE = 0.03
SILENT_SHARE = 0.015


def _fraction(text: str, *, salt: str = "") -> float:
    return int.from_bytes(hashlib.sha256((salt + text).encode()).digest()[:4], "big") / 2**32


def demo_terminal_absent(code: str) -> bool:
    """Whether the demo simulator keeps this terminal offline (it never answers anything)."""
    return _fraction(code, salt="absent") < DEMO_ABSENT_SHARE


@dataclass(frozen=True)
class PastAlert:
    status: str
    event_code: str
    severity: int
    title: str
    text: str
    hours: int  # how long it was in force
    townships: int  # 0: the whole county; n: the first n townships by a stable choice
    urgency: str = Urgency.IMMEDIATE
    certainty: str = Certainty.OBSERVED


_DRILL = PastAlert(
    Status.EXERCISE,
    "00000",
    4,
    "应急广播系统月度例行演练",
    "这是榕江县应急广播系统每月例行演练，不是真实警报。请各村确认喇叭声音清楚，无需采取任何行动。",
    1,
    0,
)
_RAIN_BLUE = PastAlert(
    Status.ACTUAL,
    "11B03",
    4,
    "暴雨蓝色预警",
    "榕江县气象台发布暴雨蓝色预警：预计未来12小时内将出现50毫米以上降雨，请注意防范，远离河道和低洼地带。",
    12,
    4,
    Urgency.EXPECTED,
    Certainty.LIKELY,
)
_RAIN_YELLOW = PastAlert(
    Status.ACTUAL,
    "11B03",
    3,
    "暴雨黄色预警",
    "榕江县气象台发布暴雨黄色预警：预计未来6小时内将出现50毫米以上降雨，局地可达100毫米。"
    "请沿河、沿沟群众做好转移准备，学校和幼儿园做好防护。",
    6,
    0,
    Urgency.EXPECTED,
    Certainty.LIKELY,
)
_FLOOD = PastAlert(
    Status.ACTUAL,
    "11A01",
    3,
    "洪水黄色预警",
    "榕江县水利局发布洪水黄色预警：受持续强降雨影响，都柳江榕江段水位快速上涨，预计今晚超过警戒水位。"
    "沿河群众请立即向高处转移。",
    12,
    3,
    Urgency.IMMEDIATE,
    Certainty.LIKELY,
)
_LIGHTNING = PastAlert(
    Status.ACTUAL,
    "11B14",
    3,
    "雷电黄色预警",
    "榕江县气象台发布雷电黄色预警：未来6小时内将出现雷电活动，并伴有短时强降水和大风。请勿在树下、田间避雨。",
    6,
    5,
    Urgency.EXPECTED,
    Certainty.LIKELY,
)
_FIRE_DRILL = PastAlert(
    Status.EXERCISE,
    "11G00",
    3,
    "森林火灾应急演练",
    "这是森林火灾应急演练，不是真实警报。请演练村的群众按照预案到指定地点集合，护林员上山清点人员。",
    2,
    2,
)
_ICING = PastAlert(
    Status.ACTUAL,
    "11B21",
    3,
    "道路结冰黄色预警",
    "榕江县气象台发布道路结冰黄色预警：今夜到明晨山区道路将出现结冰，请减少夜间出行，车辆减速慢行。",
    12,
    0,
    Urgency.EXPECTED,
    Certainty.LIKELY,
)
_COLD = PastAlert(
    Status.ACTUAL,
    "11B05",
    4,
    "寒潮蓝色预警",
    "榕江县气象台发布寒潮蓝色预警：未来两天气温将下降8℃以上，请注意防寒保暖，做好牲畜和农作物防冻。",
    24,
    0,
    Urgency.EXPECTED,
    Certainty.LIKELY,
)

# What a month brings besides the monthly drill (Guizhou: rains from May to September).
_SEASON: dict[int, list[PastAlert]] = {
    1: [_ICING, _COLD],
    2: [_ICING],
    3: [_FIRE_DRILL],
    4: [_RAIN_BLUE, _FIRE_DRILL],
    5: [_RAIN_BLUE, _RAIN_YELLOW],
    6: [_RAIN_BLUE, _RAIN_YELLOW, _FLOOD],
    7: [_RAIN_YELLOW, _FLOOD, _LIGHTNING],
    8: [_RAIN_BLUE, _LIGHTNING],
    9: [_RAIN_BLUE],
    10: [_FIRE_DRILL],
    11: [_COLD],
    12: [_ICING, _COLD],
}


@dataclass(frozen=True)
class _Terminal:
    code: str
    village_id: str
    registered_at: datetime


def _moments(today: date) -> list[tuple[datetime, PastAlert]]:
    """The messages of the past year up to `today`, each at a stable day and time."""
    planned: list[tuple[datetime, PastAlert]] = []
    months = [today.replace(day=1)]  # this month's days before today, and the twelve before it
    for _ in range(12):
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    now = timezone.now()
    for month in months:
        for index, past in enumerate([_DRILL, *_SEASON[month.month]]):
            digest = hashlib.sha256(f"demo-alert/{month:%Y%m}/{index}".encode()).digest()
            day = month.replace(day=1 + digest[0] % 27)
            # The drill on a weekday morning at 10:00; warnings at any hour of the day.
            clock = time(10) if past is _DRILL else time(6 + digest[1] % 16, digest[2] % 60)
            moment = timezone.make_aware(datetime.combine(day, clock))
            if moment < now - timedelta(hours=past.hours):
                planned.append((moment, past))
    return sorted(planned, key=lambda item: item[0])


def _targets(county: Region, townships: list[Region], past: PastAlert, moment: datetime) -> list[Region]:
    if not past.townships or not townships:
        return [county]
    start = int.from_bytes(hashlib.sha256(moment.isoformat().encode()).digest()[:2], "big") % len(townships)
    return [townships[(start + i) % len(townships)] for i in range(min(past.townships, len(townships)))]


def demo_alert_history_create(*, county: Region, today: date | None = None) -> int:
    """Write the county's past year of messages (see the module docstring); returns how many.

    Idempotent: does nothing when the county already has a message sent before today, when its
    demo author or approver is missing, or when it has no terminals yet.
    """
    author = User.objects.filter(username=DEMO_AUTHOR).first()
    approver = User.objects.filter(username=DEMO_APPROVER).first()
    today = today or timezone.localdate()
    start_of_today = timezone.make_aware(datetime.combine(today, time()))
    if author is None or approver is None:
        return 0
    if Alert.objects.filter(issuer_region=county, sent_at__lt=start_of_today).exists():
        return 0
    terminals = [
        _Terminal(code, village, created)
        for code, village, created in Terminal.objects.filter(
            village__code__startswith=county.prefix, revoked_at__isnull=True
        ).values_list("code", "village_id", "created_at")
    ]
    if not terminals:
        return 0
    townships = list(Region.objects.filter(code__startswith=county.prefix, level=Level.TOWNSHIP).order_by("code"))
    sender = ids.platform_code(county)
    targeted: list[TargetedTerminal] = []
    receipts: list[Receipt] = []
    written = 0
    with transaction.atomic():
        for moment, past in _moments(today):
            regions = _targets(county, townships, past, moment)
            reached = [
                t
                for t in terminals
                if t.registered_at <= moment and any(t.village_id.startswith(r.prefix) for r in regions)
            ]
            if not reached:  # before the first loudspeakers of its area were put up
                continue
            ebm_id = ids.next_ebm_id(sender_code=sender, day=timezone.localdate(moment))
            title = past.title + ("（演练）" if past.status != Status.ACTUAL and "演练" not in past.title else "")
            alert = Alert.objects.create(
                ebm_id=ebm_id,
                cap_id=ids.cap_identifier(sender_code=sender, ebm_id=ebm_id),
                sender_code=sender,
                sender_name=ids.platform_name(county),
                issuer_region=county,
                status=past.status,
                event_code=past.event_code,
                severity=past.severity,
                urgency=past.urgency,
                certainty=past.certainty,
                onset=moment,
                expires=moment + timedelta(hours=past.hours),
                title=title,
                text=past.text,
                created_by=author,
                submitted_by=author,
                submitted_at=moment - timedelta(minutes=12),
                approved_by=approver,
                approved_at=moment,
                sent_at=moment,
                dispatched_at=moment + timedelta(seconds=1),
                closed_at=moment + timedelta(hours=past.hours),
                state=State.EXPIRED,
                targeted_terminals=len(reached),
                terminals_recorded_at=moment + timedelta(seconds=1),
            )
            # `created_at` is set on insert (auto_now_add): date it with the draft.
            Alert.objects.filter(pk=alert.pk).update(created_at=moment - timedelta(minutes=25))
            AlertTarget.objects.bulk_create([AlertTarget(alert=alert, region=r) for r in regions])
            AlertContributor.objects.bulk_create(
                [
                    AlertContributor(
                        alert=alert,
                        user=author,
                        contribution=Contribution.CREATED,
                        first_at=moment - timedelta(minutes=25),
                    ),
                    AlertContributor(
                        alert=alert,
                        user=author,
                        contribution=Contribution.SUBMITTED,
                        first_at=moment - timedelta(minutes=12),
                    ),
                ]
            )
            region_of = {t.code: next(r for r in regions if t.village_id.startswith(r.prefix)) for t in reached}
            for terminal in reached:
                targeted.append(
                    TargetedTerminal(
                        alert=alert,
                        terminal_code=terminal.code,
                        village_id=terminal.village_id,
                        region=region_of[terminal.code],
                    )
                )
                receipts.extend(_receipts(alert, terminal.code, moment))
            written += 1
        TargetedTerminal.objects.bulk_create(targeted, batch_size=2000)
        Receipt.objects.bulk_create(receipts, batch_size=2000)
    return written


def _receipts(alert: Alert, code: str, moment: datetime) -> list[Receipt]:
    """A terminal's receipts for a past message: none if it is kept offline or missed this one."""
    if demo_terminal_absent(code) or _fraction(f"{alert.ebm_id}/{code}", salt="silent") < SILENT_SHARE:
        return []
    delay = timedelta(milliseconds=400 + int(_fraction(f"{alert.ebm_id}/{code}", salt="delay") * 2600))
    received = moment + timedelta(seconds=1) + delay
    started = received + timedelta(milliseconds=300)
    finished = started + timedelta(seconds=20 + len(alert.text) // 4) * alert.repeat
    return [
        Receipt(
            alert=alert,
            terminal_code=code,
            event=event,
            device_at=at,
            stored_at=at + timedelta(milliseconds=250),
        )
        for event, at in (
            (ReceiptEvent.RECEIVED, received),
            (ReceiptEvent.STARTED, started),
            (ReceiptEvent.FINISHED, finished),
        )
    ]


DEMO_FEED_ADMIN = "gz-bureau"
# The subscription's name, shown wherever the console names the feed (its drafts are "CAP feed: …"):
# in both languages, so nobody takes the stand-in for the real bureau.
DEMO_FEED_NAME = "榕江县气象台（演示替身 · demo stand-in）"


def demo_feed_subscribe(*, county: Region, url: str) -> FeedSubscription | None:
    """Subscribe the demo county to the demo feed (`alerts.demo_feed`, a stand-in for an outside
    authority), through the service as a bureau administrator would; may target the whole county.

    Idempotent: None when a subscription to `url` exists, or the bureau admin is missing. Raises
    the service's ValidationError when the feed's host is not allowed (RURALCAST_CAP_FEED_HOSTS;
    `make run` allows 127.0.0.1).
    """
    admin = User.objects.filter(username=DEMO_FEED_ADMIN).first()
    if admin is None or FeedSubscription.objects.filter(url=url).exists():
        return None
    fields = FeedFields(
        name=DEMO_FEED_NAME, url=url, regions=[county], interval_seconds=MIN_INTERVAL_SECONDS, enabled=True
    )
    return feed_create(actor=admin, issuer_region=county, fields=fields)
