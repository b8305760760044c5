"""Recurrence kinds: every day, weekdays (Monday–Friday or a chosen set), listed dates, a date range."""

from datetime import date, timedelta

import pytest

from ruralcast.accounts.models import User
from ruralcast.broadcasting.models import Recurrence
from ruralcast.broadcasting.programme import effective_programme
from ruralcast.core.errors import ValidationError
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 30)
WEEK = [MONDAY + timedelta(days=n) for n in range(7)]


def _playing_days(village: Region) -> list[int]:
    return [day.weekday() for day in WEEK if effective_programme(village=village, day=day).entries]


@pytest.mark.parametrize(
    ("fields", "weekdays"),
    [
        ({}, [0, 1, 2, 3, 4, 5, 6]),
        ({"recurrence": Recurrence.WEEKDAYS}, [0, 1, 2, 3, 4]),
        ({"recurrence": Recurrence.WEEKDAYS, "weekdays": [5, 6]}, [5, 6]),
        ({"recurrence": Recurrence.DATES, "dates": [date(2026, 12, 2), date(2027, 1, 1)]}, [2]),
        ({"recurrence": Recurrence.RANGE, "start_date": date(2026, 12, 1), "end_date": date(2026, 12, 4)}, [1, 2, 3, 4]),
        (
            {"recurrence": Recurrence.RANGE, "start_date": date(2026, 12, 1), "end_date": date(2026, 12, 31),
             "weekdays": [0, 2]},
            [2],
        ),
    ],
    ids=["daily", "monday-friday", "weekend", "dates", "range", "range-on-wednesdays"],
)  # fmt: skip
def test_slot_plays_on_the_days_its_recurrence_names(
    county_station_operator: User, guzhou: Region, dashizi: Region, make_item, make_schedule, fields, weekdays
) -> None:
    make_schedule(county_station_operator, guzhou, [("12:00", make_item(guzhou, 60), fields)])

    assert _playing_days(dashizi) == weekdays


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"recurrence": Recurrence.DATES}, "dates"),
        ({"recurrence": Recurrence.RANGE, "start_date": date(2026, 12, 1)}, "end_date"),
        ({"recurrence": Recurrence.RANGE, "start_date": date(2026, 12, 5), "end_date": date(2026, 12, 1)}, "end_date"),
        ({"recurrence": Recurrence.WEEKDAYS, "weekdays": [7]}, "weekdays"),
        ({"recurrence": "hourly"}, "recurrence"),
    ],
)
def test_incomplete_recurrence_is_refused_naming_the_field(
    county_station_operator: User, guzhou: Region, make_item, make_schedule, fields, field
) -> None:
    with pytest.raises(ValidationError) as error:
        make_schedule(county_station_operator, guzhou, [("12:00", make_item(guzhou, 60), fields)])
    assert field in error.value.fields
