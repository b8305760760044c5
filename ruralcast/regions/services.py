"""Writes to the region tree and to designations. Every write is audited."""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require, access_require_all, action_scope_q
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict, ValidationError
from ruralcast.regions.codes import NATIONAL_CODE, is_valid_code
from ruralcast.regions.importer import (
    ImportCounts,
    ProgressCallback,
    known_provinces,
    read_division_rows,
    rows_with_pinyin,
)
from ruralcast.regions.models import Designation, DesignationMember, Region
from ruralcast.regions.selectors import region_match_by_names

_BATCH = 5000
_UPDATE_FIELDS = ["name", "level", "parent", "pinyin", "initials"]


def regions_import(
    *,
    actor: Any = None,
    province: str | None = None,
    data_dir: Path | None = None,
    progress: ProgressCallback | None = None,
) -> ImportCounts:
    """Upsert the division tree (all of it, or one province by its 2-digit code). Idempotent."""
    data_dir = data_dir or Path(settings.REGION_DATA_DIR)
    if province is not None:
        provinces = known_provinces(data_dir)
        if province not in provinces:
            raise ValidationError(
                _("Unknown province code “%(code)s”. Use a 2-digit code such as 52 (Guizhou).") % {"code": province},
                fields={"province": [_("Unknown province code.")]},
            )
    counts = ImportCounts()
    batch: list[Region] = []

    def flush() -> None:
        Region.objects.bulk_create(
            batch,
            batch_size=_BATCH,
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=_UPDATE_FIELDS,
        )
        if progress:
            progress(len(batch))
        batch.clear()

    with transaction.atomic():
        current_level = -1
        for row, full, initials in rows_with_pinyin(read_division_rows(data_dir, province=province)):
            if row.level != current_level and batch:
                flush()  # parents must be written before their children
            current_level = row.level
            batch.append(
                Region(
                    code=row.code,
                    name=row.name,
                    level=row.level,
                    parent_id=row.parent_code,
                    pinyin=full,
                    initials=initials,
                )
            )
            label = str(row.level)
            counts.by_level[label] = counts.by_level.get(label, 0) + 1
            if len(batch) >= _BATCH:
                flush()
        if batch:
            flush()
        audit_record(
            actor=actor,
            verb="regions.import",
            object_type="regions.region",
            object_id=province or "all",
            object_label=f"division tree import ({province or 'all'})",  # language-neutral: hashed into the audit trail
            region_code=(province.ljust(12, "0") if province else NATIONAL_CODE),
            after={"province": province, "rows": counts.by_level, "total": counts.total},
        )
    return counts


@dataclass
class DesignationRowResult:
    line: int
    raw: dict[str, str]
    region_code: str = ""
    region_name: str = ""
    problem: str = ""


@dataclass
class DesignationImportReport:
    rows: list[DesignationRowResult] = field(default_factory=list)
    written: bool = False

    @property
    def matched(self) -> list[DesignationRowResult]:
        return [r for r in self.rows if not r.problem]

    @property
    def unmatched(self) -> list[DesignationRowResult]:
        return [r for r in self.rows if r.problem]


_PARENT_COLUMNS = ("province", "city", "county", "township")


def designation_csv_parse(*, csv_text: str) -> DesignationImportReport:
    """Match each CSV row to a region, by `code` or by `name` plus optional parent names.

    Accepted headers: `code`, or `name` with any of `province`, `city`, `county`, `township`
    (parent names that disambiguate). Raises ValidationError when the file itself is unusable.
    """
    text = csv_text.lstrip("\ufeff")
    if not text.strip():
        raise ValidationError(_("The CSV file is empty."), fields={"file": [_("Empty file.")]})
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as error:
        raise ValidationError(
            _("The file is not valid CSV: %(error)s") % {"error": error}, fields={"file": [str(error)]}
        ) from error
    if "code" not in header and "name" not in header:
        raise ValidationError(
            _("The CSV needs a header row with a “code” column or a “name” column (found: %(found)s).")
            % {"found": ", ".join(header) or _("nothing")},
            fields={"file": [_("Missing code or name column.")]},
        )
    report = DesignationImportReport()
    try:
        records = list(reader)
    except csv.Error as error:
        raise ValidationError(
            _("The file is not valid CSV: %(error)s") % {"error": error}, fields={"file": [str(error)]}
        ) from error
    for index, record in enumerate(records, start=2):
        raw = {(k or "").strip().lower(): (v or "").strip() for k, v in record.items() if k}
        result = DesignationRowResult(line=index, raw=raw)
        report.rows.append(result)
        code = raw.get("code", "")
        if code:
            if not is_valid_code(code.ljust(12, "0")) or len(code) > 12:
                result.problem = _("“%(code)s” is not a division code (12 digits).") % {"code": code}
                continue
            region = Region.objects.filter(code=code.ljust(12, "0")).first()
            if region is None:
                result.problem = _("No region has code %(code)s.") % {"code": code}
                continue
        else:
            name = raw.get("name", "")
            if not name:
                result.problem = _("The row has neither a code nor a name.")
                continue
            parents = [raw[c] for c in _PARENT_COLUMNS if raw.get(c)]
            candidates = region_match_by_names(name=name, parent_names=parents)
            if not candidates:
                result.problem = _("No region named “%(name)s”%(under)s.") % {
                    "name": name,
                    "under": (_(" under %(parents)s") % {"parents": " / ".join(parents)}) if parents else "",
                }
                continue
            if len(candidates) > 1:
                result.problem = _(
                    "“%(name)s” is ambiguous (%(count)d regions: %(codes)s); add parent columns or use the code."
                ) % {"name": name, "count": len(candidates), "codes": ", ".join(c.code for c in candidates[:5])}
                continue
            region = candidates[0]
        result.region_code, result.region_name = region.code, region.name
    return report


