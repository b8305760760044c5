"""Alerts in several languages (issue 15 item 1): translations are drafted, validated and approved
with the rest of the message, and signed as payload version 2 with one text per language."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create
from ruralcast.alerts.models import Alert, AlertTranslation, State
from ruralcast.alerts.payload import alert_payload, content_version
from ruralcast.alerts.services import AlertFields, alert_create, alert_edit, alert_reject
from ruralcast.alerts.tests.conftest import approve, submitted
from ruralcast.alerts.translations import TranslationFields
from ruralcast.core.errors import Conflict, ValidationError
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db

YI = TranslationFields(language="iii", title="ꀊꇁꂷ", text="ꀊꇁꂷꌠꅇꂘ。")
ENGLISH = TranslationFields(language="eng", title="Rainstorm drill", text="Heavy rain expected; take care.")


def _edit_fields(alert: Alert, **changes: Any) -> AlertFields:
    values: dict[str, Any] = {
        "status": alert.status,
        "event_code": alert.event_code,
        "severity": alert.severity,
        "title": alert.title,
        "text": alert.text,
        "onset": alert.onset,
        "expires": alert.expires,
        "targets": list(alert.targets.all()),
        "language": alert.language,
    }
    values.update(changes)
    return AlertFields(**values)


@pytest.fixture
def bilingual(county_station_operator: User, rongjiang: Region, fields_for: Callable[..., AlertFields]) -> Alert:
    return alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=fields_for([rongjiang], translations=[YI, ENGLISH]),
    )


def test_an_alert_keeps_its_translations_in_the_order_given(bilingual: Alert) -> None:
    assert [(t.language, t.title) for t in bilingual.translations.all()] == [("iii", YI.title), ("eng", ENGLISH.title)]


def test_a_single_language_alert_is_still_signed_as_payload_version_one(drafted: Alert) -> None:
    payload = alert_payload(drafted)
    assert "payload_version" not in payload and "texts" not in payload


def test_a_bilingual_alert_is_signed_as_version_two_with_the_primary_text_first(
    county_station_operator: User, bilingual: Alert
) -> None:
    submitted(bilingual, county_station_operator)
    payload = alert_payload(bilingual)
    assert payload["payload_version"] == 2
    assert [t["language"] for t in payload["texts"]] == ["zho", "iii", "eng"]
    assert payload["texts"][0] == {
        "language": "zho", "title": bilingual.title, "text": bilingual.text, "audio": payload["audio"]
    }  # fmt: skip
    assert payload["texts"][1]["audio"] is None  # Yi: not spoken by the speech app, nothing uploaded
    assert (payload["language"], payload["title"]) == ("zho", bilingual.title)  # what a v1 terminal plays


def test_editing_a_translation_changes_the_content_version_and_voids_an_approval_seen_before(
    county_station_operator: User, county_alert_approver: User, make_user: Callable[..., User], bilingual: Alert
) -> None:
    submitted(bilingual, county_station_operator)
    seen = content_version(bilingual)
    alert_reject(approver=county_alert_approver, alert=bilingual, reason="彝文再核对")
    changed = TranslationFields(language="iii", title=YI.title, text="ꀊꇁꂷꌠꅇꂘꉬ。")
    alert_edit(actor=county_station_operator, alert=bilingual, fields=_edit_fields(bilingual, translations=[changed]))
    submitted(bilingual, county_station_operator)
    assert content_version(bilingual) != seen
    from ruralcast.alerts.services import alert_approve

    with pytest.raises(Conflict):
        alert_approve(approver=county_alert_approver, alert=bilingual, confirm_status=bilingual.status, version=seen)
    approve(bilingual, county_alert_approver)
    assert Alert.objects.get(pk=bilingual.pk).state == State.APPROVED


def test_removing_a_translation_also_changes_the_content_version(
    county_station_operator: User, bilingual: Alert
) -> None:
    before = content_version(bilingual)
    alert_edit(actor=county_station_operator, alert=bilingual, fields=_edit_fields(bilingual, translations=[YI]))
    assert content_version(bilingual) != before
    assert list(bilingual.translations.values_list("language", flat=True)) == ["iii"]


def test_an_edit_that_does_not_name_translations_keeps_them(county_station_operator: User, bilingual: Alert) -> None:
    alert_edit(actor=county_station_operator, alert=bilingual, fields=_edit_fields(bilingual, text="新的正文。"))
    assert bilingual.translations.count() == 2


@pytest.mark.parametrize(
    ("translations", "message"),
    [
        ([YI, TranslationFields(language="iii", title="x", text="y")], "each language once"),
        ([TranslationFields(language="zho", title="x", text="y")], "each language once"),
        ([TranslationFields(language="iii", title="", text="y")], "title"),
        ([TranslationFields(language="iii", title="x", text=" ")], "message"),
        ([TranslationFields(language="Yi!", title="x", text="y")], "language code"),
    ],
)
def test_translations_are_refused_with_a_clear_message(
    county_station_operator: User,
    rongjiang: Region,
    fields_for: Callable[..., AlertFields],
    translations: list[TranslationFields],
    message: str,
) -> None:
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        alert_create(
            actor=county_station_operator,
            issuer_region=rongjiang,
            fields=fields_for([rongjiang], translations=translations),
        )
    assert any(message in problem for problem in refused.value.fields["translations"])
    assert not Alert.objects.exists()


def test_the_api_drafts_lists_and_edits_translations_and_refuses_duplicates_with_400(
    client: Client, county_station_operator: User, rongjiang: Region, guzhou: Region
) -> None:
    from ruralcast.alerts.tests.test_api_and_pages import _body

    _token, secret = api_token_create(user=county_station_operator, name="test")
    headers = {"Authorization": f"Bearer {secret}"}
    body = _body(rongjiang, guzhou, translations=[{"language": "iii", "title": YI.title, "text": YI.text}])
    created = client.post("/api/v1/alerts/", body, content_type="application/json", headers=headers)
    assert created.status_code == 201, created.content
    ebm_id = created.json()["ebm_id"]
    assert [t["language"] for t in created.json()["translations"]] == ["iii"]
    listed = client.get("/api/v1/alerts/", headers=headers).json()["items"]
    assert listed[0]["translations"][0]["title"] == YI.title

    twice = [{"language": "eng", "title": "a", "text": "b"}, {"language": "eng", "title": "c", "text": "d"}]
    refused = client.put(
        f"/api/v1/alerts/{ebm_id}", _body(rongjiang, guzhou, translations=twice),
        content_type="application/json", headers=headers,
    )  # fmt: skip
    assert refused.status_code == 400 and "translations" in refused.json()["error"]["fields"]

    cleared = client.put(
        f"/api/v1/alerts/{ebm_id}", _body(rongjiang, guzhou, translations=[]),
        content_type="application/json", headers=headers,
    )  # fmt: skip
    assert cleared.status_code == 200 and cleared.json()["translations"] == []


def _form(rongjiang: Region, guzhou: Region, **extra: str) -> dict[str, str]:
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.localtime()
    return {
        "issuer_region": rongjiang.code,
        "status": "Exercise",
        "event_code": "11B03",
        "severity": "2",
        "urgency": "Immediate",
        "certainty": "Observed",
        "scope": "Public",
        "onset": now.strftime("%Y-%m-%dT%H:%M"),
        "expires": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "targets": guzhou.code,
        "title": "暴雨预警演练",
        "text": "请注意防范。",
        "language": "zho",
        "volume": "80",
        "repeat": "2",
        **extra,
    }


def test_the_console_form_adds_and_removes_a_language(
    client: Client, county_station_operator: User, rongjiang: Region, guzhou: Region
) -> None:
    client.force_login(county_station_operator)
    page = client.get("/alerts/new/").content.decode()
    assert 'name="tr0_language"' in page and 'name="tr1_language"' in page
    answer = client.post(
        "/alerts/new/", _form(rongjiang, guzhou, tr0_language="iii", tr0_title=YI.title, tr0_text=YI.text)
    )
    assert answer.status_code == 302
    alert = Alert.objects.get()
    assert [t.language for t in alert.translations.all()] == ["iii"]

    edit = client.get(f"/alerts/{alert.ebm_id}/edit/").content.decode()
    assert YI.title in edit and 'name="tr2_language"' in edit  # the one it has, and two empty slots
    removed = client.post(f"/alerts/{alert.ebm_id}/edit/", _form(rongjiang, guzhou, tr0_language=""))
    assert removed.status_code == 302
    assert not AlertTranslation.objects.exists()


def test_the_console_form_keeps_a_duplicate_language_and_says_what_is_wrong(
    client: Client, county_station_operator: User, rongjiang: Region, guzhou: Region
) -> None:
    client.force_login(county_station_operator)
    answer = client.post(
        "/alerts/new/",
        _form(
            rongjiang, guzhou,
            tr0_language="iii", tr0_title=YI.title, tr0_text=YI.text,
            tr1_language="iii", tr1_title="第二个", tr1_text="重复",
        ),
    )  # fmt: skip
    assert answer.status_code == 400
    page = answer.content.decode()
    assert YI.title in page and "第二个" in page
    assert not Alert.objects.exists()


def test_a_terminals_provisioning_file_carries_the_deployments_language_preference(
    settings: Any, county_station_operator: User, dashizi: Region, tmp_path: Any
) -> None:
    from ruralcast_terminal.config import AgentConfig

    from ruralcast.terminals.provisioning import provisioning_document
    from ruralcast.terminals.services import terminal_credentials_issue, terminal_register

    settings.RURALCAST_TERMINAL_LANGUAGES = ["iii", "zho"]
    terminal = terminal_register(actor=county_station_operator, village=dashizi, issue_credentials=False).terminal
    document = provisioning_document(
        registration=terminal_credentials_issue(actor=county_station_operator, terminal=terminal)
    )
    assert document["languages"] == ["iii", "zho"]
    assert AgentConfig.from_dict(document, base=tmp_path).languages == ("iii", "zho")  # what the agent reads


def test_the_platforms_bilingual_payload_passes_the_terminal_rules_and_a_yi_village_plays_yi_first(
    county_station_operator: User, county_alert_approver: User, bilingual: Alert
) -> None:
    """The payload the dispatcher signs, read by the terminal's one decision path (router)."""
    from ruralcast_terminal import crypto, router, topics
    from ruralcast_terminal.protocol import TrustedKey, TrustList, seal

    submitted(bilingual, county_station_operator)
    approve(bilingual, county_alert_approver)
    bilingual.refresh_from_db()
    private = crypto.generate_private_key(crypto.ALG_ED25519)
    trusted = TrustedKey(serial="202612030001", alg=crypto.ALG_ED25519, public_key=crypto.public_key_of(
        crypto.ALG_ED25519, private), usage=("broadcast",))  # fmt: skip
    data = seal(alert_payload(bilingual), alg=crypto.ALG_ED25519, serial=trusted.serial, private_key=private)
    for preference, played in ((("iii", "zho"), ["iii", "zho"]), (("zho",), ["zho"]), (("bod",), ["zho"])):
        state = router.TerminalState(
            terminal_id="65226321000010314010401",
            village_code="522632100001",
            trust=router.TrustState(TrustList([trusted])),
            languages=preference,
        )
        actions = router.route(state, topics.region_topic("522632000000", bilingual.ebm_id), data)
        prepare = actions[-1]
        assert isinstance(prepare, router.Prepare), actions
        assert [t["language"] for t in prepare.texts] == played


