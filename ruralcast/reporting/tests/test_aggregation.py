"""Live aggregation against totals computed by hand, at every level, for each aggregation type.

Values (villages: 大十字 and 梨子园 in 古州镇, one village of 忠诚镇, all in 榕江县; one village of 从江县):

    sum      大十字 Jan 10, Feb 5 · 梨子园 Jan 20 · 忠诚 Feb 7 · 从江 Jan 100
    average  大十字 Jan 2, Feb 4  · 梨子园 Jan 6  · 从江 Jan 10
    last     大十字 Jan 3, Feb 5  · 梨子园 Jan 7  · 从江 Feb 11
"""

import pytest

from ruralcast.core.errors import ValidationError
from ruralcast.regions.selectors import region_get
from ruralcast.reporting.analytics import aggregate, ranking, totals_all_levels
from ruralcast.reporting.formulas import formula_evaluate, formula_parse
from ruralcast.reporting.models import Indicator
from ruralcast.reporting.tests.conftest import put

JAN, FEB = "2026-01", "2026-02"


@pytest.fixture
def values(hand_elements, dashizi, liziyuan, zhongcheng_village, congjiang_village):  # type: ignore[no-untyped-def]
    s, a, last = hand_elements["sum"], hand_elements["average"], hand_elements["last"]
    rows = [
        (s, JAN, dashizi, 10), (s, FEB, dashizi, 5), (s, JAN, liziyuan, 20),
        (s, FEB, zhongcheng_village, 7), (s, JAN, congjiang_village, 100),
        (a, JAN, dashizi, 2), (a, FEB, dashizi, 4), (a, JAN, liziyuan, 6), (a, JAN, congjiang_village, 10),
        (last, JAN, dashizi, 3), (last, FEB, dashizi, 5), (last, JAN, liziyuan, 7),
        (last, FEB, congjiang_village, 11),
    ]  # fmt: skip
    for element, period, region, value in rows:
        put(element, period, region, value)
    return hand_elements


def _total(items, periods, region, **kwargs):  # type: ignore[no-untyped-def]
    table = aggregate(items=list(items.values()), periods=periods, region=region, **kwargs)
    return {code: table.value(region.code, item.code) for code, item in items.items()}, table


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("522632100000", {"sum": 35, "average": 4, "last": 12}),  # 古州镇
        ("522632000000", {"sum": 42, "average": 4, "last": 12}),  # 榕江县
        ("522600000000", {"sum": 142, "average": 5.5, "last": 23}),  # 黔东南州
        ("520000000000", {"sum": 142, "average": 5.5, "last": 23}),  # 贵州省
        ("000000000000", {"sum": 142, "average": 5.5, "last": 23}),  # national
    ],
)
def test_totals_over_two_months_at_each_level(values, code, expected):  # type: ignore[no-untyped-def]
    totals, _table = _total(values, [JAN, FEB], region_get(code=code))
    assert totals == pytest.approx(expected)


def test_one_period_at_a_time_for_each_aggregation_type(values, guizhou):  # type: ignore[no-untyped-def]
    table = aggregate(items=list(values.values()), periods=[JAN, FEB], region=guizhou, by_period=True)
    assert table.value(guizhou.code, "hand_sum", JAN) == 130
    assert table.value(guizhou.code, "hand_sum", FEB) == 12
    assert table.value(guizhou.code, "hand_average", JAN) == pytest.approx(6)
    assert table.value(guizhou.code, "hand_average", FEB) == pytest.approx(4)
    assert table.value(guizhou.code, "hand_last", JAN) == 10
    assert table.value(guizhou.code, "hand_last", FEB) == 16


def test_children_rows_hold_their_own_subtree(values, rongjiang, guzhou, zhongcheng):  # type: ignore[no-untyped-def]
    _totals, table = _total(values, [JAN, FEB], rongjiang)
    assert {guzhou.code, zhongcheng.code} <= {r.code for r in table.rows}
    assert table.value(guzhou.code, "hand_sum") == 35
    assert table.value(zhongcheng.code, "hand_sum") == 7
    assert table.value(zhongcheng.code, "hand_average") is None
    assert table.value(guzhou.code, "hand_last") == 12


def test_rows_can_be_asked_several_levels_down(values, rongjiang, dashizi, liziyuan):  # type: ignore[no-untyped-def]
    table = aggregate(items=[values["sum"]], periods=[JAN, FEB], region=rongjiang, level=5)
    assert table.value(dashizi.code, "hand_sum") == 15
    assert table.value(liziyuan.code, "hand_sum") == 20


def test_indicator_is_the_formula_of_the_aggregated_values(values, guzhou):  # type: ignore[no-untyped-def]
    rate = Indicator.objects.create(code="hand_rate", name="率", line=8, formula="hand_sum / hand_last * 100")
    table = aggregate(items=[rate], periods=[JAN, FEB], region=guzhou)
    assert table.value(guzhou.code, "hand_rate") == pytest.approx(35 / 12 * 100)


def test_totals_at_every_level_in_one_scan(values, guizhou):  # type: ignore[no-untyped-def]
    levels = totals_all_levels(elements=values.values(), period=JAN, region=guizhou)
    assert levels[1]["52"] == pytest.approx({"hand_sum": 130, "hand_average": 6, "hand_last": 10})
    assert levels[3]["522632"] == pytest.approx({"hand_sum": 30, "hand_average": 4, "hand_last": 10})
    assert levels[3]["522633"]["hand_sum"] == 100
    assert levels[4]["522632100"]["hand_sum"] == 30


def test_ranking_orders_sub_regions_and_puts_empty_last(values, rongjiang, guzhou, zhongcheng):  # type: ignore[no-untyped-def]
    ranked = ranking(item=values["sum"], periods=[JAN, FEB], region=rongjiang)
    assert [r.code for r, _v in ranked[:2]] == [guzhou.code, zhongcheng.code]
    assert ranked[2][1] is None


def test_formulas_refuse_anything_but_arithmetic():
    assert formula_evaluate("(a - b) / b * 100", {"a": 120, "b": 100}) == pytest.approx(20)
    assert formula_evaluate("a / b", {"a": 1, "b": 0}) is None
    assert formula_evaluate("a ÷ b × 2", {"a": 1, "b": 4}) == pytest.approx(0.5)
    for bad in ("__import__('os')", "a.b", "a ** 2", "[a]", "a if b else c", "'x'", "True"):
        with pytest.raises(ValidationError):
            formula_parse(bad)


def test_query_count_does_not_grow_with_rows_or_periods(values, rongjiang, guizhou, django_assert_num_queries):  # type: ignore[no-untyped-def]
    items = list(values.values())
    # rows, elements, one grouped scan for sum and average, one windowed scan for last
    with django_assert_num_queries(4):
        aggregate(items=items, periods=[JAN, FEB], region=rongjiang)
    with django_assert_num_queries(4):
        aggregate(items=items, periods=[JAN, FEB, "2026-03", "2026-04"], region=guizhou, level=3)
    with django_assert_num_queries(1):
        totals_all_levels(elements=items, period=JAN, region=guizhou)
