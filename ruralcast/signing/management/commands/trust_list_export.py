"""`manage.py trust_list_export [-o FILE]`: the trust list terminals are provisioned with (JSON)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ruralcast.signing.selectors import trust_list_build


class Command(BaseCommand):
    help = "Print (or write to a file) the trust list: every signing key, revoked ones flagged (protocols.md §6)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", type=Path, help="write here instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        document = trust_list_build().to_json()
        if options["output"]:
            options["output"].write_bytes(document + b"\n")
            self.stderr.write(f"trust list written to {options['output']}")
        else:
            self.stdout.write(document.decode())
