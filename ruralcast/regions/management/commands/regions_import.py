"""`manage.py regions_import [--province NN]`: load the division tree, with a progress bar."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ruralcast.core.errors import ApplicationError
from ruralcast.regions.importer import count_division_rows
from ruralcast.regions.services import regions_import


class Command(BaseCommand):
    help = "Import (idempotently) the national division tree, or one province of it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--province", help="2-digit province code, e.g. 52 for Guizhou; default: all")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        province = options.get("province")
        started = time.perf_counter()
        bar = None
        if not options["no_progress"]:
            total = count_division_rows(settings.REGION_DATA_DIR, province=province)
            bar = tqdm(total=total, unit="rows", desc=f"regions {province or 'all'}", file=self.stderr._out)
        try:
            counts = regions_import(province=province, progress=bar.update if bar else None)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        finally:
            if bar:
                bar.close()
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"imported {counts.total} regions in {elapsed:.1f} s: {counts.by_level}"))
