"""The emergency event classification (data/alerts/event-types.csv), loaded once."""

import csv
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.translation import get_language


@dataclass(frozen=True)
class EventType:
    code: str
    category: int
    name_zh: str
    name_en: str
    source: str

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


@lru_cache(maxsize=1)
def event_types() -> dict[str, EventType]:
    path = settings.BASE_DIR / "data" / "alerts" / "event-types.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["code"]: EventType(row["code"], int(row["category"]), row["name_zh"], row["name_en"], row["source"])
            for row in csv.DictReader(handle)
        }


def event_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} {event.name}") for code, event in event_types().items()]
