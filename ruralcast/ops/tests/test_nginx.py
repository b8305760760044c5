"""nginx in front, as `make run` and a station run it (ruralcast.ops.nginx), tested with the real nginx.

Each test starts its own nginx on a free port with the generated configuration in front of a live
server: Django checks who may have a stored file and answers with `X-Accel-Redirect`; nginx sends
the bytes, ranges included, with the type and headers Django decided; nobody reaches the internal
location directly; the live-voice WebSocket handshake reaches the ASGI handler (issue 12, item 11).
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import websockets.sync.client
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from websockets.exceptions import InvalidStatus

from ruralcast.accounts.models import User
from ruralcast.maintenance.models import WorkOrder, WorkOrderNote
from ruralcast.maintenance.rules import work_orders_sync
from ruralcast.maintenance.services import work_order_note_add
from ruralcast.messaging.ingest import ingest_batch
from ruralcast.messaging.topics import uplink_topic
from ruralcast.ops.nginx import NginxSite, nginx_config_render
from ruralcast.ops.tests.servers import fetch, running_nginx, uvicorn_thread
from ruralcast.regions.models import Region
from ruralcast.reporting.models import Line, Post, PostAttachment
from ruralcast.terminals.services import terminal_register

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is installed by scripts/bootstrap.sh")

POLYGLOT = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(document.cookie)</script></html>" * 20


@pytest.fixture
def media_root(tmp_path: Path, settings: Any) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    settings.RURALCAST_ACCEL_REDIRECT_PREFIX = "/_protected/"
    return root


@pytest.fixture
def static_root(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "web").mkdir(parents=True)
    (root / "web" / "console.css").write_text("body { color: #1d2433; }\n")
    return root


def _photo_note(village: Region, maintainer: User) -> WorkOrderNote:
    code = terminal_register(actor=None, village=village).terminal.code
    body = {"terminal": code, "online": True, "at": timezone.now().isoformat(), "speaker": "fault"}
    ingest_batch([(uplink_topic(code, "status"), json.dumps(body).encode(), timezone.now())])
    work_orders_sync()
    order = WorkOrder.objects.get(terminal__code=code)
    upload = ContentFile(POLYGLOT, name="x.html")
    return work_order_note_add(actor=maintainer, order=order, photo=upload)  # type: ignore[arg-type]


def _session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_nginx_sends_a_protected_file_only_after_django_allowed_it(
    live_server: Any,
    tmp_path: Path,
    media_root: Path,
    static_root: Path,
    dashizi: Region,
    rongjiang: Region,
    county_maintainer: User,
    county_station_operator: User,
) -> None:
    note = _photo_note(dashizi, county_maintainer)
    path = f"/maintenance/{note.order_id}/photos/{note.pk}/"
    cookie = _session_cookie(county_maintainer)
    upstream = live_server.url.removeprefix("http://")

    status, headers, body = fetch(live_server.url + path, Cookie=cookie)
    assert status == 200 and body == b"", "Django checks access and names the file; it sends no bytes"
    assert headers["X-Accel-Redirect"] == f"/_protected/{note.photo.name}"

    with running_nginx(tmp_path / "nginx", upstream=upstream, media_root=media_root, static_root=static_root) as url:
        status, headers, body = fetch(url + path, Cookie=cookie)
        assert status == 200 and body == POLYGLOT, "nginx sent the file"
        assert headers["Content-Type"] == "image/png", "the type Django decided at upload, not the name's"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"] == "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
        assert headers["Content-Disposition"].startswith("inline")
        assert headers["Cache-Control"] == "private, max-age=3600"
        assert "X-Accel-Redirect" not in headers

        status, headers, body = fetch(url + path, Cookie=cookie, Range="bytes=8-13")
        assert status == 206 and body == POLYGLOT[8:14]
        assert headers["Content-Range"] == f"bytes 8-13/{len(POLYGLOT)}"
        assert headers["Content-Type"] == "image/png"

        status, headers, body = fetch(url + path)  # not logged in
        assert status == 302 and "/accounts/login/" in headers["Location"] and POLYGLOT not in body
        status, _headers, body = fetch(url + f"/_protected/{note.photo.name}")  # the internal location itself
        assert status == 404 and POLYGLOT not in body

        # A photo stored before the platform chose names: its name says HTML, its row says PNG (the
        # migration sniffed it), and nginx types nothing by name.
        legacy = default_storage.save("maintenance/photos/2026/01/x.html", ContentFile(POLYGLOT))
        old = WorkOrderNote.objects.create(order=note.order, photo=legacy, photo_content_type="image/png")
        status, headers, body = fetch(url + f"/maintenance/{note.order_id}/photos/{old.pk}/", Cookie=cookie)
        assert status == 200 and body == POLYGLOT and headers["Content-Type"] == "image/png"

        # A file stored under a Chinese name (attachments before the platform chose names).
        name = default_storage.save("reporting/posts/2026/01/巡检 表.csv", ContentFile("村,状态\n".encode()))
        post = Post.objects.create(
            region=rongjiang, line=Line.values[0], title="t", body="b", created_by=county_station_operator
        )
        item = PostAttachment.objects.create(
            post=post, file=name, name="巡检 表.csv", size=16, content_type="application/octet-stream"
        )
        attachment = f"/reporting/posts/{post.pk}/files/{item.pk}/"
        status, headers, body = fetch(url + attachment, Cookie=_session_cookie(county_station_operator))
        assert status == 200 and body == "村,状态\n".encode()
        assert headers["Content-Disposition"] == "attachment; filename*=utf-8''%E5%B7%A1%E6%A3%80%20%E8%A1%A8.csv"

        status, headers, body = fetch(url + "/static/web/console.css")
        assert status == 200 and body.startswith(b"body") and headers["Content-Type"] == "text/css"
        assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.slow
def test_the_live_voice_websocket_handshake_passes_nginx_to_the_asgi_handler(
    tmp_path: Path, media_root: Path, static_root: Path
) -> None:
    from config.asgi import application

    with (
        uvicorn_thread(application) as web,
        running_nginx(
            tmp_path / "nginx", upstream=web.removeprefix("http://"), media_root=media_root, static_root=static_root
        ) as url,
    ):
        # Without a session the live-voice handler refuses the handshake (uvicorn answers 403). Had
        # nginx not passed the Upgrade, Django would have answered the plain GET with a 404 page.
        with pytest.raises(InvalidStatus) as refused:
            websockets.sync.client.connect(url.replace("http://", "ws://") + "/ws/live/1/", open_timeout=10)
        assert refused.value.response.status_code == 403
        status, _headers, _body = fetch(url + "/ws/live/1/")
        assert status == 404


def test_the_configuration_lists_every_upstream_and_keeps_paths_out_of_etc(tmp_path: Path) -> None:
    site = NginxSite(
        listen="127.0.0.1:8000",
        upstreams=("127.0.0.1:8001", "10.0.0.2:8001"),
        static_root=tmp_path / "static",
        media_root=tmp_path / "media",
        run_dir=tmp_path / "nginx",
    )
    text = nginx_config_render(site)
    assert "server 127.0.0.1:8001;" in text and "server 10.0.0.2:8001;" in text
    assert f"pid {tmp_path}/nginx/nginx.pid;" in text and "/etc/" not in text and "/var/" not in text
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f"{temp}_temp_path {tmp_path}/nginx/temp/{temp};" in text
    assert "location /_protected/ {\n            internal;" in text


def test_nginx_config_command_prints_a_deployments_site_with_tls(capsys: pytest.CaptureFixture[str]) -> None:
    call_command(
        "nginx_config",
        "--site-only",
        "--listen",
        "443",
        "--server-name",
        "broadcast.example-county.gov.cn",
        "--upstream",
        "10.0.0.11:8000",
        "--upstream",
        "10.0.0.12:8000",
        "--tls-certificate",
        "/etc/ssl/ruralcast.pem",
        "--tls-key",
        "/etc/ssl/ruralcast.key",
    )
    text = capsys.readouterr().out
    assert "listen 443 ssl;" in text and "ssl_certificate /etc/ssl/ruralcast.pem;" in text
    assert "server 10.0.0.11:8000;" in text and "server 10.0.0.12:8000;" in text
    assert "pid " not in text, "a site for /etc/nginx/conf.d/, not a whole nginx.conf"
