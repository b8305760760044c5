"""Benchmark: the ingest worker's write path for one broadcast's receipts, on PostgreSQL and SQLite.

10,000 terminals' `received` + `started` messages (one MQTT message each, two receipts: 20,000 rows)
go through `messaging.ingest.ingest_batch` in batches of the worker's BATCH_MAX (500): topic and JSON
checks, the registered receipt handlers, `alerts.services.receipts_store`, one transaction a batch.
Timed per message (median of --repeat runs, each on a fresh alert).

Baseline in the same run: the same rows inserted with `executemany` of one INSERT … ON CONFLICT DO
NOTHING a batch, the straightforward way (and what receipts_store did on every database before it
sent PostgreSQL one statement of arrays), without the parsing.

Each database is created for the run and dropped afterwards. Prints one JSON line and appends it to
docs/benchmarks.md.

    .venv/bin/python bench/receipts.py                        # both databases
    .venv/bin/python bench/receipts.py --database sqlite --messages 2000
"""

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruralcast_terminal import topics

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "receipts"


def child(database: str, messages: int, repeat: int) -> dict[str, Any]:
    """Runs in its own process (one Django set-up per database)."""
    from django.db import connection

    from bench.common import bench_django

    with bench_django(BENCH_DB, database=database):
        return _run(connection, database, messages, repeat)


def _alert(serial: int) -> Any:
    """A bare alert row to hang receipts on (the write path only needs its id)."""
    from django.utils import timezone

    from ruralcast.accounts.models import User
    from ruralcast.alerts.models import Alert
    from ruralcast.regions.models import Region

    region, _ = Region.objects.get_or_create(code="520000000000", defaults={"name": "贵州省", "level": 1})
    user, _ = User.objects.get_or_create(username="bench-receipts")
    now = timezone.now()
    return Alert.objects.create(
        ebm_id=f"{serial:035d}", cap_id=f"bench-{serial}", sender_code="1" * 23, sender_name="bench",
        issuer_region=region, event_code="11B03", onset=now, expires=now + timedelta(hours=1),
        title="bench", text="bench", created_by=user,
    )  # fmt: skip


def _messages(ebm_id: str, count: int) -> list[tuple[str, bytes, Any]]:
    from django.utils import timezone
    from ruralcast_terminal.receipts import local_now_iso, receipts_bytes

    out = []
    for n in range(count):
        terminal, at = f"5200{n:019d}", local_now_iso()
        body = receipts_bytes(terminal=terminal, ebm_id=ebm_id, events=[("received", "", at), ("started", "", at)])
        out.append((topics.receipt_topic(terminal), body, timezone.now()))
    return out


def _baseline(connection: Any, alert_id: int, messages: list[tuple[str, bytes, Any]], *, batch: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from ruralcast.alerts.models import Receipt

    table = connection.ops.quote_name(Receipt._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    for start in range(0, len(messages), batch):
        now = adapt(timezone.now())
        rows = [
            (alert_id, topic.split("/")[3], event, "", now, now)
            for topic, _body, _at in messages[start : start + batch]
            for event in ("received", "started")
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (alert_id, terminal_code, event, reason, device_at, stored_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (alert_id, terminal_code, event) DO NOTHING",
                rows,
            )


def _run(connection: Any, database: str, count: int, repeat: int) -> dict[str, Any]:
    from bench.common import median
    from ruralcast.alerts.models import Receipt
    from ruralcast.messaging.ingest import BATCH_MAX, IngestStats, ingest_batch

    batch = BATCH_MAX  # as the worker writes them

    ours, baseline = [], []
    for round_number in range(repeat + 1):  # the first round warms up
        alert = _alert(2 * round_number)
        messages = _messages(alert.ebm_id, count)
        stats = IngestStats()
        started = time.perf_counter()
        for start in range(0, count, batch):
            ingest_batch(messages[start : start + batch], stats=stats)
        elapsed = time.perf_counter() - started
        assert Receipt.objects.filter(alert=alert).count() == 2 * count, stats.as_dict()
        other = _alert(2 * round_number + 1)
        started = time.perf_counter()
        _baseline(connection, other.pk, messages, batch=batch)
        baseline_elapsed = time.perf_counter() - started
        assert Receipt.objects.filter(alert=other).count() == 2 * count
        if round_number:
            ours.append(elapsed / count * 1e6)
            baseline.append(baseline_elapsed / count * 1e6)
    return {
        "database": database,
        "batch": batch,
        "messages": count,
        "rows": 2 * count,
        "ingest_us_per_message": median(ours),
        "executemany_us_per_message": median(baseline),
        "ingest_vs_executemany": round(median(ours) / median(baseline), 2),
        "ingest_messages_per_s": round(1e6 / median(ours)),
    }


def main() -> None:
    from bench.common import database_runs, record

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    done = database_runs(
        parser, __file__, lambda database, args: child(database, args.messages, args.repeat), ["messages", "repeat"]
    )
    if done is not None:
        args, runs = done
        record("receipts", {"repeat": args.repeat, "runs": runs})


if __name__ == "__main__":
    main()
