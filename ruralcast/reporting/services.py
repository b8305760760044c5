"""Writes of the reporting module: metadata, data entry with validation, approval up the chain,
circulars and work dynamics posts. Every write checks access, runs in one transaction and leaves
an audit event; a refused write changes nothing."""

import math
import operator
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict, PermissionDenied, ValidationError
from ruralcast.core.filetypes import content_type_of_upload, extension_for
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_root
from ruralcast.reporting.formulas import formula_evaluate, formula_names, formula_parse
from ruralcast.reporting.models import (
    Aggregation,
    Approval,
    ApprovalState,
    Circular,
    DataElement,
    DataSet,
    DataSetElement,
    DataValue,
    Indicator,
    Line,
    Operator,
    PeriodType,
    Post,
    PostAttachment,
    ReportReceipt,
    SendBack,
    ValidationRule,
    ValueType,
)
from ruralcast.reporting.notices import report_sent_back_notify
from ruralcast.reporting.periods import period_check, period_type_of

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_NUMBER = 1e15
_COMPARE = {"<=": operator.le, "<": operator.lt, "==": operator.eq, ">=": operator.ge, ">": operator.gt}


# ---------------------------------------------------------------------------- metadata


def metadata_load(*, data: Mapping[str, Any], actor: User | None = None) -> dict[str, int]:
    """Create or update elements, data sets, rules and indicators by code (idempotent).

    `actor` None is the system (the loader command); a person needs `report.approve` at the
    national level, since metadata is the same for every region. All or nothing."""
    if actor is not None:
        access_require(user=actor, action=Action.REPORT_APPROVE, region=region_root())
    _metadata_check(data)
    counts = {"elements": 0, "data_sets": 0, "validation_rules": 0, "indicators": 0}
    with transaction.atomic():
        for item in data.get("elements", []):
            DataElement.objects.update_or_create(
                code=item["code"], defaults={k: v for k, v in item.items() if k != "code"}
            )
            counts["elements"] += 1
        elements = {e.code: e for e in DataElement.objects.all()}
        for item in data.get("data_sets", []):
            fields = {k: v for k, v in item.items() if k not in ("code", "elements")}
            data_set, _created = DataSet.objects.update_or_create(code=item["code"], defaults=fields)
            DataSetElement.objects.filter(data_set=data_set).delete()
            DataSetElement.objects.bulk_create(
                [
                    DataSetElement(data_set=data_set, element=elements[code], position=position)
                    for position, code in enumerate(item["elements"])
                ]
            )
            counts["data_sets"] += 1
        data_sets = {d.code: d for d in DataSet.objects.all()}
        for item in data.get("validation_rules", []):
            for side in (item["left"], item["right"]):
                _check_formula(side, elements)
            ValidationRule.objects.update_or_create(
                data_set=data_sets[item["data_set"]],
                left=item["left"],
                operator=item["operator"],
                right=item["right"],
                defaults={"message": item["message"]},
            )
            counts["validation_rules"] += 1
        for item in data.get("indicators", []):
            _check_formula(item["formula"], elements)
            Indicator.objects.update_or_create(
                code=item["code"], defaults={k: v for k, v in item.items() if k != "code"}
            )
            counts["indicators"] += 1
        audit_record(actor=actor, verb="report.metadata_load", object_type="reporting.metadata", after=counts)
    return counts


_CHOICES: dict[str, set[Any]] = {
    "value_type": set(ValueType.values),
    "aggregation": set(Aggregation.values),
    "period_type": set(PeriodType.values),
    "line": set(Line.values),
    "entry_level": {Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY},
    "operator": set(Operator.values),
}


