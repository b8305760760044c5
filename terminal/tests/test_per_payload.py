"""The per-message checks are done once per payload object (wire.per_payload), never reused for another."""

import copy

import pytest
from ruralcast_terminal import protocol
from ruralcast_terminal.wire import Rejected, per_payload


def test_a_verdict_is_remembered_for_the_same_payload_and_its_refusal_raised_again() -> None:
    calls: list[int] = []

    @per_payload
    def check(payload: dict) -> int:
        calls.append(1)
        if payload.get("bad"):
            raise Rejected(protocol.MALFORMED, "bad")
        return len(payload)

    good, bad = {"a": 1}, {"bad": True}
    assert check(good) == 1 and check(good) == 1 and len(calls) == 1
    for _ in range(2):
        with pytest.raises(Rejected) as refused:
            check(bad)
        assert refused.value.reason == protocol.MALFORMED
    assert len(calls) == 2
    # An equal payload that is another object is checked again: identity, not equality.
    assert check(copy.deepcopy(good)) == 1 and len(calls) == 3


def test_a_drill_without_preamble_is_refused_every_time_and_a_fixed_copy_is_checked_afresh() -> None:
    drill = {"status": "Exercise", "msg_type": "Alert"}
    for _ in range(2):
        with pytest.raises(Rejected) as refused:
            protocol.preamble_check(drill)
        assert refused.value.reason == protocol.DRILL_PREAMBLE
    actual = dict(drill, status="Actual")
    assert protocol.preamble_check(actual) is None
