"""Proof of broadcast as a PDF: what was sent, who approved it, and what every loudspeaker reported.

The document a county hands to its superior or an inquiry after an alert: the message (EBM id,
status, level, event, title and text, times), the two people who wrote and approved it, the signing
key's serial, the totals (targeted, received, played, finished, rejected, silent), then one line per
targeted terminal with its receipts. Chinese text is set in `core.pdf_fonts.cjk_font()`, embedded
with a real text layer, so the PDF can be searched and its text extracted.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ruralcast.alerts.models import Alert
from ruralcast.alerts.selectors import BroadcastStatus, ProofRow
from ruralcast.core.pdf_fonts import cjk_font

# The outcome codes of `ProofRow` (kept as codes in CSV and xlsx, for programs), in words.
OUTCOME_LABELS = {
    "played": gettext_lazy("played"),
    "playing": gettext_lazy("playing"),
    "received": gettext_lazy("received only"),
    "cancelled": gettext_lazy("cancelled"),
    "failed": gettext_lazy("failed"),
    "rejected": gettext_lazy("rejected"),
    "silent": gettext_lazy("silent"),
}


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def proof_pdf(*, alert: Alert, status: BroadcastStatus, rows: Sequence[ProofRow], signing_serial: str = "") -> bytes:
    """The proof of broadcast of `alert` as PDF bytes (A4 landscape, paginated table)."""
    font = cjk_font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    heading = ParagraphStyle("heading", fontName=font, fontSize=16, leading=20, spaceAfter=6)
    small = ParagraphStyle("small", fontName=font, fontSize=7.5, leading=9)
    output = io.BytesIO()
    document = SimpleDocTemplate(
        output,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{_('Proof of broadcast')} {alert.ebm_id}",
        author=alert.sender_name,
    )

    def person(user: object) -> str:
        return str(getattr(user, "username", "")) if user is not None else ""

    facts = [
        (_("EBM id"), alert.ebm_id),
        (_("Title"), alert.title),
        (_("Status"), f"{alert.get_status_display()} · {alert.get_msg_type_display()}"),
        (_("Level"), alert.get_severity_display()),
        (_("Event type"), alert.event_code),
        (_("Sender"), f"{alert.sender_name} ({alert.sender_code})"),
        (_("Drafted by"), f"{person(alert.created_by)} {_when(alert.created_at)}"),
        (_("Approved by"), f"{person(alert.approved_by)} {_when(alert.approved_at)}"),
        (_("Dispatched"), _when(alert.dispatched_at)),
        (_("Valid"), f"{_when(alert.onset)} – {_when(alert.expires)}"),
        (_("Signing key"), signing_serial),
        (_("Text"), alert.text),
    ]
    totals = status.totals
    counts = [
        [_("Targeted"), _("Received"), _("Played"), _("Finished"), _("Rejected"), _("Failed"), _("Silent")],
        [
            str(totals.targeted),
            str(totals.received),
            str(totals.played),
            str(totals.finished),
            str(totals.rejected),
            str(totals.failed),
            str(totals.silent),
        ],
    ]
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    header = [
        _("Terminal"),
        _("Village code"),
        _("Village"),
        _("Received"),
        _("Started"),
        _("Finished"),
        _("Outcome"),
        _("Reason"),
    ]
    lines = [header] + [
        [
            r.terminal,
            r.village_code,
            r.village,
            r.received,
            r.started,
            r.finished,
            str(OUTCOME_LABELS.get(r.outcome, r.outcome)),
            r.reason,
        ]
        for r in rows
    ]
    story = [
        Paragraph(f"{_('Proof of broadcast')} · {alert.title}", heading),
        Table(
            [[Paragraph(label, body), Paragraph(str(value), body)] for label, value in facts],
            colWidths=[35 * mm, 230 * mm],
            style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]),
        ),
        Spacer(1, 4 * mm),
        Table(counts, style=grid, hAlign="LEFT"),
        Spacer(1, 4 * mm),
        Table(lines, style=grid, repeatRows=1, hAlign="LEFT"),
        Spacer(1, 3 * mm),
        Paragraph(
            _("Generated %(when)s by ruralcast from the receipts the terminals sent (device clocks).")
            % {"when": _when(timezone.now())},
            small,
        ),
    ]
    document.build(story)
    return output.getvalue()
