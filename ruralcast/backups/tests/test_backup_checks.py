"""The refusals of backup and restore that need no second instance, in the test process: the
backup of this test database, with this test's RUN_DIR and MEDIA_ROOT (audit item 25).

The tests that take a backup commit (`transaction=True`): a snapshot is taken outside any
transaction, as `manage.py backup_create` takes it."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ruralcast.backups.create import backup_create
from ruralcast.backups.crypto import keys_derive, manifest_sign
from ruralcast.backups.manifest import BackupError, checked_relative
from ruralcast.backups.restore import backup_restore, backup_verify
from ruralcast.signing.services import signing_key_generate

PASSPHRASE = "a-long-enough-passphrase"
committed = pytest.mark.django_db(transaction=True)
pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def instance(settings: Any, tmp_path: Path) -> Path:
    """This test's RUN_DIR, with a signing key and a media file."""
    run = tmp_path / "run"
    settings.RUN_DIR = run
    settings.MEDIA_ROOT = str(run / "media")
    settings.RURALCAST_MEDIA = {**settings.RURALCAST_MEDIA, "UPLOAD_DIR": run / "uploads"}
    (run / "media" / "speech").mkdir(parents=True)
    (run / "media" / "speech" / "a.mp3").write_bytes(b"ID3 spoken alert")
    signing_key_generate(actor=None)
    return run


def test_the_signing_keys_are_not_backed_up_without_a_passphrase(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="--no-keys"):
        backup_create(out=tmp_path / "backup", passphrase=None)
    assert not (tmp_path / "backup").exists()  # nothing half-written


@committed
@pytest.mark.slow
def test_a_changed_manifest_does_not_match_the_passphrase(instance: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    backup_create(out=backup, passphrase=PASSPHRASE)
    path = backup / "manifest.json"
    manifest = json.loads(path.read_text())
    # Someone swaps a media file and fixes its checksum in the manifest: the HMAC still gives it away.
    (backup / "media" / "speech" / "a.mp3").write_bytes(b"ID3 another text")
    entry = next(e for e in manifest["files"] if e["path"] == "media/speech/a.mp3")
    entry["sha256"] = hashlib.sha256(b"ID3 another text").hexdigest()
    path.write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="manifest was altered"):
        backup_verify(directory=backup, passphrase=PASSPHRASE)
    # Only the passphrase's holder can re-sign a manifest.
    manifest["hmac_sha256"] = manifest_sign(manifest, keys_derive(PASSPHRASE, manifest["keys"]["kdf"]))
    path.write_text(json.dumps(manifest))
    assert backup_verify(directory=backup, passphrase=PASSPHRASE).authenticated


@committed
@pytest.mark.slow
def test_a_restore_onto_an_instance_that_is_not_empty_is_refused_before_anything_is_written(
    instance: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    backup_create(out=backup, passphrase=PASSPHRASE)
    (instance / "media" / "speech" / "a.mp3").unlink()
    with pytest.raises(BackupError, match="not empty") as refused:
        backup_restore(directory=backup, passphrase=PASSPHRASE)
    assert "tables" in refused.value.message and "private keys" in refused.value.message
    assert not (instance / "media" / "speech" / "a.mp3").exists()


@committed
@pytest.mark.slow
def test_a_backup_without_keys_holds_no_keys_and_an_older_ruralcast_refuses_a_newer_backup(
    instance: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    report = backup_create(out=backup, passphrase=None, include_keys=False)
    path = backup / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["keys"] == {"included": False, "reason": "--no-keys"} and report.key_serials == []
    assert not (backup / "keys.enc").exists()
    manifest["database"]["migrations"].append("alerts.9999_from_the_future")
    path.write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="newer ruralcast"):
        backup_restore(directory=backup, passphrase=None)


def test_a_manifest_cannot_name_a_path_outside_the_backup_folders() -> None:
    for bad in ("/etc/passwd", "../run/keys/x.key", "media/../../etc/passwd", "keys/202601010001.key", "media", ""):
        with pytest.raises(BackupError):
            checked_relative(bad)
    assert str(checked_relative("media/speech/abc.mp3")) == "media/speech/abc.mp3"
