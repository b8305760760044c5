"""Demo figures for the reporting module: twelve months of plausible values for the counties of
the demo province and the villages of the demo county, so dashboards and circulars have content.

A believable year: terminals online never exceed the terminals installed then (read from the
terminal registry's published figure, so call this after the demo terminals are registered), and
no report is dated after now (the current period's reports were saved during it, not after its end).

Deterministic (seeded) and idempotent: nothing is written when values already exist."""

import random
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from ruralcast.regions.codes import Level, subtree_q
from ruralcast.regions.models import Region
from ruralcast.reporting.models import DataSet, DataValue, PeriodType, ReportReceipt, ValueType
from ruralcast.reporting.periods import current_period, period_bounds, period_range
from ruralcast.reporting.services import entry_elements
from ruralcast.reporting.sources import figure_value


def demo_values_create(*, province: Region, county: Region, months: int = 12) -> int:
    """Values for every monthly data set (villages of `county` for village-level sets, every
    county of `province` otherwise), leaving a few reporters out so completeness has gaps."""
    if DataValue.objects.exists():
        return 0
    rng = random.Random(2020)  # noqa: S311 - demo figures, not secrets
    now = timezone.now()
    periods = period_range(current_period(PeriodType.MONTHLY), months)
    rows: list[DataValue] = []
    receipts: list[ReportReceipt] = []
    for data_set in DataSet.objects.filter(period_type=PeriodType.MONTHLY):
        parent = county if data_set.entry_level == Level.VILLAGE else province
        regions = list(Region.objects.filter(subtree_q(parent.prefix), level=data_set.entry_level))
        elements = [e for e in entry_elements(data_set=data_set) if e.value_type != ValueType.TEXT]
        counts_terminals = any(e.code in ("terminals_online", "terminals_planned") for e in elements)
        for region in regions:
            scale = rng.uniform(0.5, 1.5)
            for index, period in enumerate(periods):
                if index == len(periods) - 1 and rng.random() < 0.15:
                    continue  # has not reported the latest month yet
                growth = 1 + 0.03 * index
                start, end = period_bounds(period)
                installed = (
                    figure_value(code="terminals.installed", region_code=region.code, start=start, end=end)
                    if counts_terminals
                    else 0
                )
                values = _values(rng, elements, scale, growth, installed=int(installed or 0))
                rows += [DataValue(element=e, period=period, region=region, value=v) for e, v in values]
                saved = timezone.make_aware(datetime.combine(end + timedelta(days=rng.randint(0, 12)), time(10)))
                if saved > now:  # the current period (or one just ended): saved before now, after it began
                    begun = timezone.make_aware(datetime.combine(start, time(8)))
                    saved = max(begun, now - timedelta(hours=rng.randint(1, 72)))
                receipts.append(
                    ReportReceipt(
                        data_set=data_set, period=period, region=region, first_saved_at=saved, last_saved_at=saved
                    )
                )
    with transaction.atomic():
        DataValue.objects.bulk_create(rows, batch_size=2000)
        ReportReceipt.objects.bulk_create(receipts, batch_size=2000)
    return len(rows)


def _values(
    rng: random.Random, elements: list[Any], scale: float, growth: float, *, installed: int = 0
) -> list[tuple[Any, float]]:
    """One reporter's figures for one period; `installed`: its terminals registered by the period's end."""
    out: list[tuple[Any, float]] = []
    planned = max(round(3 * scale), installed, 1)
    for element in elements:
        code = element.code
        if code == "terminals_planned":
            value: float = planned
        elif code == "terminals_online":
            # Mostly all installed terminals online, now and then one offline: an online rate ≤ 100 %.
            value = installed if rng.random() < 0.85 else max(installed - 1, 0)
        elif code == "farm_gate_price":
            value = round(6 * scale * growth, 2)
        elif code == "farmer_income":
            value = round(900 * scale * growth)
        elif code == "sales_volume":
            value = round(200000 * scale * growth)
        elif code == "sales_volume_prev":
            value = round(200000 * scale * rng.uniform(0.7, 1.0))
        elif code == "villages_covered":
            value = round(150 * scale)
        else:
            value = round(rng.uniform(5, 60) * scale * growth)
        out.append((element, value))
    return out
