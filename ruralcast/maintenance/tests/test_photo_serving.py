"""Work-order photos are served as the picture their content is, never as what their name claims.

The audit stored a "photo" named `x.html` (a PNG signature followed by markup) and had it served as
`text/html` from the console's origin: stored cross-site scripting (issue 12, item 9).
"""

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.core.errors import ValidationError
from ruralcast.maintenance.models import WorkOrder
from ruralcast.maintenance.rules import work_orders_sync
from ruralcast.maintenance.services import work_order_note_add
from ruralcast.messaging.ingest import ingest_batch
from ruralcast.messaging.topics import uplink_topic
from ruralcast.regions.models import Region
from ruralcast.terminals.services import terminal_register

pytestmark = [pytest.mark.django_db]

POLYGLOT = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(document.cookie)</script></html>"


@pytest.fixture
def order(dashizi: Region) -> WorkOrder:
    code = terminal_register(actor=None, village=dashizi).terminal.code
    body = {"terminal": code, "online": True, "at": timezone.now().isoformat(), "speaker": "fault"}
    ingest_batch([(uplink_topic(code, "status"), json.dumps(body).encode(), timezone.now())])
    work_orders_sync()
    return WorkOrder.objects.get(terminal__code=code)


def test_a_photo_named_html_is_stored_under_a_name_the_platform_chose_and_served_as_png(
    client: Client, order: WorkOrder, county_maintainer: User
) -> None:
    upload = SimpleUploadedFile("x.html", POLYGLOT, content_type="text/html")
    note = work_order_note_add(actor=county_maintainer, order=order, photo=upload)
    assert note.photo_content_type == "image/png"
    assert note.photo.name.startswith("maintenance/photos/") and note.photo.name.endswith(".png")
    assert "x.html" not in note.photo.name

    client.force_login(county_maintainer)
    answer: Any = client.get(f"/maintenance/{order.pk}/photos/{note.pk}/")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/png"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Content-Disposition"].startswith("inline")
    assert "sandbox" in answer["Content-Security-Policy"] and "default-src 'none'" in answer["Content-Security-Policy"]
    assert answer.getvalue() == POLYGLOT


def test_markup_that_is_not_a_picture_is_refused_whatever_its_name_or_declared_type(
    order: WorkOrder, county_maintainer: User
) -> None:
    for name, data in [("p.jpg", b"<html><script>alert(1)</script>"), ("p.webp", b"RIFF\0\0\0\0WAVEfmt ")]:
        with pytest.raises(ValidationError):
            work_order_note_add(
                actor=county_maintainer, order=order, photo=SimpleUploadedFile(name, data, content_type="image/jpeg")
            )
    assert not order.notes.exists()
