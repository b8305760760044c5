"""Approval to screen (issue 17 benchmark 1): nothing slow lies between the approval and the broker.

The drill preamble, spoken at dispatch by espeak-ng and ffmpeg, was ~1 s of the 1.25 s p99
(docs/benchmarks.md). It is spoken when the drill is submitted now, and dispatch reads the speech
cache: no process is started between the approval and the signed bytes. The audit hook sees every
`subprocess.Popen` of this process (the speech app's engine and encoder run that way); nothing of
ours is replaced.
"""

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ruralcast.accounts.models import User
from ruralcast.alerts.audio import DRILL_PREAMBLE_TEXT
from ruralcast.alerts.models import Alert, Status
from ruralcast.alerts.services import alert_create
from ruralcast.alerts.tests.conftest import approve, submitted
from ruralcast.messaging.dispatcher import payload_sign
from ruralcast.messaging.models import OutboxMessage
from ruralcast.messaging.services import outbox_prepare
from ruralcast.regions.models import Region
from ruralcast.signing.services import signing_key_generate
from ruralcast.speech.services import speech_synthesize

pytestmark = pytest.mark.django_db

_counting: list[list[str]] = []  # while a test counts: the programs started since


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _counting and event == "subprocess.Popen":
        _counting[-1].append(Path(str(args[0])).name)


sys.addaudithook(_audit)  # hooks cannot be removed; it records only inside `started()`


@contextlib.contextmanager
def started() -> Iterator[list[str]]:
    """The names of the programs this process starts inside the block."""
    programs: list[str] = []
    _counting.append(programs)
    try:
        yield programs
    finally:
        _counting.remove(programs)


@pytest.fixture(autouse=True)
def _empty_media(settings: Any, tmp_path: Path) -> None:
    """An empty speech cache: a preamble made before (another test, the demo) must not hide the order."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RUN_DIR = tmp_path
    settings.RURALCAST_PUBLIC_URL = "https://rc.example.test"


def test_a_drill_s_preamble_is_spoken_at_submission_and_dispatch_starts_no_process(
    county_station_operator: User, county_alert_approver: User, rongjiang: Region, fields_for: Any
) -> None:
    signing_key_generate(actor=None)
    drill = alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields_for([rongjiang]))
    with started() as at_submission:
        submitted(drill, county_station_operator)  # stand-in MP3 for the alert's own audio
    assert at_submission  # espeak-ng and ffmpeg: the preamble, made now
    assert speech_synthesize(text=DRILL_PREAMBLE_TEXT).cached

    with started() as after_submission:
        approve(drill, county_alert_approver)
        row = OutboxMessage.objects.get(key=drill.ebm_id)
        outbox_prepare(message=row, sign=payload_sign)
    assert after_submission == []
    row.refresh_from_db()
    assert row.prepared_at is not None and len(row.messages) == 1  # signed and stored, as before
    assert Alert.objects.get(pk=drill.pk).state == "approved"  # dispatch-once: marked only after PUBACK


def test_a_live_alert_speaks_no_preamble(county_station_operator: User, rongjiang: Region, fields_for: Any) -> None:
    live = alert_create(
        actor=county_station_operator, issuer_region=rongjiang, fields=fields_for([rongjiang], status=Status.ACTUAL)
    )
    with started() as at_submission:
        submitted(live, county_station_operator)
    assert at_submission == []
    assert not speech_synthesize(text=DRILL_PREAMBLE_TEXT).cached  # it was never made


def test_a_dispatcher_start_warms_what_the_first_alert_s_build_would_pay() -> None:
    """The first alert after a start took ~0.3 s from commit to signed bytes, the next ones ~0.05 s
    (a fresh process's speech engine set-up and version probe, the preamble's cache read)."""
    from ruralcast.alerts.wiring import _dispatch_warm_up
    from ruralcast.messaging import dispatcher

    assert _dispatch_warm_up in dispatcher._WARM_UPS  # registered by the alerts app
    with started() as at_start:
        dispatcher.warm_ups_run()
    assert at_start  # the preamble, spoken at start in an empty cache (once per deployment)
    assert speech_synthesize(text=DRILL_PREAMBLE_TEXT).cached


def test_a_failing_warm_up_is_logged_and_never_stops_the_dispatcher(caplog: pytest.LogCaptureFixture) -> None:
    from ruralcast.messaging import dispatcher

    def broken() -> None:
        raise OSError("no speech engine here")

    dispatcher.register_warm_up(broken)
    dispatcher.register_warm_up(broken)  # once only
    try:
        assert dispatcher._WARM_UPS.count(broken) == 1
        dispatcher.warm_ups_run()
    finally:
        dispatcher._WARM_UPS.remove(broken)
    assert "warm-up" in caplog.text and "broken" in caplog.text
