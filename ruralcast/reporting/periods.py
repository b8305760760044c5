"""Periods as short strings that sort in time order within one period type.

    monthly    2026-03      quarterly  2026Q1      yearly  2026

`period_bounds` gives the half-open date range [start, end) a period covers, which is what the
operational figure sources receive.
"""

import datetime
import re

from django.utils.translation import gettext as _

from ruralcast.core.errors import ValidationError
from ruralcast.reporting.models import PeriodType

_PATTERNS = {
    PeriodType.MONTHLY: re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    PeriodType.QUARTERLY: re.compile(r"^(\d{4})Q([1-4])$"),
    PeriodType.YEARLY: re.compile(r"^(\d{4})$"),
}


def period_type_of(period: str) -> str:
    for period_type, pattern in _PATTERNS.items():
        if pattern.match(period):
            return str(period_type)
    raise ValidationError(
        _("“%(period)s” is not a period: write 2026-03, 2026Q1 or 2026.") % {"period": period[:20]},
        fields={"period": [_("Not a period.")]},
    )


def period_check(period: str, period_type: str) -> str:
    """The period if it has the given type, else a ValidationError naming the expected form."""
    if period_type_of(period) != period_type:
        example = {"monthly": "2026-03", "quarterly": "2026Q1", "yearly": "2026"}[period_type]
        raise ValidationError(
            _("This data set is reported per %(type)s period, e.g. %(example)s.")
            % {"type": PeriodType(period_type).label, "example": example},
            fields={"period": [_("Wrong period type.")]},
        )
    return period


def period_bounds(period: str) -> tuple[datetime.date, datetime.date]:
    period_type = period_type_of(period)
    year = int(period[:4])
    if period_type == PeriodType.MONTHLY:
        month = int(period[5:7])
        start = datetime.date(year, month, 1)
        end = datetime.date(year + (month == 12), month % 12 + 1, 1)
    elif period_type == PeriodType.QUARTERLY:
        quarter = int(period[5])
        start = datetime.date(year, 3 * quarter - 2, 1)
        end = datetime.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    else:
        start, end = datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)
    return start, end


def period_of(day: datetime.date, period_type: str) -> str:
    if period_type == PeriodType.MONTHLY:
        return f"{day.year:04d}-{day.month:02d}"
    if period_type == PeriodType.QUARTERLY:
        return f"{day.year:04d}Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def period_shift(period: str, steps: int) -> str:
    """The period `steps` periods later (earlier when negative)."""
    period_type = period_type_of(period)
    year = int(period[:4])
    if period_type == PeriodType.MONTHLY:
        index = year * 12 + int(period[5:7]) - 1 + steps
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    if period_type == PeriodType.QUARTERLY:
        index = year * 4 + int(period[5]) - 1 + steps
        return f"{index // 4:04d}Q{index % 4 + 1}"
    return f"{year + steps:04d}"


def period_range(last: str, count: int) -> list[str]:
    """`count` consecutive periods ending with `last`, oldest first."""
    return [period_shift(last, -offset) for offset in range(count - 1, -1, -1)]


def period_deadline(period: str, due_days: int) -> datetime.date:
    """The last day a report for `period` counts as on time."""
    return period_bounds(period)[1] + datetime.timedelta(days=due_days - 1)


def current_period(period_type: str, today: datetime.date | None = None) -> str:
    """The latest period that has ended (the one people report on now)."""
    today = today or datetime.date.today()
    return period_shift(period_of(today, period_type), -1)
