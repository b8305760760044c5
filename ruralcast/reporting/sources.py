"""Operational figures as reporting reads them: values other apps publish, which nobody types in.

Apps publish through the figure registry (`ruralcast.core.registries.figures`, from their own
`figures.py`, in their `AppConfig.ready()`); reporting lists each registered code as the `source`
of a data element and reads it live here wherever totals, pivots and dashboards need it. Reporting
imports no domain app for that, and no domain app imports reporting.
"""

import datetime

from ruralcast.core.registries.figures import figure_source


def figure_value(*, code: str, region_code: str, start: datetime.date, end: datetime.date) -> float | None:
    """The figure for one region subtree and date range; None when no app publishes it."""
    source = figure_source(code)
    if source is None:
        return None
    value = source.fn(region_code=region_code, start=start, end=end)
    return None if value is None else float(value)
