"""OASIS CAP 1.2 export and import of emergency messages.

Export (`alert_to_cap`) writes one `alert` with one `info` per language (the primary first, then
each translation, CAP 1.2 §3.2.2); the EBM
fields CAP lacks travel as `parameter`s (`EBM-ID`, `EBM-Severity`, `EBM-Volume`, `EBM-Repeat`,
`EBM-Audio-SHA256`) and the event code as `eventCode` `EBM-EventType`; `code` is `EBM-1.0` to say
so. Areas are our region codes as `geocode` `CN-AreaCode` (12 digits). Import (`cap_import`) checks
the file against the OASIS schema (data/alerts/CAP-v1.2.xsd), maps it back and drafts it. The
full mapping and what is not read is in docs/protocols.md, "CAP 1.2 and EBM XML".
"""

from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext as _
from lxml import etree

from ruralcast.accounts.models import User
from ruralcast.alerts import ids
from ruralcast.alerts.formats import cap_read, mapping
from ruralcast.alerts.formats.cap_errors import schema_problem
from ruralcast.alerts.formats.cap_read import CAP_NS, EVENT_CODE_NAME, GEOCODE_NAME
from ruralcast.alerts.formats.common import (
    ParsedMessage,
    audio_sha1,
    draft_create,
    draft_require,
    import_error,
    to_local,
    xml_parse,
)
from ruralcast.alerts.models import SEVERITY_CAP, Alert, AlertTranslation, Scope, State
from ruralcast.alerts.payload import audio_url, chain_references
from ruralcast.regions.models import Region

__all__ = ["CAP_NS", "alert_to_cap", "cap_import", "cap_parse", "cap_schema"]
CAP_CODE = "EBM-1.0"


def _q(name: str) -> str:
    return f"{{{CAP_NS}}}{name}"


@lru_cache(maxsize=1)
def cap_schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 schema (data/alerts/CAP-v1.2.xsd); it loads nothing else."""
    path = settings.BASE_DIR / "data" / "alerts" / "CAP-v1.2.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def sender_id(sender_code: str) -> str:
    """CAP `sender`: the issuing platform's 23-digit resource code, as `ebr:<EBRID>`."""
    return f"ebr:{sender_code}"


def cap_time(value: datetime) -> str:
    """CAP 1.2 date-time: local time with its offset, no fractions; UTC is written -00:00."""
    text = to_local(value).isoformat(timespec="seconds")
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def _sent(alert: Alert) -> datetime:
    """When the message was sent; a message not yet approved gives the time it was drafted."""
    return alert.sent_at or alert.created_at


# ---------------------------------------------------------------------------- export


def _add(parent: etree._Element, name: str, text: str | int) -> etree._Element:
    element = etree.SubElement(parent, _q(name))
    element.text = str(text)
    return element


def _pair(parent: etree._Element, name: str, value_name: str, value: str | int) -> None:
    element = etree.SubElement(parent, _q(name))
    _add(element, "valueName", value_name)
    _add(element, "value", value)


def _add_audio(info: etree._Element, alert: Alert | AlertTranslation) -> None:
    resource = etree.SubElement(info, _q("resource"))
    _add(resource, "resourceDesc", "Audio broadcast (MP3)")
    _add(resource, "mimeType", "audio/mpeg")
    _add(resource, "size", alert.audio_bytes)
    _add(resource, "uri", audio_url(alert))
    digest = audio_sha1(alert)
    if digest:
        _add(resource, "digest", digest)


def _add_info(root: etree._Element, alert: Alert, text: Alert | AlertTranslation, targets: list[Region]) -> None:
    """One `info`: the event's fields (the same in every language) and `text`'s words and audio."""
    info = etree.SubElement(root, _q("info"))
    _add(info, "language", mapping.cap_language(text.language))
    _add(info, "category", mapping.cap_category(alert.event_code))
    _add(info, "event", mapping.event_name(alert.event_code, text.language))
    _add(info, "urgency", alert.urgency)
    _add(info, "severity", SEVERITY_CAP[alert.severity])
    _add(info, "certainty", alert.certainty)
    _pair(info, "eventCode", EVENT_CODE_NAME, alert.event_code)
    _add(info, "effective", cap_time(alert.onset))
    _add(info, "onset", cap_time(alert.onset))
    _add(info, "expires", cap_time(alert.expires))
    _add(info, "senderName", alert.sender_name)
    _add(info, "headline", text.title)
    _add(info, "description", text.text)
    _pair(info, "parameter", "EBM-ID", alert.ebm_id)
    _pair(info, "parameter", "EBM-Severity", alert.severity)
    _pair(info, "parameter", "EBM-Volume", alert.volume)
    _pair(info, "parameter", "EBM-Repeat", alert.repeat)
    if text.audio_sha256:
        _pair(info, "parameter", "EBM-Audio-SHA256", text.audio_sha256)
        _add_audio(info, text)
    for region in targets:
        area = etree.SubElement(info, _q("area"))
        _add(area, "areaDesc", region.name)
        _pair(area, "geocode", GEOCODE_NAME, region.code)


