"""A real instance for the backup test, built and read in its own process.

The test runs these functions with `manage.py shell -c` under an instance's own settings
environment (database, RUN_DIR, MEDIA_ROOT, broker port), never in the test process:

- `build()`: the Guizhou tree, two people, an SM2 key, three terminals, a drill submitted (spoken by
  espeak-ng into MEDIA_ROOT), approved, signed and published to the instance's running mosquitto,
  its receipts stored, an upload left half-way;
- `facts()`: prints, as one JSON line, everything the restore must bring back, plus a fresh
  signature by the active key (the test verifies it with the old instance's public key).
"""

import base64
import hashlib
import io
import json
import sys
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone


def build() -> None:
    from ruralcast.accounts.demo import random_password
    from ruralcast.accounts.roles import Role
    from ruralcast.accounts.services import role_grant, user_create
    from ruralcast.alerts.models import ReceiptEvent, State, Status
    from ruralcast.alerts.payload import content_version
    from ruralcast.alerts.services import (
        AlertFields,
        ReceiptIn,
        alert_approve,
        alert_create,
        alert_submit,
        receipts_store,
    )
    from ruralcast.media.services import AssetFields, upload_append, upload_start
    from ruralcast.messaging.dispatcher import dispatch_pending_once
    from ruralcast.regions.selectors import region_get
    from ruralcast.regions.services import regions_import
    from ruralcast.signing.services import signing_key_generate
    from ruralcast.terminals.services import terminal_register

    regions_import(province="52")
    rongjiang, guzhou, dashizi = (region_get(code=c) for c in ("522632000000", "522632100000", "522632100001"))
    people = {}
    for username, role in (("operator", Role.STATION_OPERATOR), ("approver", Role.ALERT_APPROVER)):
        people[username] = user_create(
            actor=None, username=username, password=random_password(username=username), home_region=rongjiang
        )
        role_grant(actor=None, user=people[username], role=role, region=rongjiang)
    signing_key_generate(actor=None, alg="SM2-SM3")
    terminals = [terminal_register(actor=None, village=dashizi).terminal for _ in range(3)]

    now = timezone.now()
    fields = AlertFields(
        status=Status.EXERCISE, event_code="11B03", severity=2, title="备份恢复演练",
        text="这是一条演练消息，用于检验备份与恢复。", onset=now, expires=now + timedelta(days=2), targets=[guzhou],
    )  # fmt: skip
    alert = alert_create(actor=people["operator"], issuer_region=rongjiang, fields=fields)
    alert = alert_submit(actor=people["operator"], alert=alert)
    alert_approve(
        approver=people["approver"], alert=alert, confirm_status=Status.EXERCISE, version=content_version(alert)
    )
    report = dispatch_pending_once()
    alert.refresh_from_db()
    assert report.published == 1 and alert.state == State.DISPATCHED, (report, alert.state)
    receipts_store(
        [
            ReceiptIn(terminal_code=t.code, ebm_id=alert.ebm_id, event=event, device_at=now)
            for t in terminals[:2]
            for event in (ReceiptEvent.RECEIVED, ReceiptEvent.STARTED, ReceiptEvent.FINISHED)
        ]
        + [ReceiptIn(terminal_code=terminals[2].code, ebm_id=alert.ebm_id, event=ReceiptEvent.RECEIVED)]
    )
    upload = upload_start(
        actor=people["operator"], owner_region=rongjiang, filename="村史.mp4", size=100, fields=AssetFields("村史")
    )
    upload_append(actor=people["operator"], upload=upload, start=0, total=100, stream=io.BytesIO(b"x" * 40), length=40)


def _tree(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".work" not in path.relative_to(root).parts
    }


def facts() -> None:
    from ruralcast_terminal.protocol import open_envelope

    from ruralcast.alerts.models import Alert
    from ruralcast.alerts.selectors import proof_rows, signing_serial
    from ruralcast.audit.models import AuditEvent, AuditHead
    from ruralcast.media.models import Upload
    from ruralcast.messaging.broker import PERSISTENCE_FILE, broker_dir
    from ruralcast.messaging.models import OutboxMessage
    from ruralcast.signing.models import SigningKey
    from ruralcast.signing.selectors import trust_list_build
    from ruralcast.signing.services import payload_sign

    trust = trust_list_build()
    alerts = []
    for alert in Alert.objects.order_by("ebm_id"):
        with default_storage.open(alert.audio_name, "rb") as handle:
            audio = hashlib.sha256(handle.read()).hexdigest()
        alerts.append(
            {
                "ebm_id": alert.ebm_id,
                "state": alert.state,
                "title": alert.title,
                "audio_sha256": alert.audio_sha256,
                "audio_file_sha256": audio,
                "receipts": sorted([r.terminal_code, r.event] for r in alert.receipts.all()),
                "proof": [asdict(row) for row in proof_rows(alert=alert)],
                "signing_serial": signing_serial(alert=alert),
            }
        )
    outbox = []
    for row in OutboxMessage.objects.order_by("kind", "key"):
        for message in row.messages:
            data = base64.b64decode(message["payload_b64"])
            open_envelope(data, trust)  # raises unless the stored signature verifies
            outbox.append(
                {"kind": row.kind, "key": row.key, "state": row.state, "topic": message["topic"],
                 "sha256": hashlib.sha256(data).hexdigest()}
            )  # fmt: skip
    broker_state = broker_dir() / PERSISTENCE_FILE
    probe = payload_sign(payload={"kind": "restore-probe", "at": timezone.now().isoformat()})
    document = {
        "alerts": alerts,
        "outbox": outbox,
        "keys": list(SigningKey.objects.order_by("serial").values("serial", "alg", "status", "public_key")),
        "trust_list": trust.to_json().decode(),
        "audit": {"count": AuditEvent.objects.count(), "head": AuditHead.objects.get(id=1).hash},
        "uploads": list(Upload.objects.values_list("uid", "offset", "size")),
        "media": _tree(Path(settings.MEDIA_ROOT)),
        "upload_files": _tree(Path(settings.RURALCAST_MEDIA["UPLOAD_DIR"])),
        "broker_state_sha256": hashlib.sha256(broker_state.read_bytes()).hexdigest() if broker_state.exists() else None,
        "probe_b64": base64.b64encode(probe).decode(),
    }
    sys.stdout.write("FACTS " + json.dumps(document, ensure_ascii=False, default=str) + "\n")


def retained() -> None:
    """Prints the retained downlink messages the instance's running broker holds, topic → SHA-256."""
    import threading
    import time

    from ruralcast.messaging.client import MqttLink
    from ruralcast.messaging.topics import DOWN_PREFIX

    found: dict[str, str] = {}
    lock = threading.Lock()

    def keep(message: object) -> None:
        with lock:
            found[message.topic] = hashlib.sha256(bytes(message.payload)).hexdigest()  # type: ignore[attr-defined]

    link = MqttLink(client_id="restore-check", subscriptions=[(f"{DOWN_PREFIX}r/#", 1)], on_message=keep)
    link.start(wait=10.0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not found:
        time.sleep(0.1)
    time.sleep(0.5)  # the rest of the retained set arrives right behind the first message
    link.stop()
    with lock:
        sys.stdout.write("RETAINED " + json.dumps(found) + "\n")
