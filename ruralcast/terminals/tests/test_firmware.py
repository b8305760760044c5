"""Firmware is not an alert bypass: its own role, a second person, its own signing key, a manifest
bound to models, regions and expiry, and a download address that is always the platform's own
(issue 12 item 8; docs/security.md)."""

import base64
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from ruralcast_terminal.protocol import open_envelope

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import Conflict, PermissionDenied, ValidationError
from ruralcast.regions.models import Region
from ruralcast.signing.errors import NoActiveKey
from ruralcast.signing.models import SigningKey
from ruralcast.signing.selectors import trust_list_build
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.commands import command_send
from ruralcast.terminals.firmware.services import firmware_approve, firmware_reject, firmware_upload
from ruralcast.terminals.models import FirmwareRelease, FirmwareState, TerminalKind
from ruralcast.terminals.services import TerminalDetails, terminal_register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

IMAGE = b"\x7fELF firmware 2.0.1 " * 64
MODEL = "RC-IP-100"


@pytest.fixture
def keys(settings: Any, tmp_path: Any) -> dict[str, SigningKey]:
    settings.RUN_DIR = tmp_path
    return {
        "broadcast": signing_key_generate(actor=None, alg="Ed25519"),
        "firmware": signing_key_generate(actor=None, alg="Ed25519", purpose=SigningKey.Purpose.FIRMWARE),
    }


@pytest.fixture
def uploader(make_user: Callable[..., User], rongjiang: Region) -> User:
    return make_user(role=Role.FIRMWARE_MANAGER, region=rongjiang, username="fw-uploader")


@pytest.fixture
def approver(make_user: Callable[..., User], rongjiang: Region) -> User:
    return make_user(role=Role.FIRMWARE_MANAGER, region=rongjiang, username="fw-approver")


@pytest.fixture
def dashizi_terminal(dashizi: Region) -> Any:
    details = TerminalDetails(kind=TerminalKind.IP_LOUDSPEAKER, model=MODEL)
    return terminal_register(actor=None, village=dashizi, details=details).terminal


def _upload(actor: User, regions: list[Region], **changes: Any) -> FirmwareRelease:
    fields: dict[str, Any] = {"data": IMAGE, "version": "2.0.1", "device_models": [MODEL], "regions": regions}
    return firmware_upload(actor=actor, **{**fields, **changes})


def test_terminal_control_is_not_enough_to_upload_or_send_firmware(
    county_station_operator: User, county_maintainer: User, rongjiang: Region, dashizi_terminal: Any
) -> None:
    for person in (county_station_operator, county_maintainer):  # both hold terminal.control
        with pytest.raises(PermissionDenied):
            _upload(person, [rongjiang])
    with pytest.raises(PermissionDenied):
        command_send(actor=county_station_operator, kind="firmware", params={"release": 1}, regions=[rongjiang])


def test_the_uploader_can_never_approve_and_the_approver_needs_the_role_over_every_target(
    keys: dict[str, SigningKey],
    uploader: User,
    approver: User,
    make_user: Callable[..., User],
    rongjiang: Region,
    guzhou: Region,
) -> None:
    release = _upload(uploader, [rongjiang])
    assert release.state == FirmwareState.PENDING and not release.manifest
    with pytest.raises(PermissionDenied, match="second person"):
        firmware_approve(release=release, approver=uploader)
    township = make_user(role=Role.FIRMWARE_MANAGER, region=guzhou, username="fw-township")
    with pytest.raises(PermissionDenied):
        firmware_approve(release=release, approver=township)  # 古州镇 only; the release is for 榕江县
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds the rule too
        FirmwareRelease.objects.filter(pk=release.pk).update(
            state=FirmwareState.APPROVED, decided_by=uploader, manifest="x"
        )
    approved = firmware_approve(release=release, approver=approver)
    assert (approved.state, approved.decided_by, approved.signing_key) == (
        FirmwareState.APPROVED,
        approver,
        keys["firmware"].serial,
    )
    with pytest.raises(Conflict):
        firmware_approve(release=approved, approver=approver)
    verbs = list(AuditEvent.objects.filter(verb__startswith="firmware.").order_by("seq").values_list("verb", flat=True))
    assert verbs == ["firmware.upload", "firmware.approve"]


