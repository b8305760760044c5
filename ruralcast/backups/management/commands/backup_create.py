"""`manage.py backup_create --out DIR [--no-keys] [--passphrase-file FILE]`: back this instance up.

The database, the signing keys (encrypted under the passphrase in RURALCAST_BACKUP_PASSPHRASE or the
file given), media, uploads and the broker's state go into the new folder DIR with a manifest of
every file's size and SHA-256. See ruralcast/backups and docs/deploy.md ("Backup and restore").
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ruralcast.backups import crypto
from ruralcast.backups.create import backup_create
from ruralcast.backups.manifest import BackupError


class Command(BaseCommand):
    help = "Back up the database, signing keys (encrypted), media, uploads and broker state into a new folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="a new (or empty) folder for the backup")
        parser.add_argument(
            "--passphrase-file",
            type=Path,
            help=f"file holding the passphrase that encrypts the keys (default: ${crypto.PASSPHRASE_ENV})",
        )
        parser.add_argument("--no-keys", action="store_true", help="leave the private signing keys out")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            passphrase = None if options["no_keys"] else crypto.passphrase_read(file=options["passphrase_file"])
            report = backup_create(out=options["out"], passphrase=passphrase, include_keys=not options["no_keys"])
        except BackupError as error:
            raise CommandError(error.message) from error
        keys = ", ".join(report.key_serials) if report.key_serials else "none (--no-keys)"
        self.stdout.write(
            self.style.SUCCESS(
                f"backup written to {report.directory}: {report.files} files, {report.bytes} bytes, "
                f"database {report.database}, keys {keys}"
            )
        )
