"""`manage.py audit_verify`: recompute the audit hash chain; exit 1 if anything was tampered with."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ruralcast.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_verify()
        for problem in report.problems:
            self.stderr.write(problem)
        if not report.ok:
            raise CommandError(f"audit chain BROKEN: {len(report.problems)} problem(s) in {report.checked} events")
        self.stdout.write(self.style.SUCCESS(f"audit chain OK: {report.checked} events verified"))