@pytest.mark.slow
def test_the_console_form_takes_a_recording_for_a_translation_and_signs_it_by_url(
    client: Client, county_station_operator: User, rongjiang: Region, guzhou: Region, tmp_path: Any
) -> None:
    """A Yi recording uploaded in its slot is kept as that translation's audio (the speech app does
    not speak Yi) and travels in payload version 2 by URL and SHA-256."""
    import subprocess

    from django.core.files.uploadedfile import SimpleUploadedFile

    wav = tmp_path / "yi.wav"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=2", str(wav)], check=True
    )
    client.force_login(county_station_operator)
    recording = SimpleUploadedFile("yi.wav", wav.read_bytes(), content_type="audio/wav")
    answer = client.post(
        "/alerts/new/",
        {**_form(rongjiang, guzhou, tr0_language="iii", tr0_title=YI.title, tr0_text=YI.text), "tr0_audio": recording},
    )
    assert answer.status_code == 302
    row = AlertTranslation.objects.get()
    assert row.language == "iii" and row.audio_sha256 and 1.5 < row.audio_seconds < 2.5
    payload = alert_payload(Alert.objects.get())
    yi = payload["texts"][1]
    assert yi["language"] == "iii" and yi["audio"]["sha256"] == row.audio_sha256 and yi["audio"]["url"]