def _metadata_check(data: Mapping[str, Any]) -> None:
    """Choices and references of a metadata document, checked before anything is written."""
    errors: dict[str, list[str]] = {}
    known = set(DataElement.objects.values_list("code", flat=True))
    known |= {item.get("code") for item in data.get("elements", [])}
    sets = set(DataSet.objects.values_list("code", flat=True)) | {d.get("code") for d in data.get("data_sets", [])}
    for section in ("elements", "data_sets", "validation_rules", "indicators"):
        for index, item in enumerate(data.get(section, [])):
            where = f"{section}.{index}"
            for key, allowed in _CHOICES.items():
                if key in item and item[key] not in allowed:
                    errors.setdefault(f"{where}.{key}", []).append(_("Not one of the allowed values."))
            unknown = [c for c in item.get("elements", []) if c not in known] if section == "data_sets" else []
            if section == "validation_rules" and item.get("data_set") not in sets:
                errors.setdefault(f"{where}.data_set", []).append(_("Unknown data set."))
            if unknown:
                errors.setdefault(f"{where}.elements", []).append(
                    _("Unknown element codes: %(codes)s") % {"codes": ", ".join(map(str, unknown))}
                )
    if errors:
        raise ValidationError(_("The metadata was not loaded: see fields."), fields=errors)


def _check_formula(formula: str, elements: Mapping[str, DataElement]) -> None:
    formula_parse(formula)
    unknown = sorted(formula_names(formula) - set(elements))
    if unknown:
        raise ValidationError(
            _("Unknown element codes in “%(formula)s”: %(codes)s") % {"formula": formula, "codes": ", ".join(unknown)},
            fields={"formula": [_("Unknown element.")]},
        )


# ---------------------------------------------------------------------------- entry


def value_parse(*, element: DataElement, raw: Any) -> tuple[float | None, str]:
    """(number, text) for what someone typed; ValueError with a message for people if it is not one."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, ""
    if element.value_type == ValueType.TEXT:
        text = str(raw).strip()
        if len(text) > 500:
            raise ValueError(_("At most 500 characters."))
        return None, text
    if isinstance(raw, bool):
        raise ValueError(_("A number is needed."))
    if isinstance(raw, int | float):
        number = float(raw)
    else:
        cleaned = str(raw).strip().replace(",", "").replace("，", "").replace("%", "")
        try:
            number = float(cleaned)
        except ValueError:
            raise ValueError(_("“%(raw)s” is not a number.") % {"raw": str(raw)[:30]}) from None
    if not math.isfinite(number) or abs(number) > MAX_NUMBER:
        raise ValueError(_("The number is out of range."))
    if element.value_type == ValueType.PERCENT and not 0 <= number <= 100:
        raise ValueError(_("A percent lies between 0 and 100."))
    if element.value_type == ValueType.NUMBER and element.aggregation != "average" and number < 0:
        raise ValueError(_("A count cannot be negative."))
    return number, ""


def entry_locked(*, data_set: DataSet, period: str, region: Region) -> Approval | None:
    """The approval that locks entry for this region (on it or any region above), if any."""
    codes = [*region.ancestor_codes, region.code]
    return Approval.objects.filter(data_set=data_set, period=period, region_id__in=codes).first()


def entry_check(*, actor: User, data_set: DataSet, period: str, region: Region) -> None:
    """Everything that must hold before anyone writes values of `data_set` for `region`/`period`."""
    period_check(period, data_set.period_type)
    if region.level != data_set.entry_level:
        raise ValidationError(
            _("“%(set)s” is entered by each %(level)s; %(region)s is a %(actual)s.")
            % {
                "set": data_set.label,
                "level": Level(data_set.entry_level).label,
                "region": region.name,
                "actual": Level(region.level).label,
            },
            fields={"region": [_("Wrong level.")]},
        )
    access_require(user=actor, action=Action.REPORT_ENTER, region=region)
    lock = entry_locked(data_set=data_set, period=period, region=region)
    if lock is not None:
        raise Conflict(
            _("%(period)s of “%(set)s” is locked: %(region)s has been %(state)s. Ask for it to be sent back first.")
            % {"period": period, "set": data_set.label, "region": lock.region.name, "state": lock.get_state_display()},
            code="locked",
        )


def entry_elements(*, data_set: DataSet) -> list[DataElement]:
    """The elements people type in for this data set, in form order (operational ones excluded)."""
    return [m.element for m in data_set.members.select_related("element") if not m.element.source]


def rules_check(*, data_set: DataSet, values: Mapping[str, float | None]) -> dict[str, list[str]]:
    """Validation rule messages by element code for a region's values (a rule with a missing
    operand is not checked: completeness is reported separately)."""
    problems: dict[str, list[str]] = {}
    for rule in data_set.rules.all():
        left, right = formula_evaluate(rule.left, values), formula_evaluate(rule.right, values)
        if left is None or right is None or _COMPARE[rule.operator](left, right):
            continue
        for code in sorted(formula_names(rule.left) | formula_names(rule.right)) or ["__all__"]:
            problems.setdefault(code, []).append(rule.message)
    return problems


@dataclass
class EntryResult:
    saved: int = 0
    cleared: int = 0
    errors: dict[str, list[str]] = field(default_factory=dict)


def values_prepare(
    *, data_set: DataSet, period: str, region: Region, raw: Mapping[str, Any], elements: list[DataElement]
) -> tuple[dict[str, tuple[float | None, str]], dict[str, list[str]]]:
    """Parse and validate one region's values without writing: (parsed by code, errors by code)."""
    by_code = {e.code: e for e in elements}
    parsed: dict[str, tuple[float | None, str]] = {}
    errors: dict[str, list[str]] = {}
    for code, value in raw.items():
        element = by_code.get(code)
        if element is None:
            errors.setdefault(code, []).append(_("Not an element of this data set that people enter."))
            continue
        try:
            parsed[code] = value_parse(element=element, raw=value)
        except ValueError as error:
            errors.setdefault(code, []).append(str(error))
    if not errors:
        merged: dict[str, float | None] = dict(
            DataValue.objects.filter(element__in=elements, period=period, region=region).values_list(
                "element__code", "value"
            )
        )
        merged.update({code: number for code, (number, _text) in parsed.items()})
        errors = rules_check(data_set=data_set, values=merged)
    return parsed, errors


