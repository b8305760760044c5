"""Benchmark: import of the full national division tree (665,277 regions) and subtree queries.

Runs on a fresh SQLite file (or a throwaway PostgreSQL database with BENCH_POSTGRES_URL) and reports:
- import_s: `regions_import()` of the whole country into an empty database (pinyin included);
- reimport_s: the same again (idempotent upsert of existing rows);
- baseline_insert_s: the floor for the same rows: plain sqlite3 executemany of (code, name,
  level, parent) with no pinyin and no ORM, into a table of the same shape; ratio = import/baseline;
- subtree_prefix_ms vs subtree_recursive_ms: counting Guizhou's subtree by code range (our way)
  against a recursive CTE walk over parent links (the usual alternative), medians of repeats.
Prints one JSON line and appends it to docs/benchmarks.md.
"""

import argparse
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_django, median, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1, help="full imports to time (each ~1 min)")
    parser.add_argument("--query-repeat", type=int, default=30)
    args = parser.parse_args()

    with bench_django("regions") as workdir:
        run(args, workdir)


def run(args: argparse.Namespace, workdir: Path) -> None:
    from django.conf import settings
    from django.db import connection

    from ruralcast.regions.importer import read_division_rows
    from ruralcast.regions.models import Region
    from ruralcast.regions.selectors import region_get, region_subtree

    import_times, reimport_times = [], []
    for attempt in range(args.repeat):
        if attempt:
            Region.objects.exclude(code="000000000000").filter(level=5).delete()
        started = time.perf_counter()
        from ruralcast.regions.services import regions_import

        counts = regions_import()
        import_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        regions_import()
        reimport_times.append(time.perf_counter() - started)

    rows = [
        (r.code, r.name, r.level, r.parent_code) for r in read_division_rows(settings.REGION_DATA_DIR, province=None)
    ]
    baseline_times = []
    for _ in range(3):
        path = workdir / "baseline.sqlite3"
        path.unlink(missing_ok=True)
        started = time.perf_counter()
        raw = sqlite3.connect(path)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("CREATE TABLE region (code TEXT PRIMARY KEY, name TEXT, level INT, parent TEXT)")
        raw.execute("CREATE INDEX region_name ON region(name)")
        raw.execute("CREATE INDEX region_parent ON region(parent)")
        raw.executemany("INSERT INTO region VALUES (?, ?, ?, ?)", rows)
        raw.commit()
        raw.close()
        baseline_times.append(time.perf_counter() - started)

    guizhou = region_get(code="520000000000")
    prefix_ms, recursive_ms = [], []
    expected = region_subtree(region=guizhou).count()
    for _ in range(args.query_repeat):
        started = time.perf_counter()
        assert region_subtree(region=guizhou).count() == expected
        prefix_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH RECURSIVE sub(code) AS (SELECT code FROM regions_region WHERE code = %s "
                "UNION ALL SELECT r.code FROM regions_region r JOIN sub ON r.parent_id = sub.code) "
                "SELECT count(*) FROM sub",
                [guizhou.code],
            )
            assert cursor.fetchone()[0] == expected
        recursive_ms.append((time.perf_counter() - started) * 1000)

    import_s, baseline_s = median(import_times), median(baseline_times)
    record(
        "regions_import",
        {
            "database": connection.vendor,
            "rows": counts.total,
            "import_s": import_s,
            "reimport_s": median(reimport_times),
            "baseline_insert_s": baseline_s,
            "import_vs_baseline": round(import_s / baseline_s, 2),
            "goal_import_s": 120,
            "subtree_rows": expected,
            "subtree_prefix_ms": median(prefix_ms),
            "subtree_recursive_ms": median(recursive_ms),
            "recursive_vs_prefix": round(median(recursive_ms) / median(prefix_ms), 1),
        },
    )


if __name__ == "__main__":
    main()
