"""Benchmark: live aggregation of a province-sized reporting data set on PostgreSQL and SQLite.

A synthetic province (10 cities × 10 counties × 10 townships × N/1000 villages; N = 20,000 by
default), 20 data elements (12 sum, 4 average, 4 last) and 24 monthly periods: N × 20 × 24 values
(9.6 million at full size), loaded into a fresh database of each kind. Timed:

- load_s: the bulk load (PostgreSQL: COPY with the table's indexes and constraints dropped and
  re-created afterwards, then VACUUM ANALYZE; SQLite: executemany in one transaction, indexes
  re-created afterwards, then ANALYZE);
- totals_ms: every element's total for one period at every level from the province down to the
  townships (`analytics.totals_all_levels`: one grouped scan, rolled up in memory);
- pivot_ms: one element, all counties × 24 periods (`analytics.aggregate(by_period=True)`);
- pivot_last_ms: a "last value" element over the 24 periods together (window function);
- baselines in the same run: the bare scans those views cannot beat (count and sum of the same
  rows, no grouping): totals_baseline_ms, pivot_baseline_ms; and the ratios.

Medians of --repeat runs after one warm-up. Each database is created for the run and removed
afterwards (PostgreSQL: `rc_reporting_bench` on the server of scripts/postgres.sh, or
BENCH_POSTGRES_URL). Prints one JSON line and appends it to docs/benchmarks.md.

    .venv/bin/python bench/reporting.py                 # full size, both databases
    .venv/bin/python bench/reporting.py --villages 2000 --database sqlite
"""

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "reporting"
CITIES, COUNTIES, TOWNSHIPS = 10, 10, 10
PERIODS = [f"{2024 + i // 12}-{i % 12 + 1:02d}" for i in range(24)]
GOAL_MS = 500


