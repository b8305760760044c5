"""The key management commands an operator runs on the server, and the system check of the setting."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from ruralcast_terminal.protocol import TrustList

from ruralcast.signing.apps import signing_alg_check
from ruralcast.signing.models import SigningKey

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_generate_rotate_revoke_and_export_from_the_command_line(tmp_path: Path) -> None:
    first = run("signing_key_generate", "--alg", "Ed25519").split()
    assert first[1:3] == ["Ed25519", "active"]
    pending = run("signing_key_generate", "--alg", "Ed25519").split()
    assert pending[2] == "pending"

    rotated = run("signing_key_rotate", "--alg", "Ed25519").split()
    assert rotated[:3] == [pending[0], "Ed25519", "active"]

    revoked = run("signing_key_revoke", first[0], "--reason", "rotated out").split()
    assert revoked[:3] == [first[0], "Ed25519", "revoked"]

    printed = TrustList.from_json(run("trust_list_export"))
    output = tmp_path / "trust.json"
    run("trust_list_export", "-o", str(output))
    assert TrustList.from_json(output.read_bytes()) == printed
    assert [(k.serial, k.revoked) for k in printed.keys] == sorted([(first[0], True), (pending[0], False)])


def test_the_export_is_the_json_form_terminals_read() -> None:
    run("signing_key_generate", "--alg", "SM2-SM3")
    (entry,) = json.loads(run("trust_list_export"))
    assert set(entry) == {"serial", "alg", "public_key", "revoked", "usage"}
    assert entry["alg"] == "SM2-SM3" and entry["revoked"] is False and entry["usage"] == ["broadcast"]


def test_command_errors_are_messages_not_tracebacks(english: None) -> None:
    serial = run("signing_key_generate").split()[0]
    with pytest.raises(CommandError, match="rotate"):
        run("signing_key_revoke", serial, "--reason", "compromised")
    with pytest.raises(CommandError, match="209912319999"):
        run("signing_key_revoke", "209912319999", "--reason", "typo")


def test_revoking_the_active_key_with_rotate_from_the_command_line() -> None:
    serial = run("signing_key_generate").split()[0]
    run("signing_key_revoke", serial, "--reason", "compromised", "--rotate")
    assert SigningKey.objects.get(serial=serial).status == SigningKey.Status.REVOKED
    assert SigningKey.objects.filter(status=SigningKey.Status.ACTIVE).exclude(serial=serial).count() == 1


def test_the_system_check_flags_an_unknown_algorithm_setting(settings: Any) -> None:
    assert signing_alg_check() == []
    settings.RURALCAST_SIGNING_ALG = "RSA"
    assert [message.id for message in signing_alg_check()] == ["signing.E001"]
