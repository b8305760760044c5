"""`manage.py signing_key_generate [--alg Ed25519|SM2-SM3]`: a new signing key.

The first key of a deployment becomes active; later ones wait as *pending* (already in the trust
list) until `signing_key_rotate` activates them.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from ruralcast_terminal.crypto import ALGORITHMS

from ruralcast.core.errors import ApplicationError
from ruralcast.signing.models import SigningKey
from ruralcast.signing.services import signing_key_generate


def key_line(key: SigningKey) -> str:
    return f"{key.serial} {key.alg} {key.status} public_key={key.public_key}"


class Command(BaseCommand):
    help = "Generate a signing key (active if none is, otherwise pending until signing_key_rotate)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alg", choices=ALGORITHMS, help="default: settings.RURALCAST_SIGNING_ALG")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = signing_key_generate(actor=None, alg=options["alg"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(key_line(key))
