"""Demo figures for the reporting module: twelve months of plausible values for the counties of
the demo province and the villages of the demo county, so dashboards and circulars have content.

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


def demo_values_create(*, province: Region, county: Region, months: int = 12) -> int:
    """Values for every monthly data set (villages of `county` for village-level sets, every
    county of `province` otherwise), leaving a few reporters out so completeness has gaps."""
    if DataValue.objects.exists():
        return 0
    rng = random.Random(2020)  # noqa: S311 - demo figures, not secrets
    periods = period_range(current_period(PeriodType.MONTHLY), months)
    rows: list[DataValue] = []
    receipts: list[ReportReceipt] = []
    for data_set in DataSet.objects.filter(period_type=PeriodType.MONTHLY):
        parent = county if data_set.entry_level == Level.VILLAGE else province
        regions = list(Region.objects.filter(subtree_q(parent.prefix), level=data_set.entry_level))
        elements = [e for e in entry_elements(data_set=data_set) if e.value_type != ValueType.TEXT]
        for region in regions:
            scale = rng.uniform(0.5, 1.5)
            for index, period in enumerate(periods):
                if index == len(periods) - 1 and rng.random() < 0.15:
                    continue  # has not reported the latest month yet
                growth = 1 + 0.03 * index
                values = _values(rng, elements, scale, growth)
                rows += [DataValue(element=e, period=period, region=region, value=v) for e, v in values]
                end = period_bounds(period)[1]
                saved = timezone.make_aware(datetime.combine(end + timedelta(days=rng.randint(0, 12)), time(10)))
                receipts.append(
                    ReportReceipt(
                        data_set=data_set, period=period, region=region, first_saved_at=saved, last_saved_at=saved
                    )
                )
    with transaction.atomic():
        DataValue.objects.bulk_create(rows, batch_size=2000)
        ReportReceipt.objects.bulk_create(receipts, batch_size=2000)
    return len(rows)


def _values(rng: random.Random, elements: list[Any], scale: float, growth: float) -> list[tuple[Any, float]]:
    out: list[tuple[Any, float]] = []
    planned = round(3 * scale) or 1
    for element in elements:
        code = element.code
        if code == "terminals_planned":
            value: float = planned
        elif code == "terminals_online":
            value = rng.randint(max(planned - 2, 0), planned)
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
