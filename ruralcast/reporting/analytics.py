"""Live aggregation over region-code prefixes: no analytics tables, no rebuild step.

Every value is stored once, at the region that entered it. A total for a region R over a set of
periods is one indexed range scan of R's code range, grouped by the first n characters of the code
(n = 2, 4, 6, 9 or 12 for the level of the rows asked for). Each aggregation type keeps what makes
it correct at every level:

- sum: the sum of the values;
- average: sum and count, so a province's average is the mean of all values below it (never a mean
  of means);
- last: per entering region the value of its latest period in the set, then summed up the tree
  (stock figures such as "terminals installed").

Indicators are formulas evaluated on the aggregated element values of each cell (a county's online
rate is its online total ÷ its installed total, not the mean of its villages' rates). Operational
figures (`reporting.sources`) are asked for each row region and period.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection

from ruralcast.regions.codes import CODE_LENGTH, PREFIX_LENGTH, Level
from ruralcast.regions.models import Region
from ruralcast.reporting.formulas import formula_evaluate, formula_names
from ruralcast.reporting.models import Aggregation, DataElement, DataValue, Indicator, ValueType
from ruralcast.reporting.periods import period_bounds
from ruralcast.reporting.sources import figure_value

ALL_PERIODS = ""  # the period key of a cell that combines every period asked for
# (element id, period key, group code) -> [sum, count]
Partials = dict[tuple[int, str, str], list[float]]


def _code_range(prefix: str) -> tuple[str, str]:
    return prefix.ljust(CODE_LENGTH, "0"), prefix.ljust(CODE_LENGTH, "9")


def _stored_partials(
    elements: Sequence[DataElement], periods: Sequence[str], prefix: str, length: int, by_period: bool
) -> Partials:
    """Sums and counts of stored values per element, (period) and code prefix of `length`.

    Plain SQL (the same text on SQLite and PostgreSQL): on the hot path the ORM's per-row
    converters cost more than the scan itself."""
    partials: Partials = {}
    plain = [e.pk for e in elements if e.aggregation != Aggregation.LAST or by_period or len(periods) == 1]
    last = [e.pk for e in elements if e.pk not in plain]
    low, high = _code_range(prefix)
    table = connection.ops.quote_name(DataValue._meta.db_table)
    group = f"substr(region_id, 1, {int(length)})"
    period_marks = ", ".join(["%s"] * len(periods))
    if plain:
        period_column = "period" if by_period else "''"
        marks = ", ".join(["%s"] * len(plain))
        sql = (
            f"SELECT element_id, {period_column}, {group}, SUM(value), COUNT(value) FROM {table}"  # noqa: S608
            f" WHERE period IN ({period_marks}) AND element_id IN ({marks})"
            f" AND region_id >= %s AND region_id <= %s AND value IS NOT NULL"
            f" GROUP BY element_id, {'period, ' if by_period else ''}{group}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*periods, *plain, low, high])
            for element_id, period, code, total, n in cursor.fetchall():
                partials[(element_id, period, code)] = [total, n]
    if last:
        marks = ", ".join(["%s"] * len(last))
        sql = (
            f"SELECT element_id, {group}, SUM(value), COUNT(value) FROM ("  # noqa: S608
            f" SELECT element_id, region_id, value, ROW_NUMBER() OVER"
            f" (PARTITION BY element_id, region_id ORDER BY period DESC) AS rn FROM {table}"
            f" WHERE period IN ({period_marks}) AND element_id IN ({marks})"
            f" AND region_id >= %s AND region_id <= %s AND value IS NOT NULL"
            f") latest WHERE rn = 1 GROUP BY element_id, {group}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*periods, *last, low, high])
            for element_id, code, total, n in cursor.fetchall():
                partials[(element_id, ALL_PERIODS, code)] = [total, n]
    return partials


def _rollup(partials: Partials, length: int) -> Partials:
    """The same partials grouped by a shorter code prefix (sums and counts add up)."""
    rolled: Partials = {}
    for (element_id, period, group), (total, n) in partials.items():
        key = (element_id, period, group[:length])
        cell = rolled.get(key)
        if cell is None:
            rolled[key] = [total, n]
        else:
            cell[0] += total
            cell[1] += n
    return rolled


def _finish(aggregation: str, partial: list[float] | None) -> float | None:
    if not partial or not partial[1]:
        return None
    return partial[0] / partial[1] if aggregation == Aggregation.AVERAGE else partial[0]


def _combine(aggregation: str, values: list[float | None]) -> float | None:
    """Values of one figure over several periods (oldest first) combined by its aggregation."""
    present = [value for value in values if value is not None]
    if not present:
        return None
    if aggregation == Aggregation.SUM:
        return sum(present)
    if aggregation == Aggregation.AVERAGE:
        return sum(present) / len(present)
    return present[-1]


@dataclass
class Table:
    """Rows (regions) × columns (item code, period key) → value; `total` is the row of the region."""

    region: Region
    rows: list[Region]
    items: list[DataElement | Indicator]
    periods: list[str]
    by_period: bool
    values: dict[tuple[str, str, str], float | None] = field(default_factory=dict)

    @property
    def period_keys(self) -> list[str]:
        return list(self.periods) if self.by_period else [ALL_PERIODS]

    def value(self, region_code: str, item_code: str, period: str = ALL_PERIODS) -> float | None:
        return self.values.get((region_code, item_code, period))

    def row_values(self, region_code: str) -> list[float | None]:
        return [self.value(region_code, item.code, p) for item in self.items for p in self.period_keys]


def _elements_needed(items: Sequence[DataElement | Indicator]) -> list[DataElement]:
    codes: set[str] = set()
    for item in items:
        codes |= formula_names(item.formula) if isinstance(item, Indicator) else {item.code}
    return list(DataElement.objects.filter(code__in=codes).exclude(value_type=ValueType.TEXT))


def aggregate(
    *,
    items: Sequence[DataElement | Indicator],
    periods: Sequence[str],
    region: Region,
    level: int | None = None,
    by_period: bool = False,
) -> Table:
    """Values of elements and indicators for the regions at `level` below `region` (its children
    by default) and for `region` itself, over `periods` (each separately when `by_period`)."""
    level = min(region.level + 1, Level.VILLAGE) if level is None else max(level, region.level)
    rows = (
        list(Region.objects.filter(parent=region).order_by("code"))
        if level == region.level + 1
        else list(
            Region.objects.filter(
                code__gte=_code_range(region.prefix)[0], code__lte=_code_range(region.prefix)[1], level=level
            ).order_by("code")
        )
    )
    if level == region.level:
        rows = []
    length = PREFIX_LENGTH[level]
    elements = _elements_needed(items)
    stored = [e for e in elements if not e.source]
    partials = _stored_partials(stored, periods, region.prefix, length, by_period)
    totals = _rollup(partials, len(region.prefix))
    # Each row's key as the stored groups see it (a city without counties shares its prefix).
    row_keys = [(row.code, row.code[:length]) for row in rows] + [(region.code, region.prefix)]
    period_keys = list(periods) if by_period else [ALL_PERIODS]
    cells: dict[tuple[str, str], dict[str, float | None]] = defaultdict(dict)
    for code, key in row_keys:
        source = totals if code == region.code else partials
        for period in period_keys:
            cell = cells[(code, period)]
            for element in stored:
                cell[element.code] = _finish(element.aggregation, source.get((element.pk, period, key)))
    for element in (e for e in elements if e.source):
        for code, _key in row_keys:
            per_period = {p: _figure(element.source, code, p) for p in periods}
            for period in period_keys:
                cells[(code, period)][element.code] = (
                    per_period[period]
                    if by_period
                    else _combine(element.aggregation, [per_period[p] for p in sorted(periods)])
                )
    table = Table(region=region, rows=rows, items=list(items), periods=list(periods), by_period=by_period)
    for (code, period), cell in cells.items():
        for item in items:
            value = formula_evaluate(item.formula, cell) if isinstance(item, Indicator) else cell.get(item.code)
            table.values[(code, item.code, period)] = value
    return table


def _figure(source: str, region_code: str, period: str) -> float | None:
    start, end = period_bounds(period)
    return figure_value(code=source, region_code=region_code, start=start, end=end)


def totals_all_levels(
    *, elements: Iterable[DataElement], period: str, region: Region, deepest: int = Level.TOWNSHIP
) -> dict[int, dict[str, dict[str, float | None]]]:
    """Every stored element's total for one period at every level from `region` down to `deepest`:
    one grouped scan at the deepest level, rolled up in memory. {level: {group code: {element: v}}}"""
    elements = [e for e in elements if not e.source and e.value_type != ValueType.TEXT]
    rolled = _stored_partials(elements, [period], region.prefix, PREFIX_LENGTH[deepest], False)
    by_pk = {e.pk: (e.code, e.aggregation == Aggregation.AVERAGE) for e in elements}
    result: dict[int, dict[str, dict[str, float | None]]] = {}
    for level in range(deepest, region.level - 1, -1):
        if level != deepest:
            rolled = _rollup(rolled, PREFIX_LENGTH[level])  # each level from the one below it
        level_values: dict[str, dict[str, float | None]] = defaultdict(dict)
        for (element_id, _period, group), (total, n) in rolled.items():
            code, average = by_pk[element_id]
            level_values[group][code] = (total / n if average else total) if n else None
        result[level] = dict(level_values)
    return result


def ranking(
    *, item: DataElement | Indicator, periods: Sequence[str], region: Region, level: int | None = None
) -> list[tuple[Region, float | None]]:
    """The regions at `level` below `region` ordered by the item's value, highest first (empty last)."""
    table = aggregate(items=[item], periods=periods, region=region, level=level)
    ranked = [(row, table.value(row.code, item.code)) for row in table.rows]
    return sorted(ranked, key=lambda pair: (pair[1] is None, -(pair[1] or 0.0), pair[0].code))