def designation_import(
    *,
    actor: Any,
    key: str,
    name: str,
    csv_text: str,
    description: str = "",
    source: str = "",
    dry_run: bool = False,
    replace: bool = False,
) -> DesignationImportReport:
    """Create (or, with `replace`, refill) a designation from CSV; unmatched rows are reported.

    With `dry_run` nothing is written and the report shows what would happen. The actor needs
    `designation.manage` on every matched region. Matched rows are written together or not at all.
    """
    key, name = key.strip(), name.strip()
    problems: dict[str, list[str]] = {}
    if not key or not key.replace("-", "").replace("_", "").isalnum() or not key.isascii():
        problems["key"] = [_("Use letters, digits, “-” or “_” (e.g. poverty-county-2014).")]
    if not name:
        problems["name"] = [_("Give the list a name.")]
    if problems:
        raise ValidationError(_("Please correct the marked fields."), fields=problems)
    existing = Designation.objects.filter(key=key).first()
    if existing and not replace:
        raise Conflict(
            _("A designation with key “%(key)s” already exists; choose replace to refill it.") % {"key": key},
            fields={"key": [_("Already in use.")]},
        )
    report = designation_csv_parse(csv_text=csv_text)
    matched_codes = sorted({r.region_code for r in report.matched})
    regions = list(Region.objects.filter(code__in=matched_codes))
    access_require_all(user=actor, action=Action.DESIGNATION_MANAGE, regions=regions)
    if dry_run:
        return report
    if not matched_codes:
        raise ValidationError(
            _("No row of the file matched a region; nothing was imported."), fields={"file": [_("No matches.")]}
        )
    with transaction.atomic():
        before = None
        if existing:
            before = {"regions": sorted(existing.members.values_list("region_id", flat=True))}
            # Replacing refills only the caller's part of the list: members outside their scope
            # (another county's entries in a provincial list) are not theirs to remove, and stay.
            scope = action_scope_q(user=actor, action=Action.DESIGNATION_MANAGE, field="region_id")
            if scope is not None:
                existing.members.filter(scope).delete()
            designation = existing
            designation.name, designation.description, designation.source = name, description, source
            designation.save(update_fields=["name", "description", "source"])
        else:
            designation = Designation.objects.create(
                key=key, name=name, description=description, source=source, created_by=actor
            )
        DesignationMember.objects.bulk_create(
            [DesignationMember(designation=designation, region=region) for region in regions], ignore_conflicts=True
        )
        audit_record(
            actor=actor,
            verb="designation.replace" if existing else "designation.create",
            obj=designation,
            region_code=_common_region(matched_codes),
            before=before,
            after={
                "name": name,
                "regions": sorted(designation.members.values_list("region_id", flat=True)),
                "unmatched": len(report.unmatched),
            },
        )
    report.written = True
    return report


def designation_delete(*, actor: Any, designation: Designation) -> None:
    codes = list(designation.members.values_list("region_id", flat=True))
    access_require_all(user=actor, action=Action.DESIGNATION_MANAGE, regions=Region.objects.filter(code__in=codes))
    if not codes:
        access_require(user=actor, action=Action.DESIGNATION_MANAGE, region=Region.objects.get(code=NATIONAL_CODE))
    with transaction.atomic():
        audit_record(
            actor=actor,
            verb="designation.delete",
            obj=designation,
            region_code=_common_region(codes),
            before={"name": designation.name, "regions": sorted(codes)},
        )
        designation.delete()


def _common_region(codes: Iterable[str]) -> str:
    """The deepest region code whose subtree holds all `codes` (padded), for the audit record."""
    codes = list(codes)
    if not codes:
        return ""
    prefix = codes[0]
    for code in codes[1:]:
        while not code.startswith(prefix):
            prefix = prefix[:-1]
    for length in (12, 9, 6, 4, 2, 0):
        if len(prefix) >= length:
            return prefix[:length].ljust(12, "0")
    return NATIONAL_CODE
