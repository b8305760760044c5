"""The translation catalogs under locale/ are complete, compiled and up to date with the source.

The UI is Chinese first (zh-Hans); English msgids are the English text, so the en catalog keeps
empty msgstrs on purpose. After changing a user-visible string, regenerate and compile with

    make messages

(= manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=.run --ignore=node_modules,
then manage.py compilemessages --ignore=.venv), translate the new zh_Hans entries, drop their
`#, fuzzy` flags and commit both the .po and the .mo files.

Msgids below are passed to gettext through variables, never as literals, so that makemessages
does not record this file as a source of them.
"""

import io
import re
import shutil
from pathlib import Path
from typing import Any

import polib  # type: ignore[import-untyped]
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation

BASE_DIR = Path(settings.BASE_DIR)
LOCALE_DIR = BASE_DIR / "locale"
ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH_MO = ZH_PO.with_suffix(".mo")
EN_PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
EN_MO = EN_PO.with_suffix(".mo")

# What `make messages` leaves out of the scan (its --ignore options, VCS data and tool caches).
_NOT_SCANNED = {"locale", ".venv", ".run", "node_modules", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{\{\s*\w+\s*\}\}|\{\w*\}")


def _key(entry: polib._BaseEntry) -> tuple[str | None, str]:
    return (entry.msgctxt, entry.msgid)


def _active(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if not e.obsolete]


@pytest.fixture(scope="module")
def zh_po() -> polib.POFile:
    return polib.pofile(str(ZH_PO))


def test_catalog_files_exist_and_are_valid() -> None:
    for path in (ZH_PO, ZH_MO, EN_PO, EN_MO):
        assert path.is_file(), f"{path.relative_to(BASE_DIR)} is missing: run `make messages`"
    en = polib.pofile(str(EN_PO))
    assert en.metadata.get("Language") == "en"
    assert "charset=UTF-8" in en.metadata.get("Content-Type", "")
    assert _active(en), "the en catalog has no entries"
    # English msgids are the English text: the en catalog holds the same msgids as zh_Hans.
    assert {_key(e) for e in _active(en)} == {_key(e) for e in _active(polib.pofile(str(ZH_PO)))}


def test_zh_hans_catalog_is_fully_translated(zh_po: polib.POFile) -> None:
    assert zh_po.metadata.get("Language") == "zh_Hans"
    assert not zh_po.metadata_is_fuzzy, "the catalog header is marked fuzzy"
    untranslated = [e.msgid for e in zh_po.untranslated_entries()]
    fuzzy = [e.msgid for e in zh_po.fuzzy_entries()]
    assert not untranslated, f"untranslated zh_Hans entries: {untranslated}"
    assert not fuzzy, f"fuzzy zh_Hans entries (check them, then remove the flag): {fuzzy}"
    assert len(_active(zh_po)) > 100


def test_zh_hans_placeholders_are_kept(zh_po: polib.POFile) -> None:
    # A plural entry's translations (msgstr[0…], one form in Chinese) keep the plural msgid's placeholders.
    wrong = [
        (e.msgid, translated)
        for e in _active(zh_po)
        for translated in (list(e.msgstr_plural.values()) if e.msgid_plural else [e.msgstr])
        if sorted(_PLACEHOLDER.findall(e.msgid_plural or e.msgid)) != sorted(_PLACEHOLDER.findall(translated))
    ]
    assert not wrong, f"placeholders differ between msgid and msgstr: {wrong}"


@pytest.mark.parametrize(("po_path", "mo_path"), [(ZH_PO, ZH_MO), (EN_PO, EN_MO)], ids=["zh_Hans", "en"])
def test_compiled_catalog_matches_po(po_path: Path, mo_path: Path) -> None:
    """The committed .mo is compiled from the committed .po (every translation, nothing else)."""
    po = polib.pofile(str(po_path))
    mo = polib.mofile(str(mo_path))
    expected = {_key(e): e.msgstr for e in po.translated_entries()}
    compiled = {_key(e): e.msgstr for e in mo if e.msgid}
    missing = sorted(k[1] for k in expected.keys() - compiled.keys())
    stale = sorted(k[1] for k in compiled.keys() - expected.keys())
    changed = sorted(k[1] for k in expected.keys() & compiled.keys() if expected[k] != compiled[k])
    assert not (missing or stale or changed), (
        f"{mo_path.relative_to(BASE_DIR)} is out of date; run `manage.py compilemessages --ignore=.venv`. "
        f"missing: {missing} stale: {stale} changed: {changed}"
    )


def test_catalog_is_up_to_date_with_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """makemessages over a mirror of the project finds exactly the msgids of the committed catalog.

    The mirror is a temporary folder of symlinks to the project's top-level entries (minus what
    `make messages` ignores) with its own empty locale/, so nothing in the repository is written.
    """
    if shutil.which("xgettext") is None or shutil.which("msguniq") is None:
        pytest.skip("GNU gettext is not installed (scripts/debian-packages.txt lists it)")
    generated_root = tmp_path / "locale"
    generated_root.mkdir()
    skipped = {Path(p).resolve() for p in (settings.STATIC_ROOT, settings.MEDIA_ROOT) if p}
    for entry in BASE_DIR.iterdir():
        if entry.name in _NOT_SCANNED or entry.resolve() in skipped:
            continue
        (tmp_path / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    settings.LOCALE_PATHS = [generated_root]
    monkeypatch.chdir(tmp_path)
    call_command(
        "makemessages",
        locale=["zh_Hans"],
        symlinks=True,
        ignore_patterns=["node_modules"],
        verbosity=0,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    generated = polib.pofile(str(generated_root / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    in_source = {_key(e) for e in _active(generated)}
    committed = {_key(e) for e in _active(polib.pofile(str(ZH_PO)))}
    new = sorted(k[1] for k in in_source - committed)
    gone = sorted(k[1] for k in committed - in_source)
    assert not (new or gone), f"locale/ is out of date with the source; run `make messages`. new: {new} gone: {gone}"


def test_gettext_follows_the_active_language() -> None:
    dashboard, audit = "Dashboard", "Audit trail"
    with translation.override("zh-hans"):
        assert translation.gettext(dashboard) == "工作台"
        assert translation.gettext(audit) == "审计日志"
    with translation.override("en"):
        assert translation.gettext(dashboard) == "Dashboard"
        assert translation.gettext(audit) == "Audit trail"
