"""What CAP and EBM import and export share: reading untrusted XML, times, and drafting the result.

Untrusted XML is read by `xml_parse` only: at most `MAX_IMPORT_BYTES`, no DOCTYPE (so no entity
declarations, hence no "billion laughs" and no external entities), entities never resolved, no
network, no huge-tree mode. Every problem becomes a `ValidationError` that names the line and the
element, for the person who has to fix the file.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from ruralcast.accounts.access import access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.alerts import selectors, services
from ruralcast.alerts.models import Alert, AlertTranslation, ImportedMessage
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import ApplicationError, ValidationError
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get

MAX_IMPORT_BYTES = 2 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def import_error(message: str, *, line: int | None = None) -> ValidationError:
    """A ValidationError on the uploaded file, prefixed with the line it concerns."""
    if line:
        message = _("Line %(line)s: %(problem)s") % {"line": line, "problem": message}
    return ValidationError(message, fields={"file": [message]})


def xml_parse(data: bytes) -> etree._Element:
    """The root element of `data`, parsed with a hardened parser; ValidationError if refused."""
    if not data or not data.strip():
        raise import_error(_("The file is empty."))
    if len(data) > MAX_IMPORT_BYTES:
        raise import_error(
            _("The file is larger than %(limit)s bytes; a CAP or EBM message is far smaller.")
            % {"limit": f"{MAX_IMPORT_BYTES:,}"}
        )
    if _DOCTYPE.search(data):
        raise import_error(_("The file declares a DOCTYPE or entities; they are refused for safety."))
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_pis=True,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as error:
        raise import_error(
            _("the file is not well-formed XML: %(detail)s") % {"detail": error.msg}, line=error.lineno
        ) from error
    if root is None:
        raise import_error(_("The file holds no XML element."))
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise import_error(_("The file declares a DOCTYPE or entities; they are refused for safety."))
    return root


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def to_local(value: datetime) -> datetime:
    """`value` in the platform's time zone (settings.TIME_ZONE), whatever the request's zone."""
    return timezone.localtime(value, timezone.get_default_timezone())


def audio_sha1(alert: Alert | AlertTranslation) -> str | None:
    """Hex SHA-1 of the stored MP3 (CAP `digest`, EBM `Digest`); None when it is not in storage."""
    if not alert.audio_name:
        return None
    try:
        with default_storage.open(alert.audio_name, "rb") as handle:
            return hashlib.sha1(handle.read()).hexdigest()  # noqa: S324 - CAP 1.2 prescribes SHA-1
    except (OSError, ValueError):
        return None


def region_for_code(code: str, *, what: str, line: int | None) -> Region:
    """The region with this 12-digit code; a ValidationError naming `what` (the element) if none."""
    try:
        return region_get(code=code)
    except ApplicationError as error:
        raise import_error(
            _("%(what)s “%(code)s”: %(problem)s") % {"what": what, "code": code, "problem": error.message}, line=line
        ) from error


def referenced_alert(*, actor: User, line: int | None, what: str, **lookup: str) -> Alert:
    """The message an Update or Cancel refers to, among those the actor may see; else an error."""
    found = Alert.objects.filter(**lookup).only("ebm_id").first()
    if found is not None:
        try:
            return selectors.access_alert(user=actor, ebm_id=found.ebm_id)
        except ApplicationError:
            pass
    value = next(iter(lookup.values()))
    raise import_error(
        _("%(what)s “%(value)s”: no such message in your regions; import or create the original first.")
        % {"what": what, "value": value},
        line=line,
    )


def referenced_by_triplet(*, actor: User, sender: str, identifier: str) -> Alert | None:
    """The message a CAP `references` triplet names, among those the actor may see, or None.

    An imported message is found by the file's own sender and identifier (kept in
    `ImportedMessage`), one of ours by its CAP identifier; the newest wins if several match.
    """
    found = (
        Alert.objects.filter(Q(imported__sender=sender, imported__identifier=identifier) | Q(cap_id=identifier))
        .order_by("-created_at")
        .only("ebm_id")
        .first()
    )
    if found is None:
        return None
    try:
        return selectors.access_alert(user=actor, ebm_id=found.ebm_id)
    except ApplicationError:
        return None


@dataclass
class ParsedMessage:
    """A message read from a file, ready for `alert_create`."""

    fields: services.AlertFields
    msg_type: str
    references: Alert | None
    # Where it came from (for the audit trail): the file's own identifiers.
    source: dict[str, str]
    # Which element of the file each AlertFields name came from, to name it in errors.
    elements: dict[str, str]
    # What the import had to decide on its own (recorded in the audit trail).
    notes: list[str] = field(default_factory=list)
    # What the import leaves to an operator (`event_code`, `targets`; see `alert_create`).
    pending: frozenset[str] = frozenset()
    # Already expired when imported: kept as a record, never dispatchable.
    history: bool = False
    # The `ImportedMessage` fields beyond the source identifiers (effective, event_mapping, …).
    record: dict[str, Any] = field(default_factory=dict)


def draft_require(*, actor: User, issuer_region: Region) -> None:
    """Refuse early (before reading the file) someone who may not draft for this platform."""
    access_require(user=actor, action=Action.ALERT_DRAFT, region=issuer_region)


def draft_create(*, actor: User, issuer_region: Region, parsed: ParsedMessage, fmt: str) -> Alert:
    """Draft the parsed message through `alert_create`, and record where it came from."""
    with transaction.atomic():
        try:
            alert = services.alert_create(
                actor=actor,
                issuer_region=issuer_region,
                fields=parsed.fields,
                msg_type=parsed.msg_type,
                references=parsed.references,
                pending=parsed.pending,
                history=parsed.history,
            )
        except ValidationError as error:
            raise _renamed(error, parsed.elements) from error
        ImportedMessage.objects.create(
            alert=alert,
            format=fmt,
            sender=parsed.source.get("sender", "")[:255],
            identifier=parsed.source.get("identifier", "")[:255],
            sent=parsed.source.get("sent", "")[:40],
            history=parsed.history,
            **parsed.record,
        )
        after: dict[str, Any] = {
            "format": fmt,
            **parsed.source,
            "notes": parsed.notes,
            "history": parsed.history,
            "pending": sorted(parsed.pending),
        }
        audit_record(actor=actor, verb="alert.import", obj=alert, region_code=issuer_region.code, after=after)
    return alert


def _renamed(error: ValidationError, elements: dict[str, str]) -> ValidationError:
    """The service's field errors, told in the file's element names."""
    if not error.fields:
        return import_error(error.message)
    problems = [f"{elements.get(name, name)}: {' '.join(messages)}" for name, messages in sorted(error.fields.items())]
    message = _("The message cannot be drafted as it is: %(problems)s") % {"problems": "; ".join(problems)}
    return ValidationError(message, fields={"file": [message], **error.fields})
