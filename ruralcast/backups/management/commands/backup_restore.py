"""`manage.py backup_restore DIR [--verify-only] [--no-keys] [--passphrase-file FILE] [--no-migrate]`.

Verifies every file of the backup in DIR against its manifest (and the manifest against the
passphrase), then restores it onto this instance, which must be empty (a new database, an empty
RUN_DIR and MEDIA_ROOT), migrates, and verifies the audit chain and the signing keys. With
`--verify-only` it checks the backup and writes nothing (a monthly drill without a spare machine).
Exits non-zero if anything is refused or does not verify.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ruralcast.backups import crypto
from ruralcast.backups.manifest import BackupError
from ruralcast.backups.restore import backup_restore, backup_verify


class Command(BaseCommand):
    help = "Verify a backup and restore it onto this empty instance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help="the backup folder written by backup_create")
        parser.add_argument(
            "--passphrase-file",
            type=Path,
            help=f"file holding the backup's passphrase (default: ${crypto.PASSPHRASE_ENV})",
        )
        parser.add_argument("--no-keys", action="store_true", help="do not restore the private signing keys")
        parser.add_argument("--no-migrate", action="store_true", help="do not run migrate after the restore")
        parser.add_argument("--verify-only", action="store_true", help="check the backup, restore nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["directory"]
        with_keys = not options["no_keys"]
        try:
            passphrase = crypto.passphrase_read(file=options["passphrase_file"])
            if options["verify_only"]:
                verified = backup_verify(directory=directory, passphrase=passphrase, with_keys=with_keys)
                authenticated = "manifest authenticated" if verified.authenticated else "manifest NOT authenticated"
                self.stdout.write(
                    self.style.SUCCESS(f"backup OK: {len(verified.files)} files match the manifest ({authenticated})")
                )
                return
            report = backup_restore(
                directory=directory,
                passphrase=passphrase,
                with_keys=with_keys,
                migrate=not options["no_migrate"],
                say=self.stdout.write,
            )
        except BackupError as error:
            raise CommandError(error.message) from error
        for problem in report.audit_problems:
            self.stderr.write(problem)
        if report.keys_missing:
            self.stderr.write(f"trusted signing keys that cannot sign here: {', '.join(report.keys_missing)}")
        if not report.ok:
            raise CommandError("restored, but the checks FAILED (see above): do not put this instance into service")
        self.stdout.write(
            self.style.SUCCESS(
                f"restore OK: audit chain verified ({report.audit_checked} events), "
                f"keys checked: {', '.join(report.keys_checked) or 'none'}"
            )
        )
