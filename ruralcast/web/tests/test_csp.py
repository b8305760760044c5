"""A strict Content-Security-Policy on every console page (issue 12, item 9).

Three guards: every template is free of what the policy refuses (inline scripts, inline event
handlers and `hx-on`, `style` attributes and elements, `javascript:` URLs); every URL of the
console, walked from the URL configuration with demo-like data as a platform administrator, answers
with the policy and renders clean HTML; and the browser test (test_csp_browser.py) loads the pages
in Chromium and fails on any violation the browser reports.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from ruralcast.accounts.demo import demo_users_create
from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create
from ruralcast.alerts.feeds.services import FeedFields, feed_create
from ruralcast.alerts.models import Alert, FeedSubscription
from ruralcast.alerts.services import AlertFields, alert_create
from ruralcast.broadcasting.models import Playlist, ProgrammeItem, Schedule, ScheduleSlot
from ruralcast.core.serving import FILE_CSP
from ruralcast.live.models import LiveSession
from ruralcast.live.services import live_session_start
from ruralcast.maintenance.models import WorkOrderNote
from ruralcast.media.models import Access, Asset, Collection, Job, JobKind, Kind, LiveEvent
from ruralcast.media.services import LiveFields, collection_add, collection_create, live_create
from ruralcast.regions.models import Designation, Region
from ruralcast.regions.services import designation_import
from ruralcast.reporting.models import Circular, DataSet, Post
from ruralcast.reporting.services import circular_create, post_create
from ruralcast.terminals.commands import command_send
from ruralcast.terminals.models import Command, Terminal

BASE_DIR = Path(settings.BASE_DIR)
TEMPLATES = sorted(BASE_DIR.glob("ruralcast/*/templates/**/*.html"))

# What the policy refuses, as it can appear in a template or a rendered page.
FORBIDDEN = [
    (re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\btype=[\"']application/json[\"'])[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\shx-on", re.I), "hx-on handler"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def _problems(text: str) -> list[str]:
    return [f"{label}: {match.group(0)!r}" for pattern, label in FORBIDDEN for match in pattern.finditer(text)]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(BASE_DIR / "ruralcast")))
def test_no_template_has_what_the_policy_refuses(template: Path) -> None:
    assert _problems(template.read_text(encoding="utf-8")) == []


EXPECTED_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "worker-src": "'self' blob:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy_of(header: str) -> dict[str, str]:
    pairs = (part.strip().partition(" ") for part in header.split(";") if part.strip())
    return {name: value for name, _space, value in pairs}


# ---------------------------------------------------------------------------- walking every URL


@dataclass
class Seed:
    """One of everything a console page can show, made through the services like the demo does."""

    admin: User
    alert: Alert
    terminal: Terminal
    command: Command
    note: WorkOrderNote
    asset: Asset
    job: Job
    event: LiveEvent
    collection: Collection
    session: LiveSession
    schedule: Schedule
    slot: ScheduleSlot
    playlist: Playlist
    designation: Designation
    data_set: DataSet
    circular: Circular
    post: Post
    token_id: int
    feed: FeedSubscription


@pytest.fixture
def seed(db: None, platform_admin: User, settings: Any, tmp_path: Path) -> Seed:
    from django.core.management import call_command

    from ruralcast.broadcasting.demo import demo_schedules_create
    from ruralcast.maintenance.models import WorkOrder
    from ruralcast.maintenance.services import work_order_note_add
    from ruralcast.reporting.demo import demo_values_create
    from ruralcast.signing.services import signing_key_generate
    from ruralcast.terminals.services import terminal_register

    settings.MEDIA_ROOT = str(tmp_path / "media")
    demo_users_create()
    operator = User.objects.get(username="rongjiang-operator")
    county = Region.objects.get(code="522632000000")
    village = Region.objects.get(code="522632100001")
    signing_key_generate(actor=None)
    designation_import(actor=platform_admin, key="seed-counties", name="Seed", csv_text="code\n522632000000\n")
    designation = Designation.objects.get(key="seed-counties")
    call_command("reporting_metadata", verbosity=0)
    demo_values_create(province=Region.objects.get(code="520000000000"), county=county, months=2)
    demo_schedules_create(county=county)
    now = timezone.now()
    alert = alert_create(
        actor=operator,
        issuer_region=county,
        fields=AlertFields(
            status="Exercise",
            event_code="11B03",
            severity=2,
            title="暴雨橙色预警演练",
            text="预计今天14时至20时将出现强降雨。",
            onset=now,
            expires=now + timedelta(hours=2),
            targets=[county],
        ),
    )
    terminal = terminal_register(actor=None, village=village).terminal
    command = command_send(actor=platform_admin, kind="reboot", terminals=[terminal])
    order = WorkOrder.objects.create(
        terminal=terminal, village_code=village.code, fault="speaker", opened_at=now, due_at=now + timedelta(days=1)
    )
    photo = SimpleUploadedFile("p.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    note = work_order_note_add(actor=platform_admin, order=order, text="到场检查", photo=photo)
    asset = Asset.objects.create(
        kind=Kind.IMAGE,
        owner_region=county,
        title="海报",
        access=Access.PUBLIC,
        state="ready",
        original_name="media/seed/original",
        sha256="0" * 64,
        video_codec="png",
        created_by=operator,
    )
    default_storage.save(asset.original_name, ContentFile(b"\x89PNG\r\n\x1a\n" + b"0" * 64))
    job = Job.objects.create(asset=asset, kind=JobKind.TRANSCODE)
    event = live_create(
        actor=operator,
        owner_region=county,
        fields=LiveFields(title="农技直播", starts_at=now, ends_at=now + timedelta(hours=1)),
    )
    collection = collection_create(actor=operator, owner_region=county, title="农技课程")
    collection_add(actor=operator, collection=collection, asset=asset)
    session = live_session_start(actor=operator, target=village)
    schedule = Schedule.objects.filter(owner_region=county).order_by("pk").first()
    assert schedule is not None
    circular = circular_create(actor=platform_admin, region=county, period="2026-03", title="通报")
    files: list[UploadedFile] = [SimpleUploadedFile("巡检表.pdf", b"%PDF-1.4\n")]
    post = post_create(actor=platform_admin, region=county, line=6, title="巡检", body="完成巡检。", files=files)
    token, _secret = api_token_create(user=platform_admin, name="seed")
    settings.RURALCAST_CAP_FEED_HOSTS = ["cap.example.test"]
    feed = feed_create(
        actor=platform_admin,
        issuer_region=county,
        fields=FeedFields(name="气象台", url="https://cap.example.test/feed.atom", regions=[county]),
    )
    return Seed(
        admin=platform_admin,
        alert=alert,
        terminal=terminal,
        command=command,
        note=note,
        asset=asset,
        job=job,
        event=event,
        collection=collection,
        session=session,
        schedule=schedule,
        slot=ScheduleSlot.objects.filter(schedule__owner_region=county).order_by("pk")[0],
        playlist=Playlist.objects.filter(owner_region=county).order_by("pk")[0],
        designation=designation,
        data_set=DataSet.objects.order_by("pk")[0],
        circular=circular,
        post=post,
        token_id=token.pk,
        feed=feed,
    )


# The arguments of every URL that takes some, from the seed. A new URL with arguments fails the walk
# until it is added here, so no page escapes the policy check.
ARGUMENTS: dict[str, Callable[[Seed], dict[str, Any]]] = {
    "accounts:user": lambda s: {"username": "rongjiang-operator"},
    "accounts:user_active": lambda s: {"username": "rongjiang-operator"},
    "accounts:grant_revoke": lambda s: {"grant_id": s.admin.role_grants.get().pk},
    "accounts:token_revoke": lambda s: {"token_id": s.token_id},
    "accounts:user_lockout_clear": lambda s: {"username": "rongjiang-operator"},
    "accounts:user_second_factor_reset": lambda s: {"username": "rongjiang-operator"},
    "accounts:security_key_delete": lambda s: {"key_id": 1},  # POST only: the walk's GET answers 405
    "notifications:open": lambda s: {"pk": 1},  # nobody's: the answer is a 404 page under the policy
    "alerts:audio": lambda s: {"sha256": "0" * 64},
    "alerts:detail": lambda s: {"ebm_id": s.alert.ebm_id},
    "alerts:edit": lambda s: {"ebm_id": s.alert.ebm_id},
    "alerts:status": lambda s: {"ebm_id": s.alert.ebm_id},
    "alerts:proof": lambda s: {"ebm_id": s.alert.ebm_id, "fmt": "csv"},
    "alerts:action": lambda s: {"ebm_id": s.alert.ebm_id, "action": "approve"},
    "alerts:feed": lambda s: {"feed_id": s.feed.pk},
    "alerts:feed_poll": lambda s: {"feed_id": s.feed.pk},  # POST only: the walk's GET answers 405
    "alerts:feed_delete": lambda s: {"feed_id": s.feed.pk},  # POST only
    "broadcasting:schedule": lambda s: {"schedule_id": s.schedule.pk},
    "broadcasting:schedule_edit": lambda s: {"schedule_id": s.schedule.pk},
    "broadcasting:schedule_delete": lambda s: {"schedule_id": s.schedule.pk},
    "broadcasting:slot_create": lambda s: {"schedule_id": s.schedule.pk},
    "broadcasting:slot_check": lambda s: {"schedule_id": s.schedule.pk},
    "broadcasting:slot_edit": lambda s: {"slot_id": s.slot.pk},
    "broadcasting:slot_delete": lambda s: {"slot_id": s.slot.pk},
    "broadcasting:playlist": lambda s: {"playlist_id": s.playlist.pk},
    "broadcasting:item_edit": lambda s: {"item_id": ProgrammeItem.objects.order_by("pk")[0].pk},
    "broadcasting:item_delete": lambda s: {"item_id": ProgrammeItem.objects.order_by("pk")[0].pk},
    "broadcasting:playlist_edit": lambda s: {"playlist_id": s.playlist.pk},
    "broadcasting:playlist_change": lambda s: {"playlist_id": s.playlist.pk},
    "broadcasting:playlist_delete": lambda s: {"playlist_id": s.playlist.pk},
    "broadcasting:audio": lambda s: {"sha256": s.slot.item.audio_sha256 if s.slot.item else "0" * 64},
    "live:detail": lambda s: {"session_id": s.session.pk},
    "live:status": lambda s: {"session_id": s.session.pk},
    "live:stop": lambda s: {"session_id": s.session.pk},
    "maintenance:detail": lambda s: {"pk": s.note.order_id},
    "maintenance:export": lambda s: {"fmt": "xlsx"},
    "maintenance:photo": lambda s: {"pk": s.note.order_id, "note_id": s.note.pk},
    "media:detail": lambda s: {"uid": s.asset.uid},
    "media:embed": lambda s: {"uid": s.asset.uid},
    "media:file": lambda s: {"key": s.asset.uid, "path": "original"},
    "media:job": lambda s: {"job_id": s.job.pk},
    "media:job_retry": lambda s: {"job_id": s.job.pk},
    "media:live_detail": lambda s: {"uid": s.event.uid},
    "media:live_status": lambda s: {"uid": s.event.uid},
    "media:live_end": lambda s: {"uid": s.event.uid},
    "media:live_file": lambda s: {"key": s.event.uid, "path": "index.m3u8"},
    "media:ingest": lambda s: {"uid": s.event.uid, "secret": "wrong", "name": "index.m3u8"},
    "media:collection": lambda s: {"uid": s.collection.uid},
    "portal:notice": lambda s: {"notice_id": 1},  # no notice in the seed: a 404 page under the policy
    "portal:notice_withdraw": lambda s: {"notice_id": 1},  # POST only: the walk's GET answers 405
    "portal-speech:speech": lambda s: {"language": "zh-hans", "digest": "0" * 64},  # no text: 400
    "portal-speech:speech_redirect": lambda s: {"language": "zh-hans"},
    "portal-alerts:alert": lambda s: {"ebm_id": s.alert.ebm_id},
    "portal-media:replay": lambda s: {"uid": s.asset.uid},
    "portal-media:live": lambda s: {"uid": s.event.uid},
    "regions:designation": lambda s: {"key": s.designation.key},
    "regions:designation_export": lambda s: {"key": s.designation.key},
    "regions:detail": lambda s: {"code": "522632000000"},
    "reporting:entry": lambda s: {"code": s.data_set.code},
    "reporting:entry_template": lambda s: {"code": s.data_set.code},
    "reporting:entry_upload": lambda s: {"code": s.data_set.code},
    "reporting:completeness": lambda s: {"code": s.data_set.code},
    "reporting:approval": lambda s: {"code": s.data_set.code},
    "reporting:circular": lambda s: {"pk": s.circular.pk},
    "reporting:circular_pdf": lambda s: {"pk": s.circular.pk},
    "reporting:post": lambda s: {"pk": s.post.pk},
    "reporting:post_attachment": lambda s: {"pk": s.post.pk, "attachment": s.post.attachments.get().pk},
    "terminals:command": lambda s: {"key": s.command.key},
    "terminals:command_status": lambda s: {"key": s.command.key},
    "terminals:firmware": lambda s: {"sha256": "0" * 64},
    # No release in the seed: the answers are 404 pages, which must carry the policy too.
    "terminals:firmware_release": lambda s: {"release_id": 1},
    "terminals:firmware_approve": lambda s: {"release_id": 1},
    "terminals:firmware_reject": lambda s: {"release_id": 1},
    "terminals:firmware_send": lambda s: {"release_id": 1},
    "terminals:export": lambda s: {"fmt": "csv"},
    "terminals:import_template": lambda s: {"fmt": "xlsx"},
    "terminals:detail": lambda s: {"code": s.terminal.code},
    "terminals:edit": lambda s: {"code": s.terminal.code},
    "terminals:revoke": lambda s: {"code": s.terminal.code},
    "terminals:provision": lambda s: {"code": s.terminal.code},
    "terminals:label": lambda s: {"code": s.terminal.code},
    # No screen or villager in the seed: 404 pages / the sign-in redirect, under the policy too.
    "villagers:screen_revoke": lambda s: {"pk": 1},
    "portal-me:consent_withdraw": lambda s: {"pk": 1},
}
# Stored files, served through core.serving with a sandbox policy of their own.
STORED_FILES = {
    "alerts:audio", "broadcasting:audio", "maintenance:photo", "media:file", "media:live_file",
    "reporting:post_attachment", "terminals:firmware",
}  # fmt: skip
# Query strings for pages that show more with them.
QUERIES = {"regions:picker": "?q=rong", "media:catalogue": "?view=tv"}


def console_url_names() -> list[str]:
    """Every named URL of the console (the API's own operations excepted: JSON, not pages)."""
    names: list[str] = []

    def walk(patterns: list[Any], namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                if entry.namespace == "api":
                    names.extend(["api:openapi-view", "api:openapi-json"])
                    continue
                walk(entry.url_patterns, inner)
            elif isinstance(entry, URLPattern) and entry.name:
                names.append(f"{namespace}{entry.name}")

    walk(get_resolver().url_patterns, "")
    return sorted(set(names))


def console_urls(seed: Seed) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, URL with its query) of every console URL, from the seed; and the names it cannot build.

    The accessibility walk (test_accessibility_browser.py) opens the same list in Chromium."""
    urls, missing = [], []
    for name in console_url_names():
        arguments = ARGUMENTS.get(name)
        try:
            url = reverse(name, kwargs=arguments(seed) if arguments else None)
        except Exception as error:
            missing.append(f"{name}: {error}")
            continue
        urls.append((name, url + QUERIES.get(name, "")))
    return urls, missing


@pytest.mark.slow
def test_every_console_url_answers_with_the_strict_policy_and_renders_clean_html(seed: Seed) -> None:
    client = Client()
    client.force_login(seed.admin)
    failures, pages = [], 0
    urls, missing = console_urls(seed)
    for name, url in urls:
        response = client.get(url)
        if response.status_code >= 500:
            failures.append(f"{name} {url}: {response.status_code}")
            continue
        header = response.headers.get("Content-Security-Policy", "")
        if name in STORED_FILES and response.status_code in (200, 206):
            if header != FILE_CSP or response.headers.get("X-Content-Type-Options") != "nosniff":
                failures.append(f"{name} {url}: a stored file without its own policy: {header!r}")
            continue
        expected = dict(EXPECTED_POLICY)
        if name == "media:embed":  # embeddable by other sites (and the villagers' portal)
            expected["frame-ancestors"] = "*"
        if policy_of(header) != expected:
            failures.append(f"{name} {url}: policy {header!r}")
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            pages += 1
            problems = _problems(response.content.decode())
            if problems:
                failures.append(f"{name} {url}: {problems[:3]}")
    assert missing == [], "URLs with arguments the walk does not know: add them to ARGUMENTS"
    assert failures == [], "\n".join(failures)
    assert pages >= 60, f"only {pages} pages rendered: the seed no longer shows the console"
