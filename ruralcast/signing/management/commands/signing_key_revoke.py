"""`manage.py signing_key_revoke SERIAL --reason TEXT [--rotate]`: terminals will refuse the key."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ruralcast.core.errors import ApplicationError
from ruralcast.signing.management.commands.signing_key_generate import key_line
from ruralcast.signing.services import signing_key_revoke


class Command(BaseCommand):
    help = (
        "Revoke a signing key: it stays in the trust list flagged revoked and its private key is destroyed. "
        "The active key needs --rotate (a new key is activated first, in the same transaction)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("serial")
        parser.add_argument("--reason", required=True, help="why (kept in the audit trail)")
        parser.add_argument("--rotate", action="store_true", help="when revoking the active key, activate the next")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = signing_key_revoke(
                actor=None, serial=options["serial"], reason=options["reason"], rotate=options["rotate"]
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(key_line(key))
