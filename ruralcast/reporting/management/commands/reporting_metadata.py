"""`manage.py reporting_metadata [file]`: load the starter reporting metadata (idempotent, by code)."""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from ruralcast.reporting.services import metadata_load

METADATA_FILE = Path(settings.BASE_DIR) / "data" / "reporting" / "metadata.json"


class Command(BaseCommand):
    help = "Load data elements, data sets, validation rules and indicators from a JSON file."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", nargs="?", default=str(METADATA_FILE))

    def handle(self, *args: Any, **options: Any) -> None:
        counts = metadata_load(data=json.loads(Path(options["file"]).read_text(encoding="utf-8")))
        self.stdout.write("reporting metadata: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