def _regions(villages: int) -> list[tuple[str, str, int, str | None]]:
    per_township = max(1, villages // (CITIES * COUNTIES * TOWNSHIPS))
    rows: list[tuple[str, str, int, str | None]] = [
        ("000000000000", "全国", 0, None),
        ("520000000000", "省", 1, "000000000000"),
    ]
    for c in range(1, CITIES + 1):
        city = f"52{c:02d}"
        rows.append((city.ljust(12, "0"), f"市{c}", 2, "520000000000"))
        for k in range(1, COUNTIES + 1):
            county = f"{city}{k:02d}"
            rows.append((county.ljust(12, "0"), f"县{c}-{k}", 3, city.ljust(12, "0")))
            for t in range(1, TOWNSHIPS + 1):
                township = f"{county}{t:03d}"
                rows.append((township.ljust(12, "0"), f"镇{c}-{k}-{t}", 4, county.ljust(12, "0")))
                for v in range(1, per_township + 1):
                    rows.append((f"{township}{v:03d}", f"村{c}-{k}-{t}-{v}", 5, township.ljust(12, "0")))
    return rows


def _value(element: int, period: int, village: int) -> float:
    return float((element * 7 + period * 3 + village * 11) % 97 + 1)


def child(database: str, villages: int, repeat: int) -> dict[str, Any]:
    """Runs in its own process (one Django set-up per database)."""
    from django.db import connection

    from bench.common import bench_django

    with bench_django(BENCH_DB, database=database):
        return _run(connection, database, villages, repeat)


def _run(connection: Any, database: str, villages: int, repeat: int) -> dict[str, Any]:
    from bench.common import median
    from ruralcast.regions.models import Region
    from ruralcast.reporting.analytics import aggregate, totals_all_levels
    from ruralcast.reporting.models import DataElement, DataValue

    regions = _regions(villages)
    Region.objects.bulk_create(
        [Region(code=code, name=name, level=level, parent_id=parent) for code, name, level, parent in regions],
        batch_size=5000,
        ignore_conflicts=True,
    )
    aggregations = ["sum"] * 12 + ["average"] * 4 + ["last"] * 4
    elements = [
        DataElement.objects.create(code=f"e{i:02d}", name=f"指标{i}", line=8, aggregation=agg)
        for i, agg in enumerate(aggregations)
    ]
    village_codes = [code for code, _n, level, _p in regions if level == 5]
    table = DataValue._meta.db_table
    started = time.perf_counter()
    if database == "postgresql":
        _load_postgresql(connection, table, elements, village_codes)
    else:
        _load_sqlite(connection, table, elements, village_codes)
    load_s = time.perf_counter() - started
    values = DataValue.objects.count()
    province = Region.objects.get(code="520000000000")
    period = PERIODS[-1]

    def timed(function: Any) -> tuple[float, Any]:
        function()  # warm-up
        runs, result = [], None
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = function()
            runs.append((time.perf_counter() - t0) * 1000)
        return median(runs), result

    totals_ms, levels = timed(lambda: totals_all_levels(elements=elements, period=period, region=province))
    pivot_ms, pivot = timed(
        lambda: aggregate(items=[elements[0]], periods=PERIODS, region=province, level=3, by_period=True)
    )
    pivot_last_ms, _last = timed(lambda: aggregate(items=[elements[-1]], periods=PERIODS, region=province, level=3))

    def bare(sql: str, params: list[Any]) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    totals_baseline_ms, _ = timed(lambda: bare(f"SELECT COUNT(*), SUM(value) FROM {table} WHERE period = %s", [period]))
    pivot_baseline_ms, _ = timed(
        lambda: bare(f"SELECT COUNT(*), SUM(value) FROM {table} WHERE element_id = %s", [elements[0].pk])
    )
    # Check the figures against the generator, so a fast wrong answer cannot pass.
    expected = sum(_value(0, len(PERIODS) - 1, i) for i in range(len(village_codes)))
    assert abs(levels[1]["52"]["e00"] - expected) < 1e-6, (levels[1]["52"]["e00"], expected)
    cells = [pivot.value(r.code, "e00", p) for r in pivot.rows for p in PERIODS]
    assert len(pivot.rows) == CITIES * COUNTIES and all(c is not None for c in cells)
    return {
        "database": database,
        "villages": len(village_codes),
        "elements": len(elements),
        "periods": len(PERIODS),
        "values": values,
        "load_s": round(load_s, 2),
        "totals_ms": totals_ms,
        "totals_levels": {str(k): len(v) for k, v in levels.items()},
        "totals_baseline_ms": totals_baseline_ms,
        "totals_vs_baseline": round(totals_ms / totals_baseline_ms, 2),
        "pivot_cells": len(cells),
        "pivot_ms": pivot_ms,
        "pivot_baseline_ms": pivot_baseline_ms,
        "pivot_vs_baseline": round(pivot_ms / pivot_baseline_ms, 2),
        "pivot_last_ms": pivot_last_ms,
    }


def _rows_text(elements: list[Any], village_codes: list[str], stamp: str) -> Any:
    for v, code in enumerate(village_codes):
        lines = []
        for e, element in enumerate(elements):
            for p, period in enumerate(PERIODS):
                lines.append(f"{element.pk}\t{period}\t{code}\t{_value(e, p, v)}\t\t{stamp}\n")
        yield "".join(lines)


def _load_postgresql(connection: Any, table: str, elements: list[Any], village_codes: list[str]) -> None:
    """COPY with the indexes and constraints dropped, then re-created (the usual bulk load)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u')",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE %s",
            [table, "%_pkey"],
        )
        indexes = [(n, d) for n, d in cursor.fetchall() if n not in {c for c, _d in constraints}]
        for name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    raw = connection.connection
    stamp = "2026-01-01 00:00:00+00"
    columns = "element_id, period, region_id, value, text, updated_at"
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for chunk in _rows_text(elements, village_codes, stamp):
            copy.write(chunk)
    raw.commit()
    with connection.cursor() as cursor:
        for _name, definition in indexes:
            cursor.execute(definition)
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    raw.commit()
    old_autocommit = raw.autocommit
    raw.autocommit = True
    with raw.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    raw.autocommit = old_autocommit


def _load_sqlite(connection: Any, table: str, elements: list[Any], village_codes: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table])
        indexes = [(n, s) for n, s in cursor.fetchall() if s]
        for name, _sql in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    stamp = "2026-01-01 00:00:00"
    raw = connection.connection
    raw.execute("BEGIN")
    sql = f"INSERT INTO {table} (element_id, period, region_id, value, text, updated_at) VALUES (?, ?, ?, ?, '', ?)"
    for v, code in enumerate(village_codes):
        raw.executemany(
            sql,
            [
                (element.pk, period, code, _value(e, p, v), stamp)
                for e, element in enumerate(elements)
                for p, period in enumerate(PERIODS)
            ],
        )
    for _name, definition in indexes:
        raw.execute(definition)
    raw.execute("COMMIT")
    raw.execute("ANALYZE")


def main() -> None:
    from bench.common import database_runs, record

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--villages", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    done = database_runs(
        parser, __file__, lambda database, args: child(database, args.villages, args.repeat), ["villages", "repeat"]
    )
    if done is not None:
        args, runs = done
        record("reporting", {"goal_ms": GOAL_MS, "repeat": args.repeat, "runs": runs})


if __name__ == "__main__":
    main()
