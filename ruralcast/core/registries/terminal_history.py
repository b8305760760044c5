"""The terminal history registry: what happened to one terminal, told by the apps that know.

A terminal's page (terminals app) shows its history: the commands it was sent, its status changes,
its work orders, the alerts it played. Work orders (maintenance) and alert receipts (alerts) live
in apps above terminals in the layers, so the terminal page cannot import them; each app registers
a section instead, from its `AppConfig.ready()`:

    # ruralcast/maintenance/apps.py, in ready()
    register_terminal_history(
        key="work_orders", title=_("Work orders"), order=30,
        template="maintenance/_terminal_history.html", rows=selectors.terminal_work_orders,
    )

`rows(terminal=…)` answers a query (or list) of the section's rows, **newest first**, for a
terminal the reader has already been allowed to see (`access_terminal`); the page paginates each
section on its own and renders its rows with the section's template (a table, `rows` in context).
"""

from collections.abc import Callable
from typing import Any, NamedTuple


class HistorySection(NamedTuple):
    key: str  # a slug, also the section's page parameter ("<key>_page")
    title: Any  # str or lazy translation: the section's heading
    order: int  # sections are shown by this, smallest first
    template: str  # renders `rows` (the current page's rows) as a table
    rows: Callable[..., Any]  # rows(terminal=Terminal) → QuerySet or list, newest first


_SECTIONS: dict[str, HistorySection] = {}


def register_terminal_history(
    *, key: str, title: Any, order: int, template: str, rows: Callable[..., Any]
) -> HistorySection:
    """Add a section to every terminal's history (registering a key again replaces it)."""
    section = HistorySection(key=key, title=title, order=order, template=template, rows=rows)
    _SECTIONS[key] = section
    return section


def terminal_history_sections() -> list[HistorySection]:
    return sorted(_SECTIONS.values(), key=lambda section: (section.order, section.key))
