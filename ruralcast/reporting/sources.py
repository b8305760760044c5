"""Operational figures: values other modules publish, which nobody types in.

A module registers a function that answers "what is this figure for the subtree of region R over
the dates [start, end)?"; reporting lists each registered figure as a data element (its `source`
is the registered code) and reads it live wherever totals, pivots and dashboards need it:

    register_figure_source("terminals.installed", _("Terminals installed"), "number", "last", fn)

    def fn(*, region_code: str, start: datetime.date, end: datetime.date) -> int | float | None: ...

Register from the owning app's AppConfig.ready() (or a module that reporting imports, like
`reporting.figures` for the modules that existed before reporting). Registering the same code
again replaces the function (tests and reloads).
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ruralcast.reporting.models import Aggregation, ValueType


class FigureFunction(Protocol):
    def __call__(self, *, region_code: str, start: datetime.date, end: datetime.date) -> int | float | None: ...


@dataclass(frozen=True)
class FigureSource:
    code: str
    label: Any  # str or lazy translation
    value_type: str
    aggregation: str
    fn: Callable[..., int | float | None]


_SOURCES: dict[str, FigureSource] = {}


def register_figure_source(
    code: str, label: Any, value_type: str, aggregation: str, fn: Callable[..., int | float | None]
) -> FigureSource:
    """Publish a figure. `aggregation` says how values of several periods combine (sum, average,
    last); the function itself already covers the whole subtree of the region it is given."""
    if value_type not in ValueType.values or value_type == ValueType.TEXT:
        raise ValueError(f"value_type must be number, percent or money, not {value_type!r}")
    if aggregation not in Aggregation.values:
        raise ValueError(f"aggregation must be one of {Aggregation.values}, not {aggregation!r}")
    source = FigureSource(code=code, label=label, value_type=value_type, aggregation=aggregation, fn=fn)
    _SOURCES[code] = source
    return source


def unregister_figure_source(code: str) -> None:
    """Withdraw a figure (tests; a module switched off)."""
    _SOURCES.pop(code, None)


def figure_sources() -> dict[str, FigureSource]:
    _load_builtin()
    return dict(_SOURCES)


def figure_source(code: str) -> FigureSource | None:
    _load_builtin()
    return _SOURCES.get(code)


def figure_value(*, code: str, region_code: str, start: datetime.date, end: datetime.date) -> float | None:
    """The figure for one region subtree and date range; None when no module publishes it."""
    source = figure_source(code)
    if source is None:
        return None
    value = source.fn(region_code=region_code, start=start, end=end)
    return None if value is None else float(value)


def _load_builtin() -> None:
    # Imported lazily: the figure functions read other apps' models.
    from ruralcast.reporting import figures  # noqa: F401
