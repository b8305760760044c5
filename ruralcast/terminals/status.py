"""The live side of the registry: current state rows, status reports in batches, offline detection.

Written by the ingest worker (the `status` uplink handler, registered in `TerminalsConfig.ready`) and
by the fleet sweeper (`manage.py fleet`); read by the console's online rates and map.
"""

from collections.abc import Iterable

from ruralcast.terminals.models import Terminal, TerminalState


def states_create(terminals: Iterable[Terminal]) -> None:
    """A state row (offline, never seen) for each new terminal."""
    TerminalState.objects.bulk_create(
        [TerminalState(terminal_id=t.code, village_code=t.village_id) for t in terminals],
        batch_size=2000,
        ignore_conflicts=True,
    )
