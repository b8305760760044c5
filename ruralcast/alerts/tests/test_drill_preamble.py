"""Every drill is announced as one by the terminal, whatever its audio (issue 12 item 5): the
platform speaks a drill preamble at dispatch and signs it into the payload; the real agent plays it
before an *uploaded* recording (which says nothing about being a drill)."""

import base64
import hashlib
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from ruralcast_terminal.agent import AgentConfig
from ruralcast_terminal.sinks import FileSink

from ruralcast.accounts.models import User
from ruralcast.alerts.audio import DRILL_PREAMBLE_TEXT
from ruralcast.alerts.models import AudioSource, Status
from ruralcast.alerts.payload import alert_payload
from ruralcast.alerts.services import AlertFields, alert_create, alert_submit
from ruralcast.alerts.tests.test_end_to_end import AgentThread, _send, broker  # noqa: F401 — fixture
from ruralcast.messaging.broker import broker_files_write
from ruralcast.messaging.ingest import IngestWorker
from ruralcast.messaging.tests.conftest import Broker, mqtt_settings, run_dir  # noqa: F401 — fixtures
from ruralcast.regions.models import Region
from ruralcast.signing.selectors import trust_list_build
from ruralcast.signing.services import signing_key_generate
from ruralcast.speech.services import speech_synthesize
from ruralcast.terminals.services import terminal_register

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _recording(folder: Path) -> SimpleUploadedFile:
    """Two seconds of tone, as an operator's own recording would be: no drill wording in it."""
    path = folder / "recording.wav"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2", str(path)], check=True
    )
    return SimpleUploadedFile("recording.wav", path.read_bytes(), content_type="audio/wav")


def _fields(status: str, region: Region) -> AlertFields:
    now = timezone.now()
    return AlertFields(
        status=status, event_code="11B03", severity=3, title="山洪演练", text="请按演练路线转移。", onset=now,
        expires=now + timedelta(hours=1), targets=[region], repeat=1, audio_source=AudioSource.UPLOAD,
    )  # fmt: skip


def test_a_drill_with_uploaded_audio_plays_the_signed_preamble_first_on_the_real_agent(
    broker: Broker,  # noqa: F811
    tmp_path: Path,
    county_station_operator: User,
    county_alert_approver: User,
    rongjiang: Region,
    guzhou: Region,
    dashizi: Region,
) -> None:
    signing_key_generate(actor=None)
    registration = terminal_register(actor=None, village=dashizi)
    broker_files_write()
    broker.start()
    IngestWorker().run(deadline=time.monotonic() + 0.5)
    config = AgentConfig.from_dict(
        {
            "terminal_id": registration.terminal.code,
            "village_code": dashizi.code,
            "broker": f"127.0.0.1:{broker.port}",
            "username": registration.terminal.code,
            "password": registration.password,
            "trust": trust_list_build().to_list(),
            "cache_dir": str(tmp_path / "agent"),
            "sink": {"type": "file", "path": "played.jsonl", "realtime": False},
            "status_interval": 0,
        }
    )
    operator = county_station_operator
    with AgentThread(config) as terminal:
        drill = alert_submit(
            actor=operator,
            alert=alert_create(
                actor=operator,
                issuer_region=rongjiang,
                fields=_fields(Status.EXERCISE, guzhou),
                audio_upload=_recording(tmp_path),
            ),
        )
        payload = alert_payload(drill)
        preamble = payload["preamble"]
        clip = base64.b64decode(preamble["inline"])
        assert hashlib.sha256(clip).hexdigest() == preamble["sha256"] and len(clip) == preamble["bytes"]
        spoken = speech_synthesize(text=DRILL_PREAMBLE_TEXT)
        assert preamble["sha256"] == spoken.sha256  # the speech app's clip, not the recording
        assert preamble["sha256"] != payload["audio"]["sha256"]
        drill = _send(drill, county_alert_approver)
        assert terminal.wait_for((drill.ebm_id, "finished")), terminal.sent()

        real = alert_submit(
            actor=operator,
            alert=alert_create(
                actor=operator,
                issuer_region=rongjiang,
                fields=_fields(Status.ACTUAL, guzhou),
                audio_upload=_recording(tmp_path),
            ),
        )
        assert "preamble" not in alert_payload(real)  # a real alert is never called a drill
        real = _send(real, county_alert_approver)
        assert terminal.wait_for((real.ebm_id, "finished")), terminal.sent()
        assert terminal.agent is not None
        sink = terminal.agent.sink
        assert isinstance(sink, FileSink)
        events = [(e["event"], e["ebm_id"]) for e in sink.events]
        played = {e["event"]: e for e in sink.events if e["ebm_id"] == drill.ebm_id}

    assert events[:2] == [("preamble", drill.ebm_id), ("start", drill.ebm_id)]
    assert Path(played["preamble"]["preamble"]).read_bytes() == clip
    assert ("preamble", real.ebm_id) not in events and ("start", real.ebm_id) in events
