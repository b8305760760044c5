"""Reads of live voice, scoped by the viewer: sessions whose target lies where they may speak live."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from ruralcast.accounts.access import action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound
from ruralcast.live.models import LiveReceipt, LiveSession, LiveState, terminal_stop_reason_label
from ruralcast.terminals.models import Terminal


def session_list(*, user: User, state: str = "") -> QuerySet[LiveSession]:
    """Sessions targeting regions where the user holds `broadcast.live`, newest first."""
    scope = action_scope_q(user=user, action=Action.BROADCAST_LIVE, field="target_id")
    if scope is None:
        return LiveSession.objects.none()
    sessions = LiveSession.objects.filter(scope).select_related("target", "operator", "recording")
    if state in LiveState.values:
        sessions = sessions.filter(state=state)
    return sessions


def access_live_session(*, user: User, session_id: int) -> LiveSession:
    """One session the user may see (NotFound otherwise, whether it exists or not)."""
    session = session_list(user=user).filter(pk=session_id).first()
    if session is None:
        raise NotFound(_("No such live session."))
    return session


def session_on_air(*, user: User) -> LiveSession | None:
    """The user's own session on the air, if any."""
    return LiveSession.objects.select_related("target").filter(operator=user, state=LiveState.LIVE).first()


@dataclass(frozen=True)
class SessionStatus:
    playing: list[str]  # terminals that reported live_started and not live_stopped
    started: int
    stopped: int
    stop_reasons: dict[str, int]

    def stop_reason_labels(self) -> list[tuple[str, int]]:
        """The stop reasons in the reader's language, for pages (the API keeps the codes)."""
        return [(terminal_stop_reason_label(reason), count) for reason, count in self.stop_reasons.items()]


def playing_terminals(*, status: SessionStatus, limit: int = 200) -> list[Terminal]:
    """The terminals still playing, as rows a page can name (by name and village, not code)."""
    codes = status.playing[:limit]
    found = {t.code: t for t in Terminal.objects.filter(code__in=codes).select_related("village")}
    return [found[code] for code in codes if code in found]


def session_status(*, session: LiveSession) -> SessionStatus:
    receipts = LiveReceipt.objects.filter(session=session)
    started = set(receipts.filter(event="live_started").values_list("terminal_code", flat=True))
    stopped_rows = list(receipts.filter(event="live_stopped").values_list("terminal_code", "reason"))
    stopped = {code for code, _reason in stopped_rows}
    reasons: dict[str, int] = {}
    for _code, reason in stopped_rows:
        reasons[reason or "end"] = reasons.get(reason or "end", 0) + 1
    return SessionStatus(
        playing=sorted(started - stopped), started=len(started), stopped=len(stopped), stop_reasons=reasons
    )


def session_receipt_counts(*, sessions: QuerySet[LiveSession]) -> QuerySet[LiveSession]:
    counted = sessions.annotate(terminals=Count("receipts", filter=Q(receipts__event="live_started")))
    return counted.order_by("-started_at", "-id")  # a grouped query drops Meta.ordering