def alert_to_cap(alert: Alert) -> bytes:
    """The message as a CAP 1.2 document (UTF-8 bytes), valid against the OASIS schema."""
    targets = list(alert.targets.order_by("code"))
    root = etree.Element(_q("alert"), nsmap={None: CAP_NS})
    _add(root, "identifier", alert.cap_id)
    _add(root, "sender", sender_id(alert.sender_code))
    _add(root, "sent", cap_time(_sent(alert)))
    _add(root, "status", alert.status)
    _add(root, "msgType", alert.msg_type)
    _add(root, "scope", alert.scope)
    if alert.scope == Scope.RESTRICTED:
        _add(root, "restriction", "Emergency-broadcast platforms of the target regions")
    elif alert.scope == Scope.PRIVATE:
        _add(root, "addresses", " ".join(ids.platform_code(region) for region in targets))
    _add(root, "code", CAP_CODE)
    if alert.state in (State.DRAFT, State.SUBMITTED):
        _add(root, "note", f"Not approved for broadcast (state: {alert.state})")
    if alert.references_id:
        # Every earlier message of the chain, as the signed payload names them (CAP 1.2: a
        # space-separated list of sender,identifier,sent).
        earlier = {a.ebm_id: a for a in Alert.objects.filter(ebm_id__in=chain_references(alert))}
        referenced = [earlier[ebm_id] for ebm_id in chain_references(alert) if ebm_id in earlier]
        _add(
            root,
            "references",
            " ".join(f"{sender_id(a.sender_code)},{a.cap_id},{cap_time(_sent(a))}" for a in referenced),
        )

    # One info per language (CAP 1.2 §3.2.2): the primary, then each translation in order.
    texts: list[Alert | AlertTranslation] = [alert, *AlertTranslation.objects.filter(alert=alert)]
    for text in texts:
        _add_info(root, alert, text, targets)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---------------------------------------------------------------------------- import


def _validate(root: etree._Element) -> None:
    if root.tag != _q("alert"):
        qname = etree.QName(root)
        raise import_error(
            _("the root element is “%(tag)s” in namespace “%(ns)s”; a CAP 1.2 file has “alert” in “%(cap)s”.")
            % {"tag": qname.localname, "ns": qname.namespace or "", "cap": CAP_NS},
            line=root.sourceline,
        )
    schema = cap_schema()
    if schema.validate(root):
        return
    # libxml reports a bad value twice (the facet, then "not a valid value of the local atomic
    # type"): one problem per element.
    errors = list({(e.line, e.path): e for e in reversed(list(schema.error_log))}.values())[::-1]
    first = errors[0]
    problem = schema_problem(root, first)
    if len(errors) > 1:
        problem = _("%(problem)s (and %(count)s more schema errors)") % {"problem": problem, "count": len(errors) - 1}
    raise import_error(_("not valid CAP 1.2: %(problem)s") % {"problem": problem}, line=first.line)


def cap_import(*, actor: User, xml_bytes: bytes, issuer_region: Region) -> Alert:
    """Draft the message of a CAP 1.2 file as issued by the platform of `issuer_region`.

    A malformed, unsafe or schema-invalid file, or valid CAP we cannot broadcast faithfully, raises
    ValidationError naming the line and element. The draft still needs submission and approval;
    an already-expired message is kept as a record only (`cap_read` says what is accepted).
    """
    draft_require(actor=actor, issuer_region=issuer_region)
    parsed = cap_parse(actor=actor, root=xml_parse(xml_bytes))
    return draft_create(actor=actor, issuer_region=issuer_region, parsed=parsed, fmt="cap")


def cap_parse(*, actor: User, root: etree._Element) -> ParsedMessage:
    """Validate a parsed CAP document against the schema and read it (what `cap_import` drafts).

    For a caller that must look at the message before drafting it (the feed poller checks its
    signature and its targets); `actor`'s scope decides which earlier messages `references` finds.
    """
    _validate(root)
    return cap_read.parse(root, actor)
