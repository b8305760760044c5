"""The terminal library copies the platform's region-code logic (it may not import Django): prove they agree."""

import pytest
from ruralcast_terminal.protocol import area_covers, code_prefix, covering_codes

from ruralcast.regions.codes import ancestor_codes, level_of_code, prefix_of
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


def test_significant_prefixes_agree_for_every_imported_region() -> None:
    codes = list(Region.objects.values_list("code", "level"))
    assert len(codes) > 1000
    disagreements = [
        (code, level) for code, level in codes if code_prefix(code) != prefix_of(code, level_of_code(code))
    ]
    assert not disagreements


def test_a_villages_topics_are_its_ancestors_and_itself() -> None:
    villages = Region.objects.filter(level=5).values_list("code", flat=True)[:500]
    for village in villages:
        assert covering_codes(village) == [*ancestor_codes(village, 5), village]
        assert all(area_covers(code, village) for code in covering_codes(village))