def _values_write(
    *, actor: User, data_set: DataSet, period: str, region: Region, parsed: Mapping[str, tuple[float | None, str]]
) -> EntryResult:
    """Write parsed values of one region (call inside a transaction, after `values_prepare`)."""
    result = EntryResult()
    elements = {e.code: e for e in entry_elements(data_set=data_set)}
    existing = {
        v.element_id: v for v in DataValue.objects.filter(element__in=elements.values(), period=period, region=region)
    }
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for code, (number, text) in parsed.items():
        element = elements[code]
        current = existing.get(element.pk)
        old = None if current is None else (current.text or current.value)
        new = text or number
        if old == new:
            continue
        before[code], after[code] = old, new
        if number is None and not text:
            if current is not None:
                current.delete()
                result.cleared += 1
            continue
        if current is None:
            DataValue.objects.create(
                element=element, period=period, region=region, value=number, text=text, updated_by=actor
            )
        else:
            current.value, current.text, current.updated_by = number, text, actor
            current.save(update_fields=["value", "text", "updated_by", "updated_at"])
        result.saved += 1
    now = timezone.now()
    receipt, created = ReportReceipt.objects.get_or_create(
        data_set=data_set,
        period=period,
        region=region,
        defaults={"first_saved_at": now, "last_saved_at": now, "saved_by": actor},
    )
    if not created:
        receipt.last_saved_at, receipt.saved_by = now, actor
        receipt.save(update_fields=["last_saved_at", "saved_by"])
    if after:
        audit_record(
            actor=actor,
            verb="report.values_save",
            obj=data_set,
            region_code=region.code,
            object_label=f"{data_set.name} {period} {region.name}",
            before=before,
            after=after,
        )
    return result


def values_save(*, actor: User, data_set: DataSet, period: str, region: Region, raw: Mapping[str, Any]) -> EntryResult:
    """Save what someone typed for one region and period (empty clears a value).

    Refuses the whole save, with messages per element, when a value is not valid or a validation
    rule fails; nothing is written then."""
    entry_check(actor=actor, data_set=data_set, period=period, region=region)
    parsed, errors = values_prepare(
        data_set=data_set, period=period, region=region, raw=raw, elements=entry_elements(data_set=data_set)
    )
    if errors:
        raise ValidationError(_("Nothing was saved: correct the values marked below."), fields=errors)
    try:
        with transaction.atomic():
            return _values_write(actor=actor, data_set=data_set, period=period, region=region, parsed=parsed)
    except IntegrityError:  # someone saved the same value in the same moment
        raise Conflict(_("Someone else saved these figures at the same moment; reload and try again.")) from None


# ---------------------------------------------------------------------------- approval


