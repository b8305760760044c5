"""Topic names: the one module that spells them, and the lint check that keeps it the only one."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from ruralcast_terminal import topics

CHECK = Path(__file__).resolve().parents[2] / "scripts" / "check_topics.py"


def test_the_topics_of_a_terminal_are_its_regions_root_first_and_its_own():
    assert topics.subscriptions("65226321000010314010401", "522632100001") == [
        ("rc/v1/down/r/000000000000/+", 1),
        ("rc/v1/down/r/520000000000/+", 1),
        ("rc/v1/down/r/522600000000/+", 1),
        ("rc/v1/down/r/522632000000/+", 1),
        ("rc/v1/down/r/522632100000/+", 1),
        ("rc/v1/down/r/522632100001/+", 1),
        ("rc/v1/down/t/65226321000010314010401", 1),
    ]
    assert topics.trust_topic() == "rc/v1/down/r/000000000000/trust"
    assert topics.REGION_TOPIC.format(region="522632000000", ebm_id="9") == topics.region_topic("522632000000", "9")
    assert topics.uplink_parse(topics.ack_topic("6522")) == ("6522", "ack")
    assert (topics.ACL_OWN_DOWNLINK, topics.ACL_OWN_UPLINKS) == ("rc/v1/down/t/%u", "rc/v1/up/%u/#")


@pytest.fixture
def check() -> ModuleType:
    if not CHECK.exists():
        pytest.skip("the repository's scripts/ are not here (the terminal package alone)")
    spec = importlib.util.spec_from_file_location("check_topics", CHECK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lint_check_finds_topic_literals_and_f_strings_but_not_docstrings_or_comments(check):
    source = textwrap.dedent('''
        """A module that explains rc/v1/down/r/<code>/+ in its docstring."""
        from ruralcast_terminal.topics import ROOT

        def publish(code):
            """Publishes on rc/v1/down/t/<id>."""
            # rc/v1/up/<id>/receipt is where receipts go
            a = "rc/v1/down/r/000000000000/trust"
            b = f"rc/v1/down/r/{code}/+"
            c = f"pattern read {ROOT}/down/t/%u"
            d = "a message about rc/v1 topics"  # does not start with the prefix
            return a, b, c, d
    ''')
    found = [line for line, _text in check.findings(Path("example.py"), source)]
    assert sorted(found) == [8, 9, 10]


def test_no_topic_name_is_spelt_outside_the_topics_module(check):
    assert check.main([]) == 0
