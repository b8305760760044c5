"""Writes to emergency messages: authoring, two-person approval and receipts. What happens to a
message once approved (dispatch bookkeeping, cancel, update, withdrawal, expiry) is in
`alerts.lifecycle`.

The Hawaii lessons are rules here, not advice:
- nobody approves a message of which they created, edited or submitted any version
  (`AlertContributor` keeps every one of them), and the approver must hold `alert.approve` over
  every target region;
- the approver approves the exact version they were shown (`content_version`, a hash of the signed
  fields and the audio): a message changed since their page loaded is refused with 409;
- the approver confirms the status (live or drill) explicitly: `confirm_status` must equal it;
- approval writes the dispatch outbox row in the same transaction, so an approved alert cannot be
  lost between the click and the broker.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from ruralcast_terminal.protocol import BAD_SIGNATURE, REVOKED_KEY, UNKNOWN_KEY

from ruralcast.accounts.access import access_check, access_require, access_require_all
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.alerts import ids
from ruralcast.alerts.audio import StoredAudio, audio_attach, audio_from_text, audio_from_upload, drill_preamble_prepare
from ruralcast.alerts.chains import followup_refusal
from ruralcast.alerts.events import event_types
from ruralcast.alerts.models import (
    Alert,
    AlertContributor,
    AlertTarget,
    AudioSource,
    Certainty,
    Contribution,
    MsgType,
    Receipt,
    ReceiptEvent,
    Scope,
    Severity,
    State,
    Status,
    Urgency,
)
from ruralcast.alerts.paging import alert_page_close, alert_page_open
from ruralcast.alerts.payload import content_version
from ruralcast.alerts.translations import (
    TranslationFields,
    translations_problems,
    translations_set,
    translations_speak,
)
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import ApplicationError, Conflict, PermissionDenied, ValidationError
from ruralcast.messaging.services import outbox_enqueue
from ruralcast.regions.models import Region
from ruralcast.security.models import SecurityKind
from ruralcast.security.services import SecurityEventIn, security_events_record, terminal_region_code
from ruralcast.terminals.selectors import terminals_in_regions

OUTBOX_DISPATCH = "alert.dispatch"
OUTBOX_CLEAR = "alert.clear"
MAX_DURATION = timedelta(days=7)
_RECEIPT_EVENTS = frozenset(ReceiptEvent.values)
# Title + text + the drill wording must stay within what the speech app reads aloud (2,000).
MAX_TEXT = 1500


@dataclass
class AlertFields:
    """What an author fills in; shared by create, edit and the prepared update."""

    status: str
    event_code: str
    severity: int
    title: str
    text: str
    onset: datetime
    expires: datetime
    targets: list[Region]
    urgency: str = Urgency.IMMEDIATE
    certainty: str = Certainty.OBSERVED
    scope: str = Scope.PUBLIC
    language: str = "zho"
    volume: int = 80
    repeat: int = 2
    audio_source: str = AudioSource.SPEECH
    # The message in further languages (`alerts.translations`); None on an edit keeps the ones it has.
    translations: list[TranslationFields] | None = field(default=None)


def _summary(alert: Alert) -> dict[str, Any]:
    return {
        "ebm_id": alert.ebm_id,
        "state": alert.state,
        "status": alert.status,
        "msg_type": alert.msg_type,
        "severity": alert.severity,
        "event": alert.event_code,
        "title": alert.title,
        "expires": alert.expires,
        "targets": sorted(alert.targets.values_list("code", flat=True)),
        "languages": [alert.language, *alert.translations.values_list("language", flat=True)],
    }


def _validate(
    fields: AlertFields, *, issuer_region: Region, pending: frozenset[str] = frozenset(), history: bool = False
) -> None:
    problems: dict[str, list[str]] = {}
    if fields.status not in Status.values or fields.status == Status.DRAFT:
        problems["status"] = [_("Choose Actual, Exercise, System or Test.")]
    if fields.event_code not in event_types() and not (fields.event_code == "" and "event_code" in pending):
        problems["event_code"] = [_("Unknown event type code.")]
    if fields.severity not in Severity.values:
        problems["severity"] = [_("The level is 1, 2, 3 or 4.")]
    if fields.urgency not in Urgency.values:
        problems["urgency"] = [_("Unknown urgency.")]
    if fields.certainty not in Certainty.values:
        problems["certainty"] = [_("Unknown certainty.")]
    if fields.scope not in Scope.values:
        problems["scope"] = [_("Unknown scope.")]
    if not fields.title.strip() or len(fields.title) > 200:
        problems["title"] = [_("Give a title of at most 200 characters.")]
    if not fields.text.strip() or len(fields.text) > MAX_TEXT:
        problems["text"] = [_("Write the message (at most 1,500 characters).")]
    problems.update(translations_problems(fields.translations or [], primary_language=fields.language))
    if not 0 <= fields.volume <= 100:
        problems["volume"] = [_("Volume is 0 to 100.")]
    if not 1 <= fields.repeat <= 10:
        problems["repeat"] = [_("Repeat 1 to 10 times.")]
    if fields.expires <= fields.onset:
        problems["expires"] = [_("The end must be after the start.")]
    elif fields.expires <= timezone.now() and not history:
        problems["expires"] = [_("The end is already past.")]
    elif fields.expires - fields.onset > MAX_DURATION and not history:
        problems["expires"] = [_("An alert lasts at most 7 days; send an update to extend it.")]
    if not fields.targets and "targets" not in pending:
        problems["targets"] = [_("Choose at least one target region.")]
    outside = [r.name for r in fields.targets if not issuer_region.contains(r)]
    if outside:
        problems["targets"] = [
            _("These regions are outside %(issuer)s: %(names)s.")
            % {"issuer": issuer_region.name, "names": "、".join(outside)}
        ]
    if problems:
        raise ValidationError(_("Please correct the marked fields."), fields=problems)


def _require_draft_rights(actor: User, issuer_region: Region, targets: list[Region]) -> None:
    access_require_all(user=actor, action=Action.ALERT_DRAFT, regions=[issuer_region, *targets])


def _set_targets(alert: Alert, targets: list[Region]) -> None:
    AlertTarget.objects.filter(alert=alert).delete()
    # A region inside another target adds nothing: keep the outermost ones.
    kept = [r for r in targets if not any(o.code != r.code and o.contains(r) for o in targets)]
    AlertTarget.objects.bulk_create([AlertTarget(alert=alert, region=r) for r in {r.code: r for r in kept}.values()])


def _contributed(alert: Alert, user: User, contribution: str) -> None:
    """Record that `user` made a version of `alert` (inside the caller's transaction)."""
    AlertContributor.objects.get_or_create(alert=alert, user=user, contribution=contribution)


def alert_create(
    *,
    actor: User,
    issuer_region: Region,
    fields: AlertFields,
    msg_type: str = MsgType.ALERT,
    references: Alert | None = None,
    audio_upload: UploadedFile | None = None,
    pending: frozenset[str] = frozenset(),
    history: bool = False,
) -> Alert:
    """Draft a message issued by the platform of `issuer_region` (the actor needs `alert.draft`).

    Only an import (`formats.common.draft_create`) passes the last two: `pending` names what it
    leaves to an operator (`event_code` empty: unclassified; `targets` empty: areas given as shapes),
    which `alert_submit` then requires; `history` keeps an already-expired message as a record in
    state `expired` that can never be submitted or dispatched.
    """
    _require_draft_rights(actor, issuer_region, fields.targets)
    _validate(fields, issuer_region=issuer_region, pending=pending, history=history)
    audio = audio_from_upload(audio_upload) if audio_upload is not None else None
    sender = ids.platform_code(issuer_region)
    with transaction.atomic():
        ebm_id = ids.next_ebm_id(sender_code=sender, day=timezone.localdate())
        alert = Alert.objects.create(
            ebm_id=ebm_id,
            cap_id=ids.cap_identifier(sender_code=sender, ebm_id=ebm_id),
            sender_code=sender,
            sender_name=ids.platform_name(issuer_region),
            issuer_region=issuer_region,
            msg_type=msg_type,
            references=references,
            created_by=actor,
            **_model_values(fields, audio),
            **({"state": State.EXPIRED, "closed_at": timezone.now()} if history else {}),
        )
        _set_targets(alert, fields.targets)
        if fields.translations:
            translations_set(alert=alert, translations=fields.translations)
        _contributed(alert, actor, Contribution.CREATED)
        audit_record(actor=actor, verb="alert.create", obj=alert, region_code=issuer_region.code, after=_summary(alert))
    return alert


def _model_values(fields: AlertFields, audio: StoredAudio | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": fields.status,
        "event_code": fields.event_code,
        "severity": fields.severity,
        "urgency": fields.urgency,
        "certainty": fields.certainty,
        "scope": fields.scope,
        "onset": fields.onset,
        "expires": fields.expires,
        "language": fields.language,
        "title": fields.title.strip(),
        "text": fields.text.strip(),
        "volume": fields.volume,
        "repeat": fields.repeat,
        "audio_source": AudioSource.UPLOAD if audio else AudioSource.SPEECH,
    }
    if audio:
        values.update(
            audio_name=audio.name, audio_sha256=audio.sha256, audio_bytes=audio.size, audio_seconds=audio.seconds
        )
    return values


def alert_edit(*, actor: User, alert: Alert, fields: AlertFields, audio_upload: UploadedFile | None = None) -> Alert:
    """Change a draft (or a message sent back by the approver)."""
    if alert.state != State.DRAFT:
        raise Conflict(
            _("Only a draft can be edited; this message is %(state)s.") % {"state": alert.get_state_display()}
        )
    _require_draft_rights(actor, alert.issuer_region, fields.targets)
    _validate(fields, issuer_region=alert.issuer_region)
    audio = audio_from_upload(audio_upload) if audio_upload is not None else None
    before = _summary(alert)
    with transaction.atomic():
        for key, value in _model_values(fields, audio).items():
            setattr(alert, key, value)
        if not audio and alert.audio_source == AudioSource.SPEECH:
            alert.audio_name, alert.audio_sha256, alert.audio_bytes, alert.audio_seconds = "", "", 0, 0
        alert.save()
        _set_targets(alert, fields.targets)
        if fields.translations is not None:
            translations_set(alert=alert, translations=fields.translations)
        _contributed(alert, actor, Contribution.EDITED)
        audit_record(
            actor=actor,
            verb="alert.edit",
            obj=alert,
            region_code=alert.issuer_region_id,
            before=before,
            after=_summary(alert),
        )
    return alert


def alert_submit(*, actor: User, alert: Alert) -> Alert:
    """Send a draft for approval; the spoken audio is produced now so the approver can hear it (and a
    drill's preamble, so that dispatch does not wait for the speech engine)."""
    access_require(user=actor, action=Action.ALERT_DRAFT, region=alert.issuer_region)
    if alert.state != State.DRAFT:
        raise Conflict(
            _("Only a draft can be submitted; this message is %(state)s.") % {"state": alert.get_state_display()}
        )
    if alert.expires <= timezone.now():
        raise ValidationError(
            _("The end time is already past; edit the message first."), fields={"expires": [_("Past.")]}
        )
    if alert.event_code not in event_types():
        raise ValidationError(
            _("The event is unclassified: edit the draft and choose its event type first."),
            fields={"event_code": [_("Choose the event type.")]},
        )
    if not alert.targets.exists():
        raise ValidationError(
            _("The message has no target regions: edit the draft and choose them first."),
            fields={"targets": [_("Choose at least one target region.")]},
        )
    if alert.audio_source == AudioSource.SPEECH and not alert.audio_sha256:
        audio = audio_from_text(title=alert.title, text=alert.text, drill=alert.is_drill)
        audio_attach(alert, audio)
    spoken = translations_speak(alert=alert)
    if alert.is_drill and alert.msg_type != MsgType.CANCEL:
        # Its preamble is signed into the payload at dispatch: spoken now, dispatch reads the cache.
        drill_preamble_prepare()
    with transaction.atomic():
        if Alert.objects.select_for_update().filter(pk=alert.pk).values_list("state", flat=True).first() != State.DRAFT:
            raise Conflict(_("Someone else has just acted on this message."))
        alert.state, alert.submitted_by, alert.submitted_at = State.SUBMITTED, actor, timezone.now()
        alert.rejection_reason = ""
        alert.save()
        for row in spoken:
            row.save(update_fields=["audio_name", "audio_sha256", "audio_bytes", "audio_seconds"])
        _contributed(alert, actor, Contribution.SUBMITTED)
        audit_record(
            actor=actor, verb="alert.submit", obj=alert, region_code=alert.issuer_region_id, after=_summary(alert)
        )
        alert_page_open(alert=alert, actor=actor)  # the approvers on duty are paged
    return alert


def approval_refusal(*, approver: User, alert: Alert) -> ApplicationError | None:
    """Why `approver` may not approve `alert` now (None: they may). The approval screen shows it;
    `alert_approve` raises it. Checks, in order: the state, the person (not a contributor to any
    version), the approver's scope over every target, the end time, and for a follow-up the chain
    (`chains.followup_refusal`)."""
    if alert.state != State.SUBMITTED:
        return Conflict(
            _("Only a submitted message can be approved; this one is %(state)s.") % {"state": alert.get_state_display()}
        )
    contributed = approver.pk in (alert.created_by_id, alert.submitted_by_id) or (
        AlertContributor.objects.filter(alert=alert, user=approver).exists()
    )
    if contributed:
        return PermissionDenied(
            _("A different person must approve: you created, edited or submitted a version of this message.")
        )
    for region in alert.targets.all():
        if not access_check(user=approver, action=Action.ALERT_APPROVE, region=region):
            return PermissionDenied(_("You may not approve messages for %(region)s.") % {"region": region.name})
    if alert.expires <= timezone.now():
        return ValidationError(_("The message has already expired; it cannot be sent."))
    return followup_refusal(alert=alert)


def alert_approve(*, approver: User, alert: Alert, confirm_status: str, version: str) -> Alert:
    """Second-person approval of the exact `version` (`payload.content_version`) the approver saw.

    Writes the dispatch outbox row in the same transaction. Raises Conflict (409) when the message
    changed since the approver's page loaded, so they review it again.
    """

    with transaction.atomic():
        # The rules are read on the locked row: nobody changes the message between check and approval.
        locked = Alert.objects.select_for_update(of=("self",)).select_related("references").get(pk=alert.pk)
        refusal = approval_refusal(approver=approver, alert=locked)
        if refusal is not None:
            raise refusal
        if confirm_status != locked.status:
            raise ValidationError(
                _("Confirm the status: this message is “%(status)s”.") % {"status": locked.get_status_display()},
                fields={"confirm_status": [_("Does not match the message's status.")]},
            )
        if version != content_version(locked):
            raise Conflict(
                _("The alert changed since you opened it; review it again."), fields={"version": [_("Changed.")]}
            )
        now = timezone.now()
        targets = list(locked.targets.all())
        alert.state, alert.approved_by, alert.approved_at, alert.sent_at = State.APPROVED, approver, now, now
        alert.targeted_terminals = terminals_in_regions(regions=targets).count()
        alert.save(update_fields=["state", "approved_by", "approved_at", "sent_at", "targeted_terminals"])
        outbox_enqueue(kind=OUTBOX_DISPATCH, key=alert.ebm_id)
        audit_record(
            actor=approver,
            verb="alert.approve",
            obj=alert,
            region_code=alert.issuer_region_id,
            after={**_summary(alert), "version": version},
        )
        alert_page_close(alert=alert, actor=approver, outcome="approved")
    return alert


def alert_reject(*, approver: User, alert: Alert, reason: str) -> Alert:
    """Send a submitted message back to its author as an editable draft, with the reason."""
    if alert.state != State.SUBMITTED:
        raise Conflict(_("Only a submitted message can be sent back."))
    access_require_all(user=approver, action=Action.ALERT_APPROVE, regions=alert.targets.all())
    if not reason.strip():
        raise ValidationError(_("Say why the message is sent back."), fields={"reason": [_("Required.")]})
    with transaction.atomic():
        alert.state, alert.rejection_reason = State.DRAFT, reason.strip()
        alert.save(update_fields=["state", "rejection_reason"])
        audit_record(
            actor=approver,
            verb="alert.reject",
            obj=alert,
            region_code=alert.issuer_region_id,
            after={"reason": reason.strip()},
        )
        alert_page_close(alert=alert, actor=approver, outcome="rejected", reason=reason.strip())
    return alert


def alert_dispatch(*, actor: User, alert: Alert) -> Alert:
    """Make sure an approved message is queued for publication (idempotent: one outbox row)."""
    access_require(user=actor, action=Action.ALERT_APPROVE, region=alert.issuer_region)
    if alert.state not in (State.APPROVED, State.DISPATCHED):
        raise Conflict(_("Only an approved message can be dispatched."))
    with transaction.atomic():
        outbox_enqueue(kind=OUTBOX_DISPATCH, key=alert.ebm_id)
    return alert


@dataclass(frozen=True)
class ReceiptIn:
    terminal_code: str
    ebm_id: str
    event: str
    reason: str = ""
    device_at: datetime | None = None


_RECEIPT_COLUMNS = "(alert_id, terminal_code, event, reason, device_at, stored_at)"
_RECEIPT_CONFLICT = "ON CONFLICT (alert_id, terminal_code, event) DO NOTHING"


def _receipt_rows_insert(rows: list[tuple[Any, ...]]) -> None:
    """Insert receipt rows, skipping those already stored, in one statement per batch.

    On PostgreSQL the batch travels as six binary arrays unnested server-side, one statement:
    `executemany` costs a statement per row, and its inserts alone took as long as the whole ingest
    path (checks, parsing and this insert) takes now (`bench/receipts.py`, docs/benchmarks.md).
    SQLite is in-process, where `executemany` of one prepared statement is already the fast path.
    """
    table = connection.ops.quote_name(Receipt._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} {_RECEIPT_COLUMNS} "  # noqa: S608 — table name from the model
                "SELECT * FROM unnest(%b::bigint[], %b::varchar[], %b::varchar[], %b::varchar[], "
                f"%b::timestamptz[], %b::timestamptz[]) {_RECEIPT_CONFLICT}",
                [list(column) for column in zip(*rows, strict=True)],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {table} {_RECEIPT_COLUMNS} VALUES (%s, %s, %s, %s, %s, %s) {_RECEIPT_CONFLICT}",  # noqa: S608
                rows,
            )