def _approval_action(region: Region) -> tuple[str, str]:
    """(state written, action needed) when acting on `region`'s data."""
    if region.level == Level.COUNTY:
        return ApprovalState.SUBMITTED, Action.REPORT_ENTER
    if region.level in (Level.CITY, Level.PROVINCE):
        return ApprovalState.APPROVED, Action.REPORT_APPROVE
    raise ValidationError(
        _("Reports are submitted by counties and approved by cities and provinces; %(region)s is neither.")
        % {"region": region.name},
        fields={"region": [_("Wrong level.")]},
    )


def _may_act(actor: User, action: str, region: Region) -> bool:
    return access_check(user=actor, action=action, region=region) or access_check(
        user=actor, action=Action.REPORT_APPROVE, region=region
    )


@dataclass(frozen=True)
class ApprovalRights:
    """What a person may do on the approval page of `region`, by the same rules the services apply."""

    advance: bool  # submit (county) or approve (city, province) the region's own report
    accept: bool  # accept the province's approved report (the national level)
    send_back_below: bool  # send back the reports of the regions directly below


def approval_rights(*, user: User, region: Region) -> ApprovalRights:
    """Asked by the approval page to offer only the buttons the services would accept."""
    advance = region.level in (Level.COUNTY, Level.CITY, Level.PROVINCE) and _may_act(
        user, _approval_action(region)[1], region
    )
    accept = region.level == Level.PROVINCE and access_check(
        user=user, action=Action.REPORT_APPROVE, region=region_root()
    )
    return ApprovalRights(
        advance=advance,
        accept=accept,
        send_back_below=access_check(user=user, action=Action.REPORT_APPROVE, region=region),
    )


def approval_advance(*, actor: User, data_set: DataSet, period: str, region: Region) -> Approval:
    """County submits its report; a city or the province approves once every region directly
    below it has. The new step locks entry for the whole subtree."""
    period_check(period, data_set.period_type)
    state, action = _approval_action(region)
    if not _may_act(actor, action, region):
        raise PermissionDenied(_("You may not submit or approve reports of %(region)s.") % {"region": region.name})
    with transaction.atomic():
        if Approval.objects.select_for_update().filter(data_set=data_set, period=period, region=region).exists():
            raise Conflict(_("%(region)s has already done this step.") % {"region": region.name})
        if region.level != Level.COUNTY:
            below = list(Region.objects.filter(parent=region).exclude(code=region.code))
            done = set(
                Approval.objects.filter(data_set=data_set, period=period, region__in=below).values_list(
                    "region_id", flat=True
                )
            )
            missing = [r.name for r in below if r.code not in done]
            if missing:
                raise Conflict(
                    _("Not every region below has finished its step: %(names)s.")
                    % {"names": "、".join(missing[:10]) + ("…" if len(missing) > 10 else "")},
                    code="incomplete",
                )
        try:
            with transaction.atomic():  # a savepoint: a concurrent identical step loses cleanly
                approval = Approval.objects.create(
                    data_set=data_set, period=period, region=region, state=state, by=actor, at=timezone.now()
                )
        except IntegrityError:
            raise Conflict(_("%(region)s has already done this step.") % {"region": region.name}) from None
        audit_record(
            actor=actor,
            verb=f"report.{state}",
            obj=data_set,
            region_code=region.code,
            object_label=f"{data_set.name} {period} {region.name}",
            after={"period": period, "state": state},
        )
    return approval


def approval_accept(*, actor: User, data_set: DataSet, period: str, province: Region) -> Approval:
    """The national level accepts a province's approved report (the last step)."""
    access_require(user=actor, action=Action.REPORT_APPROVE, region=region_root())
    if province.level != Level.PROVINCE:  # a city's approval is a step below, never the last one
        raise ValidationError(
            _("Only a province's approved report is accepted; %(region)s is not a province.")
            % {"region": province.name},
            fields={"region": [_("Wrong level.")]},
        )
    with transaction.atomic():
        approval = (
            Approval.objects.select_for_update().filter(data_set=data_set, period=period, region=province).first()
        )
        if approval is None or approval.state != ApprovalState.APPROVED:
            raise Conflict(
                _("%(region)s has not approved this report yet, or it is already accepted.") % {"region": province.name}
            )
        approval.state, approval.by, approval.at = ApprovalState.ACCEPTED, actor, timezone.now()
        approval.save(update_fields=["state", "by", "at"])
        audit_record(
            actor=actor,
            verb="report.accepted",
            obj=data_set,
            region_code=province.code,
            object_label=f"{data_set.name} {period} {province.name}",
            after={"period": period, "state": approval.state},
        )
    return approval


