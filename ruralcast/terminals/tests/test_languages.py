"""A terminal's own language preference (issue 15 item 1): a Yi village's loudspeakers play Yi, then
Mandarin. Set in the console, the API and the import; checked by the alerts' language-code rule
(core.languages); written into the terminal's provisioning file, which the agent reads."""

from typing import Any

import pytest
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create
from ruralcast.core.errors import ValidationError
from ruralcast.core.languages import language_list_parse, language_list_problems
from ruralcast.regions.models import Region
from ruralcast.terminals.importer import export_csv
from ruralcast.terminals.models import Terminal
from ruralcast.terminals.provisioning import provisioning_document
from ruralcast.terminals.services import TerminalDetails, terminal_credentials_issue, terminal_register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _bearer(user: User) -> dict[str, str]:
    _token, secret = api_token_create(user=user, name="test")
    return {"Authorization": f"Bearer {secret}"}


def test_a_typed_list_reads_in_order_whatever_the_separator() -> None:
    assert language_list_parse("iii, zho") == language_list_parse("iii、zho") == ["iii", "zho"]
    assert language_list_parse(" iii，zho ;eng ") == ["iii", "zho", "eng"]
    assert language_list_parse("") == []
    assert language_list_problems(["iii", "zh-CN"]) == []
    assert language_list_problems(["Yi language"])  # not a code
    assert language_list_problems(["zho", "zho"])  # once each


def test_a_terminal_keeps_its_own_preference_and_a_bad_code_is_refused_with_the_field(
    county_station_operator: User, dashizi: Region
) -> None:
    terminal = terminal_register(
        actor=county_station_operator, village=dashizi, details=TerminalDetails(languages=["iii", "zho"])
    ).terminal
    terminal.refresh_from_db()
    assert terminal.languages == ["iii", "zho"]
    with pytest.raises(ValidationError) as refused:
        terminal_register(actor=county_station_operator, village=dashizi, details=TerminalDetails(languages=["yi!"]))
    assert "yi!" in refused.value.fields["languages"][0]


def test_the_edit_form_sets_the_order_and_keeps_a_wrong_entry_with_a_clear_message(
    en_client: Client, county_station_operator: User, dashizi: Region
) -> None:
    code = terminal_register(actor=None, village=dashizi).terminal.code
    en_client.force_login(county_station_operator)
    form = {"kind": "ip_speaker", "languages": "iii, Yi"}
    bad = en_client.post(f"/terminals/{code}/edit/", form)
    page = bad.content.decode()
    assert bad.status_code == 400
    assert "Not a language code: Yi" in page and 'value="iii, Yi"' in page  # what was typed stays
    assert Terminal.objects.get(code=code).languages == []
    ok = en_client.post(f"/terminals/{code}/edit/", {**form, "languages": "iii、zho"})
    assert ok.status_code == 302, ok.content.decode()[:2000]
    assert Terminal.objects.get(code=code).languages == ["iii", "zho"]
    assert 'value="iii, zho"' in en_client.get(f"/terminals/{code}/edit/").content.decode()
    assert "iii, zho" in en_client.get(f"/terminals/{code}/").content.decode()


def test_the_api_takes_and_shows_the_preference_and_answers_400_for_a_bad_code(
    en_client: Client, county_station_operator: User, dashizi: Region
) -> None:
    headers = _bearer(county_station_operator)
    created = en_client.post(
        "/api/v1/terminals/",
        {"village": dashizi.code, "languages": ["iii", "zho"]},
        content_type="application/json",
        headers=headers,
    )
    assert created.status_code == 201, created.content
    assert created.json()["languages"] == ["iii", "zho"]
    code = created.json()["code"]
    bad = en_client.put(
        f"/api/v1/terminals/{code}",
        {"kind": "ip_speaker", "languages": ["iii", "iii"]},
        content_type="application/json",
        headers=headers,
    )
    assert bad.status_code == 400
    assert "Each language once: iii" in bad.json()["error"]["fields"]["languages"][0]
    cleared = en_client.put(
        f"/api/v1/terminals/{code}", {"kind": "ip_speaker"}, content_type="application/json", headers=headers
    )
    assert cleared.status_code == 200 and cleared.json()["languages"] == []  # the deployment's default


def test_provisioning_carries_the_terminals_own_list_else_the_deployments(
    settings: Any, county_station_operator: User, dashizi: Region, tmp_path: Any
) -> None:
    from ruralcast_terminal.config import AgentConfig

    settings.RURALCAST_TERMINAL_LANGUAGES = ["zho"]
    yi = terminal_register(
        actor=None, village=dashizi, details=TerminalDetails(languages=["iii", "zho"]), issue_credentials=False
    ).terminal
    plain = terminal_register(actor=None, village=dashizi, issue_credentials=False).terminal
    own = provisioning_document(registration=terminal_credentials_issue(actor=county_station_operator, terminal=yi))
    default = provisioning_document(
        registration=terminal_credentials_issue(actor=county_station_operator, terminal=plain)
    )
    assert own["languages"] == ["iii", "zho"] and default["languages"] == ["zho"]
    assert AgentConfig.from_dict(own, base=tmp_path).languages == ("iii", "zho")  # what the agent plays by


def test_the_import_reads_the_chinese_or_english_column_refuses_bad_codes_and_exports_it_back(
    county_station_operator: User, dashizi: Region
) -> None:
    from ruralcast.terminals.importer import terminals_import

    good = f'行政村代码,播放语言顺序\n{dashizi.code},"iii, zho"\n'.encode()
    report = terminals_import(actor=county_station_operator, filename="t.csv", data=good)
    assert report.written, [r.errors for r in report.rows]
    terminal = Terminal.objects.get(code=report.created[0])
    assert terminal.languages == ["iii", "zho"]
    bad = f"village_code,languages\n{dashizi.code},彝语\n".encode()
    refused = terminals_import(actor=county_station_operator, filename="t.csv", data=bad)
    assert not refused.written and refused.rows[0].errors[0].startswith("languages: Not a language code: 彝语")
    # A file without the column leaves an existing terminal's preference alone.
    renamed = f"code,village_code,name\n{terminal.code},{dashizi.code},村口\n".encode()
    assert terminals_import(actor=county_station_operator, filename="t.csv", data=renamed).written
    terminal.refresh_from_db()
    assert (terminal.name, terminal.languages) == ("村口", ["iii", "zho"])
    exported = export_csv(Terminal.objects.filter(pk=terminal.pk)).decode("utf-8-sig")
    assert exported.splitlines()[0].endswith(",languages") and '"iii, zho"' in exported
    again = terminals_import(actor=county_station_operator, filename="t.csv", data=exported.encode())
    assert again.written and again.updated == [terminal.code]
    terminal.refresh_from_db()
    assert terminal.languages == ["iii", "zho"]


def test_the_import_page_lists_the_language_column(en_client: Client, county_station_operator: User) -> None:
    en_client.force_login(county_station_operator)
    page = en_client.get("/terminals/import/").content.decode()
    assert "播放语言顺序" in page and "<code>languages</code>" in page


def test_a_bad_deployment_default_is_a_system_check_error(settings: Any) -> None:
    from ruralcast.terminals.apps import terminal_languages_check

    assert terminal_languages_check() == []
    settings.RURALCAST_TERMINAL_LANGUAGES = ["zho", "Yi"]
    assert [error.id for error in terminal_languages_check()] == ["terminals.E001"]
    settings.RURALCAST_TERMINAL_LANGUAGES = []
    assert [error.id for error in terminal_languages_check()] == ["terminals.E001"]
