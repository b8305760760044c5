"""The one place that writes regions, terminals, durations, verbs, weekdays, tiers and languages for people."""

from types import SimpleNamespace

from django.utils import translation

from ruralcast.core.templatetags.people import change, language, region, terminal, tier, verb, weekdays
from ruralcast.core.validation_messages import validation_message
from ruralcast.core.verbs import VERBS, verb_label
from ruralcast.core.wording import refusal_label


def _region(name: str, level: int, parent: SimpleNamespace | None = None) -> SimpleNamespace:
    return SimpleNamespace(name=name, level=level, parent=parent, code="522632100000")


def test_a_region_is_named_and_its_path_skips_the_placeholder_rows() -> None:
    county = _region("榕江县", 3, _region("市辖区", 2, _region("贵州省", 1)))
    village = _region("新村", 5, _region("古州镇", 4, county))
    assert region(village) == "新村"
    assert region(village, "path") == "贵州省 / 榕江县 / 古州镇 / 新村"
    assert "522632100000" not in region(village, "path")


def test_a_terminal_is_named_by_name_and_village_and_never_by_its_code() -> None:
    village = _region("新村", 5)
    code = "52263210000000000000001"
    assert terminal(SimpleNamespace(name="1号大喇叭", village=village, code=code)) == "1号大喇叭（新村）"
    assert terminal(SimpleNamespace(name="", village=village, code=code)) == "新村"
    assert terminal(SimpleNamespace(name="新村广场", village=village, code=code)) == "新村广场"


def test_weekdays_read_as_words_with_runs_as_ranges() -> None:
    with translation.override("zh-hans"):
        assert weekdays([0, 1, 2, 3, 4]) == "周一至周五"
        assert weekdays([0, 2]) == "周一、周三"
        assert weekdays(range(7)) == "每天"
    with translation.override("en"):
        assert weekdays([0, 1, 2, 3, 4]) == "Monday to Friday"
        assert weekdays([5, 6]) == "Saturday, Sunday"
    assert weekdays([]) == ""


def test_tiers_and_languages_are_named() -> None:
    with translation.override("zh-hans"):
        assert tier(3) == "县级"
        assert language("zh") == "中文"
        assert language("en") == "英语"
    with translation.override("en"):
        assert tier(5) == "village level"
        assert language("zh-hans") == "Chinese"
        assert language("fr") == "French"
        assert language("") == ""


def test_audit_verbs_read_as_phrases_and_an_unknown_verb_still_reads() -> None:
    with translation.override("zh-hans"):
        assert verb("alert.dispatched") == "发出了预警"
        assert "alert.dispatched" not in verb("alert.dispatched")
        assert "new.thing" in verb_label("new.thing")
    with translation.override("en"):
        assert verb("role.grant") == "granted a role"


def test_every_recorded_verb_has_words() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    recorded = set()
    for path in root.rglob("*.py"):
        if "tests" in path.parts:
            continue
        recorded |= set(re.findall(r'verb="([a-z_]+\.[a-z_.]+)"', path.read_text(encoding="utf-8")))
    recorded |= {f"report.{state}" for state in ("submitted", "approved", "accepted")}
    recorded |= {"schedule.refresh", "notification.delivered", "notification.delivery_failed"}
    assert recorded - set(VERBS) == set()


def test_a_change_reads_as_key_value_pairs_not_python_dict_text() -> None:
    assert change({"volume": 60, "villages": ["新村", "老寨"], "ok": None}) == "volume: 60; villages: 新村, 老寨; ok: —"
    assert "{" not in change({"a": 1})


def test_a_refusal_has_no_developer_field_tail() -> None:
    said = refusal_label("文件类型不受支持。", {"file": ["文件类型不受支持。", "请上传 MP3。"]})
    assert said == "文件类型不受支持。 请上传 MP3。"
    assert "file" not in said


def test_pydantic_messages_follow_the_request_language() -> None:
    with translation.override("zh-hans"):
        assert validation_message({"type": "missing", "msg": "Field required"}) == "此项为必填项。"
        assert "characters" not in validation_message(
            {"type": "string_too_long", "msg": "String should have at most 5 characters", "ctx": {"max_length": 5}}
        )
        assert validation_message({"type": "value_error", "msg": "Value error, 不是区域代码"}) == "不是区域代码"
