"""`manage.py signing_key_rotate [--alg …] [--purpose broadcast|firmware]`: activate the next key of
that purpose, retire its active one."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from ruralcast_terminal.crypto import ALGORITHMS

from ruralcast.core.errors import ApplicationError
from ruralcast.signing.management.commands.signing_key_generate import key_line
from ruralcast.signing.models import SigningKey
from ruralcast.signing.services import signing_key_rotate


class Command(BaseCommand):
    help = (
        "Activate the oldest pending key of the algorithm (or a new one); the active key is retired "
        "and stays trusted until what it signed has expired."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alg", choices=ALGORITHMS, help="default: settings.RURALCAST_SIGNING_ALG")
        parser.add_argument(
            "--purpose",
            choices=SigningKey.Purpose.values,
            default=SigningKey.Purpose.BROADCAST,
            help="broadcast (alerts, commands, schedules, live voice, trust lists; default) or firmware (manifests only)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = signing_key_rotate(actor=None, alg=options["alg"], purpose=options["purpose"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(key_line(key))
