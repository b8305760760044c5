"""`manage.py notifications_run [--every SECONDS]`: escalate unanswered pages, send due deliveries.

Procfile: `paging: … notifications_run --every 15`. Safe to run twice at once (two machines, or a
restart overlapping the old process): each escalation step and each delivery is claimed by a
conditional update, so nothing is paged or sent twice by the two of them.
"""

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from ruralcast.notifications.delivery import deliveries_send
from ruralcast.notifications.paging import escalations_run

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Page the next tier where nobody on duty answered in time, and send e-mail/SMS still due (once, or every N seconds)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds (0: run once)")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            close_old_connections()
            try:
                report = escalations_run()
                sent = deliveries_send()
            except Exception:
                if not options["every"]:
                    raise
                # The loop outlives a database restart: log, wait, try again.
                log.exception("notifications_run: this pass failed; trying again")
            else:
                if report.escalated or report.exhausted or report.expired or sent:
                    self.stdout.write(
                        f"escalated {report.escalated}, exhausted {report.exhausted}, expired {report.expired}, "
                        f"deliveries sent {sent}"
                    )
            if not options["every"]:
                return
            time.sleep(options["every"])
