"""One arbitration for everything a loudspeaker plays: emergency first, then live voice and cut-ins,
then the programme; the higher tier wins within a class (三级插播、上级优先、应急优先)."""

from __future__ import annotations

import pytest
from ruralcast_terminal.priority import (
    AfterPreemption,
    Claim,
    Kind,
    after_preemption,
    alert_claim,
    sender_tier,
    tier_of,
)

COUNTY, TOWNSHIP, VILLAGE, PROVINCE = 3, 4, 5, 1


@pytest.mark.parametrize(
    ("code", "tier"),
    [
        ("000000000000", 0),
        ("520000000000", 1),
        ("522600000000", 2),
        ("522632000000", 3),
        ("522632100000", 4),
        ("522632100001", 5),
    ],
)
def test_the_tier_is_read_from_the_region_code(code: str, tier: int) -> None:
    assert tier_of(code) == tier


def test_an_alerts_tier_is_its_senders_region_and_an_unreadable_sender_is_the_lowest() -> None:
    assert sender_tier("45226320000000101010101") == COUNTY
    assert sender_tier("45200000000000101010101") == PROVINCE
    assert sender_tier("not a resource code") == VILLAGE
    assert sender_tier(None) == VILLAGE
    with pytest.raises(ValueError):
        tier_of("5226")


def test_emergency_outranks_live_voice_which_outranks_the_programme_whatever_the_tier() -> None:
    village_alert = Claim(Kind.EMERGENCY, tier=VILLAGE, severity=4, drill=True)
    county_live = Claim(Kind.LIVE, tier=COUNTY)
    national_programme = Claim(Kind.PROGRAMME, tier=0)
    assert village_alert.preempts(county_live)
    assert county_live.preempts(national_programme)
    assert village_alert.preempts(national_programme)
    assert not national_programme.preempts(county_live)
    assert not county_live.preempts(village_alert)


def test_within_live_voice_and_within_the_programme_the_higher_tier_wins_and_never_the_lower() -> None:
    for kind in (Kind.LIVE, Kind.PROGRAMME):
        county, township, village = Claim(kind, COUNTY), Claim(kind, TOWNSHIP), Claim(kind, VILLAGE)
        assert county.preempts(township) and township.preempts(village) and county.preempts(village)
        assert not village.preempts(county) and not township.preempts(county)


def test_among_alerts_severity_first_then_the_issuing_level_then_real_before_drill() -> None:
    county_red = alert_claim(severity=1, sender="45226320000000101010101", drill=False, seq=2)
    province_orange = alert_claim(severity=2, sender="45200000000000101010101", drill=False, seq=1)
    county_orange = alert_claim(severity=2, sender="45226320000000101010101", drill=False, seq=0)
    county_orange_drill = alert_claim(severity=2, sender="45226320000000101010101", drill=True, seq=0)
    assert county_red.preempts(province_orange)  # 特别重大 beats 重大, whoever sends it
    assert province_orange.preempts(county_orange)  # 上级优先 at the same level
    assert county_orange.preempts(county_orange_drill)
    ordered = sorted([county_orange_drill, county_orange, province_orange, county_red], key=lambda c: c.rank)
    assert ordered == [county_red, province_orange, county_orange, county_orange_drill]


def test_arrival_order_breaks_ties_but_never_interrupts() -> None:
    first, second = Claim(Kind.LIVE, COUNTY, seq=1), Claim(Kind.LIVE, COUNTY, seq=2)
    assert first.rank < second.rank
    assert not first.preempts(second) and not second.preempts(first)


def test_what_becomes_of_the_interrupted() -> None:
    assert after_preemption(Claim(Kind.EMERGENCY, COUNTY)) is AfterPreemption.RESTART  # heard whole
    assert after_preemption(Claim(Kind.LIVE, VILLAGE)) is AfterPreemption.DROP  # cannot be replayed live
    assert after_preemption(Claim(Kind.PROGRAMME, COUNTY)) is AfterPreemption.RESUME
