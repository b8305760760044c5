"""`manage.py fleet_watch [--every 30]`: the fleet's periodic checks (one process per deployment).

Marks offline the terminals that stopped reporting without a last will (`status.silent_mark_offline`)
times out command targets that did not answer by their deadline (`commands.commands_time_out`),
and opens, resolves and escalates work orders (`maintenance.rules.work_orders_sync`).
With `--every 0` it runs the checks once and exits (cron). It lives in maintenance, the app above
terminals that needs both: terminals never import maintenance.
"""

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, connection

from ruralcast.maintenance.rules import work_orders_sync
from ruralcast.terminals.commands import commands_time_out
from ruralcast.terminals.status import silent_mark_offline

log = logging.getLogger(__name__)


def fleet_checks() -> dict[str, int]:
    done = {"silent": len(silent_mark_offline()), "timed_out": commands_time_out()}
    orders = work_orders_sync()
    done.update(orders_opened=orders.opened, orders_resolved=orders.resolved, orders_escalated=orders.escalated)
    return done


class Command(BaseCommand):
    help = "Run the fleet's periodic checks (silent terminals go offline)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=float, default=30.0, help="seconds between rounds; 0: once")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        while True:
            try:
                done = fleet_checks()
                if any(done.values()):
                    log.info("fleet checks: %s", done)
            except (OperationalError, InterfaceError) as error:
                log.warning("fleet checks: database unavailable (%s)", error)
                connection.close()
            if options["every"] <= 0 or stop.wait(options["every"]):
                break
