"""`manage.py demo_totp USERNAME`: the current second-factor code of a demo user, for a newcomer without
an authenticator app at hand.

It reads the secret from `.run/demo-credentials.txt` (written once by `demo_setup`), never from the
database: whoever can read that file holds the secret anyway, so this opens nothing new. Real
accounts enrol their own phone and are not in that file.
"""

from base64 import b32decode
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP

CREDENTIALS_FILE = Path(settings.RUN_DIR) / "demo-credentials.txt"


def demo_totp_code(secret: str, *, step_offset: int = 0) -> str:
    """The six-digit code for a base32 secret now (or `step_offset` 30-second steps later)."""
    key = b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, step=30, digits=6)
    totp.time += step_offset * 30
    return f"{totp.token():06d}"


class Command(BaseCommand):
    help = "Print the current second-factor code of a demo user (from .run/demo-credentials.txt)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        if not CREDENTIALS_FILE.exists():
            raise CommandError(f"{CREDENTIALS_FILE} does not exist: run `manage.py demo_setup` first.")
        for line in CREDENTIALS_FILE.read_text(encoding="utf-8").splitlines()[1:]:
            fields = line.split("\t")
            if fields[0] == username and len(fields) > 3 and fields[3]:
                self.stdout.write(demo_totp_code(fields[3]))
                return
        raise CommandError(f"{username} has no second-factor key in {CREDENTIALS_FILE}.")