def receipts_store(items: list[ReceiptIn]) -> int:
    """Store a batch of receipts; duplicates (same message, terminal and event) are ignored.

    The hot path of a broadcast (three receipts per terminal, 30,000 for 10,000 loudspeakers), so
    it is one `INSERT … ON CONFLICT DO NOTHING` executed for the whole batch rather than ORM objects
    (which cost about three times as much per row, see docs/benchmarks.md). Returns the number of
    rows offered for known messages.
    """
    ebm_ids = {item.ebm_id for item in items}
    alerts = dict(Alert.objects.filter(ebm_id__in=ebm_ids).values_list("ebm_id", "pk"))
    adapt = connection.ops.adapt_datetimefield_value
    stored_at = adapt(timezone.now())
    # A terminal's receipts sent together share their time (received and started): adapt it once.
    device_times: dict[datetime | None, Any] = {
        at: adapt(at) for at in {item.device_at for item in items} if at is not None
    }
    rows = [
        (
            alerts[item.ebm_id],
            item.terminal_code[:23],
            item.event,
            item.reason[:40],
            device_times.get(item.device_at),  # None without a device time
            stored_at,
        )
        for item in items
        if item.ebm_id in alerts and item.event in _RECEIPT_EVENTS
    ]
    if rows:
        _receipt_rows_insert(rows)
    security_events_record(events=_receipt_security_events(items, known=alerts))
    return len(rows)


# Rejections that say someone else is signing, or signing with a key the terminal does not trust.
_SECURITY_REASONS = {
    BAD_SIGNATURE: SecurityKind.BAD_SIGNATURE,
    UNKNOWN_KEY: SecurityKind.UNKNOWN_KEY,
    REVOKED_KEY: SecurityKind.UNKNOWN_KEY,
}


def _receipt_security_events(items: list[ReceiptIn], *, known: dict[str, int]) -> list[SecurityEventIn]:
    """Receipts for messages the platform never sent, and forged-signature rejections (security)."""
    events: list[SecurityEventIn] = []
    for item in items:
        kind = SecurityKind.UNKNOWN_RECEIPT if item.ebm_id not in known else None
        if item.event == ReceiptEvent.REJECTED and item.reason in _SECURITY_REASONS:
            kind = _SECURITY_REASONS[item.reason]
        if kind is not None:
            events.append(
                SecurityEventIn(
                    kind=kind,
                    region_code=terminal_region_code(item.terminal_code),
                    terminal_code=item.terminal_code,
                    detail=f"{item.ebm_id[:40]} {item.event} {item.reason}".strip()[:200],
                )  # counted when received: a forged device time must not hide it in another day
            )
    return events
