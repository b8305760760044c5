"""Fixtures of the reporting tests: the starter metadata and a small set of elements whose totals
are computed by hand in the tests."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from ruralcast.regions.models import Region
from ruralcast.reporting.models import DataElement, DataSet, DataSetElement, DataValue
from ruralcast.reporting.services import metadata_load

METADATA = Path(settings.BASE_DIR) / "data" / "reporting" / "metadata.json"


@pytest.fixture
def metadata(db: None) -> None:
    metadata_load(data=json.loads(METADATA.read_text(encoding="utf-8")))


@pytest.fixture
def broadcast_set(metadata: None) -> DataSet:
    """村村响建设运行月报: entered per village; rule terminals_online <= terminals_planned."""
    return DataSet.objects.get(code="village-broadcast-monthly")


@pytest.fixture
def consumption_set(metadata: None) -> DataSet:
    return DataSet.objects.get(code="consumption-monthly")


@pytest.fixture
def zhongcheng_village(db: None) -> Region:
    return Region.objects.filter(code__startswith="522632101", level=5).order_by("code").first()  # type: ignore[return-value]


@pytest.fixture
def congjiang_village(db: None) -> Region:
    return Region.objects.filter(code__startswith="522633", level=5).order_by("code").first()  # type: ignore[return-value]


@pytest.fixture
def hand_elements(db: None) -> dict[str, DataElement]:
    """Three village-level elements, one per aggregation type, in a data set of their own."""
    elements = {
        agg: DataElement.objects.create(code=f"hand_{agg}", name=f"手算{agg}", line=8, aggregation=agg)
        for agg in ("sum", "average", "last")
    }
    data_set = DataSet.objects.create(code="hand", name="手算", line=8, period_type="monthly", entry_level=5)
    for position, element in enumerate(elements.values()):
        DataSetElement.objects.create(data_set=data_set, element=element, position=position)
    return elements


def put(element: DataElement, period: str, region: Region, value: float) -> None:
    DataValue.objects.create(element=element, period=period, region=region, value=value)
