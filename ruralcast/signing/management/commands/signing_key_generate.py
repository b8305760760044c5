"""`manage.py signing_key_generate [--alg Ed25519|SM2-SM3] [--purpose broadcast|firmware]`: a new key.

The first key of a purpose becomes active; later ones wait as *pending* (already in the trust
list) until `signing_key_rotate` activates them. A firmware key reaches terminals only through
their provisioning file (protocols.md §6): generate it before provisioning.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from ruralcast_terminal.crypto import ALGORITHMS

from ruralcast.core.errors import ApplicationError
from ruralcast.signing.models import SigningKey
from ruralcast.signing.services import signing_key_generate


def key_line(key: SigningKey) -> str:
    return f"{key.serial} {key.alg} {key.status} public_key={key.public_key} purpose={key.purpose}"


class Command(BaseCommand):
    help = "Generate a signing key (active if none is, otherwise pending until signing_key_rotate)."

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
            key = signing_key_generate(actor=None, alg=options["alg"], purpose=options["purpose"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(key_line(key))
