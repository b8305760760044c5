"""The figure registry: operational figures that apps publish, which nobody types in.

An app registers a function that answers "what is this figure for the subtree of region R over the
dates [start, end)?" (local days); reporting lists each registered code as the `source` of a data
element and asks the function wherever totals, pivots, circulars and dashboards need the value.
The app that owns the data publishes the figure, from its own `figures.py`, in its
`AppConfig.ready()`:

    # ruralcast/terminals/figures.py
    def terminals_installed(*, region_code: str, start: date, end: date) -> int: ...

    FIGURES = [FigureSource("terminals.installed", _("Terminals installed"), "number", "last", terminals_installed)]

    # ruralcast/terminals/apps.py, in ready()
    for source in figures.FIGURES:
        register_figure_source(*source)

The function covers the whole subtree of the region it is given (`regions.codes.subtree_q`) and
returns None when the figure does not exist there (nothing sent, no terminal): reporting shows a
gap, not a zero. `aggregation` says how values of several periods combine: `sum` (counts of events),
`average` (rates), `last` (stocks such as terminals installed).
"""

import datetime
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

# The value types and aggregations reporting's data elements know (reporting.models.ValueType,
# Aggregation; a test there checks they agree). Text is not a figure.
VALUE_TYPES = ("number", "percent", "money")
AGGREGATIONS = ("sum", "average", "last")


class FigureFunction(Protocol):
    def __call__(self, *, region_code: str, start: datetime.date, end: datetime.date) -> int | float | None: ...


class FigureSource(NamedTuple):
    """One published figure. A tuple, so an app's `FIGURES` list also reads as plain rows
    (`for code, label, value_type, aggregation, fn in FIGURES`)."""

    code: str  # "<app>.<figure>", e.g. "alerts.coverage"; reporting's data elements name it as source
    label: Any  # str or lazy translation, shown where no data element names the figure
    value_type: str  # one of VALUE_TYPES
    aggregation: str  # one of AGGREGATIONS
    fn: Callable[..., int | float | None]  # a FigureFunction


_SOURCES: dict[str, FigureSource] = {}


def register_figure_source(
    code: str, label: Any, value_type: str, aggregation: str, fn: Callable[..., int | float | None]
) -> FigureSource:
    """Publish a figure (from the owning app's `AppConfig.ready()`). Registering the same code again
    replaces the function (tests and reloads)."""
    if value_type not in VALUE_TYPES:
        raise ValueError(f"value_type must be number, percent or money, not {value_type!r}")
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {list(AGGREGATIONS)}, not {aggregation!r}")
    source = FigureSource(code=code, label=label, value_type=value_type, aggregation=aggregation, fn=fn)
    _SOURCES[code] = source
    return source


def unregister_figure_source(code: str) -> None:
    """Withdraw a figure (tests; an app switched off)."""
    _SOURCES.pop(code, None)


def figure_sources() -> dict[str, FigureSource]:
    """Every published figure, by code."""
    return dict(_SOURCES)


def figure_source(code: str) -> FigureSource | None:
    return _SOURCES.get(code)