def test_the_manifest_is_signed_by_the_firmware_key_and_names_models_regions_and_expiry(
    keys: dict[str, SigningKey], uploader: User, approver: User, rongjiang: Region
) -> None:
    release = firmware_approve(release=_upload(uploader, [rongjiang], valid_days=7), approver=approver)
    envelope, manifest = open_envelope(base64.b64decode(release.manifest), trust_list_build())
    assert envelope.serial == keys["firmware"].serial
    assert manifest["kind"] == "firmware" and manifest["release"] == release.pk
    assert (manifest["models"], manifest["areas"], manifest["sha256"]) == ([MODEL], [rongjiang.code], release.sha256)
    assert abs(release.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_without_a_firmware_key_approval_fails_saying_how_and_nothing_changes(
    settings: Any, tmp_path: Any, uploader: User, approver: User, rongjiang: Region
) -> None:
    settings.RUN_DIR = tmp_path
    signing_key_generate(actor=None, alg="Ed25519")  # the broadcast key alone
    release = _upload(uploader, [rongjiang])
    with pytest.raises(NoActiveKey, match="--purpose firmware"):
        firmware_approve(release=release, approver=approver)
    release.refresh_from_db()
    assert release.state == FirmwareState.PENDING and not release.manifest


def test_a_firmware_command_names_only_an_approved_release_and_stays_inside_it(
    keys: dict[str, SigningKey],
    uploader: User,
    approver: User,
    settings: Any,
    guzhou: Region,
    zhongcheng: Region,
    dashizi_terminal: Any,
) -> None:
    settings.RURALCAST_PUBLIC_URL = "https://broadcast.example-county.gov.cn"
    release = _upload(uploader, [guzhou])
    with pytest.raises(ValidationError, match="not approved"):
        command_send(actor=uploader, kind="firmware", params={"release": release.pk}, regions=[guzhou])
    release = firmware_approve(release=release, approver=approver)
    with pytest.raises(ValidationError) as caught:  # the address is the platform's, never the caller's
        command_send(
            actor=uploader,
            kind="firmware",
            params={"release": release.pk, "url": "http://169.254.169.254/latest/meta-data/"},
            regions=[guzhou],
        )
    assert "params.url" in caught.value.fields
    terminal_register(actor=None, village=Region.objects.get(code="522632101001"), details=TerminalDetails(model=MODEL))
    with pytest.raises(ValidationError, match="approved for"):
        command_send(actor=uploader, kind="firmware", params={"release": release.pk}, regions=[zhongcheng])
    command = command_send(actor=uploader, kind="firmware", params={"release": release.pk}, regions=[guzhou])
    assert command.params["url"] == f"https://broadcast.example-county.gov.cn/terminals/firmware/{release.sha256}.bin"
    assert command.params["manifest"] == release.manifest and command.targeted == 1
    other_model = _upload(uploader, [guzhou], device_models=["RC-4G-200"], data=IMAGE + b"4g")
    firmware_approve(release=other_model, approver=approver)
    with pytest.raises(ValidationError, match="RC-4G-200"):
        command_send(actor=uploader, kind="firmware", params={"release": other_model.pk}, regions=[guzhou])


def test_an_expired_or_rejected_release_cannot_be_sent_and_its_file_is_not_served(
    keys: dict[str, SigningKey],
    uploader: User,
    approver: User,
    guzhou: Region,
    dashizi_terminal: Any,
    en_client: Client,
) -> None:
    client = en_client  # a terminal's download; English so that the messages below stay English
    release = _upload(uploader, [guzhou])
    url = f"/terminals/firmware/{release.sha256}.bin"
    assert client.get(url).status_code == 404  # nobody approved it yet
    firmware_approve(release=release, approver=approver)
    served = client.get(url)
    body = b"".join(served.streaming_content) if served.streaming else served.content  # type: ignore[attr-defined]
    assert served.status_code == 200 and body == IMAGE
    assert served["X-Content-Type-Options"] == "nosniff"
    FirmwareRelease.objects.filter(pk=release.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError) as caught:
        command_send(actor=uploader, kind="firmware", params={"release": release.pk}, regions=[guzhou])
    assert caught.value.fields == {"params.release": ["Expired."]}
    assert client.get(url).status_code == 404
    rejected = firmware_reject(release=_upload(uploader, [guzhou], data=b"other"), actor=approver, reason="wrong build")
    assert rejected.state == FirmwareState.REJECTED
    with pytest.raises(ValidationError) as caught:
        command_send(actor=uploader, kind="firmware", params={"release": rejected.pk}, regions=[guzhou])
    assert caught.value.fields == {"params.release": ["Not approved."]}


def test_the_api_uploads_approves_and_sends_with_two_people(
    keys: dict[str, SigningKey], uploader: User, approver: User, guzhou: Region, dashizi_terminal: Any
) -> None:
    first, second = Client(), Client()
    first.force_login(uploader)
    second.force_login(approver)
    uploaded = first.post(
        "/api/v1/terminals/firmware",
        {"file": SimpleUploadedFile("fw.bin", IMAGE), "version": "2.0.1", "models": MODEL, "regions": guzhou.code},
    )
    assert uploaded.status_code == 201, uploaded.content
    release = uploaded.json()
    assert release["state"] == "pending" and release["models"] == [MODEL] and release["uploaded_by"] == "fw-uploader"
    assert first.post(f"/api/v1/terminals/firmware/{release['id']}/approve").status_code == 403
    approved = second.post(f"/api/v1/terminals/firmware/{release['id']}/approve")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert approved.json()["signing_key"] == keys["firmware"].serial
    refused = first.post(
        "/api/v1/terminals/commands",
        {
            "kind": "firmware",
            "params": {"release": release["id"], "url": "http://169.254.169.254/"},
            "regions": [guzhou.code],
        },
        content_type="application/json",
    )
    assert refused.status_code == 400 and "params.url" in refused.json()["error"]["fields"]
    sent = first.post(
        "/api/v1/terminals/commands",
        {"kind": "firmware", "params": {"release": release["id"]}, "regions": [guzhou.code]},
        content_type="application/json",
    )
    assert sent.status_code == 201, sent.content
    assert sent.json()["targeted"] == 1 and "manifest" not in sent.json()["params"]
    assert [r["id"] for r in second.get("/api/v1/terminals/firmware").json()["items"]] == [release["id"]]


def test_the_console_shows_approve_to_the_second_person_only(
    keys: dict[str, SigningKey],
    uploader: User,
    approver: User,
    guzhou: Region,
    dashizi_terminal: Any,
    en_client: Client,
) -> None:
    en_client.force_login(uploader)
    page = en_client.post(
        "/terminals/firmware/",
        {
            "file": SimpleUploadedFile("fw.bin", IMAGE),
            "version": "2.0.1",
            "models": MODEL,
            "region": guzhou.code,
            "valid_days": "30",
        },
    )
    assert page.status_code == 302, page.content.decode()
    detail = en_client.get(page["Location"]).content.decode()
    assert "another firmware manager" in detail and "Approve and sign" not in detail
    en_client.force_login(approver)
    detail = en_client.get(page["Location"]).content.decode()
    assert "Approve and sign" in detail
    release = FirmwareRelease.objects.get()
    assert en_client.post(f"/terminals/firmware/{release.pk}/approve/").status_code == 302
    sent = en_client.post(f"/terminals/firmware/{release.pk}/send/", {"region": guzhou.code, "timeout_s": "600"})
    assert sent.status_code == 302 and "/terminals/commands/" in sent["Location"]