def approval_revoke(*, actor: User, data_set: DataSet, period: str, region: Region, reason: str) -> None:
    """Undo the last step on `region` with a reason: by the region itself or the level above.

    An accepted province goes back to approved (national level only); otherwise the step is
    removed and entry below opens again. Refused while the level above has approved."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the report is sent back."), fields={"reason": [_("Required.")]})
    with transaction.atomic():
        approval = Approval.objects.select_for_update().filter(data_set=data_set, period=period, region=region).first()
        if approval is None:
            raise Conflict(_("%(region)s has nothing to send back for this period.") % {"region": region.name})
        if approval.state == ApprovalState.ACCEPTED:
            access_require(user=actor, action=Action.REPORT_APPROVE, region=region_root())
            approval.state = ApprovalState.APPROVED
            approval.save(update_fields=["state"])
        else:
            parent = region.parent
            if parent is not None and Approval.objects.filter(data_set=data_set, period=period, region=parent).exists():
                raise Conflict(
                    _("%(parent)s has already approved; it must send its own approval back first.")
                    % {"parent": parent.name}
                )
            allowed = _may_act(actor, _approval_action(region)[1], region) or (
                parent is not None and access_check(user=actor, action=Action.REPORT_APPROVE, region=parent)
            )
            if not allowed:
                raise PermissionDenied(_("You may not send back the report of %(region)s.") % {"region": region.name})
            approval.delete()
        SendBack.objects.create(
            data_set=data_set, period=period, region=region, by=actor, at=timezone.now(), reason=reason
        )
        audit_record(
            actor=actor,
            verb="report.revoke",
            obj=data_set,
            region_code=region.code,
            object_label=f"{data_set.name} {period} {region.name}",
            after={"period": period, "reason": reason},
        )
        report_sent_back_notify(
            actor=actor, data_set=data_set, period=period, region=region, reason=reason, step_by=approval.by
        )


# ---------------------------------------------------------------------------- circulars and posts


def circular_create(*, actor: User, region: Region, period: str, title: str, body: str = "") -> Circular:
    access_require(user=actor, action=Action.REPORT_APPROVE, region=region)
    period_type_of(period)
    title = title.strip()
    if not title:
        raise ValidationError(_("A circular needs a title."), fields={"title": [_("Required.")]})
    with transaction.atomic():
        circular = Circular.objects.create(
            region=region, period=period, title=title[:200], body=body[:20000], created_by=actor
        )
        audit_record(actor=actor, verb="report.circular_create", obj=circular, region_code=region.code)
    return circular


def post_create(
    *, actor: User, region: Region, line: int, title: str, body: str, files: list[UploadedFile] | None = None
) -> Post:
    access_require(user=actor, action=Action.REPORT_ENTER, region=region)
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("Required.")]
    if not body.strip():
        errors["body"] = [_("Required.")]
    if line not in Line.values:
        errors["line"] = [_("Choose a line of work.")]
    for upload in files or []:
        if (upload.size or 0) > MAX_ATTACHMENT_BYTES:
            errors.setdefault("files", []).append(
                _("%(name)s is larger than 20 MB.") % {"name": (upload.name or "")[:100]}
            )
    if errors:
        raise ValidationError(_("The post is not complete; see the fields."), fields=errors)
    with transaction.atomic():
        post = Post.objects.create(
            region=region, line=line, title=title.strip()[:200], body=body[:20000], created_by=actor
        )
        for upload in files or []:
            name = (upload.name or "file")[-200:]
            # Stored under a name of the platform's choosing, as the type its content shows.
            content_type = content_type_of_upload(upload)
            upload.name = f"{secrets.token_hex(8)}.{extension_for(content_type)}"
            PostAttachment.objects.create(
                post=post, file=upload, name=name, size=upload.size or 0, content_type=content_type
            )
        audit_record(actor=actor, verb="report.post_create", obj=post, region_code=region.code)
    return post
