"""Proof of broadcast as a PDF: what was sent, who approved it, and what every loudspeaker reported.

The document a county hands to its superior or an inquiry after an alert: the message (EBM id,
status, level, event, title and text, times), the two people who wrote and approved it, the signing
key's serial, the totals (targeted, received, played, finished, cancelled, rejected, silent), then
one line per targeted terminal with its receipts. The terminals are those the message was published
to, recorded at dispatch: a terminal registered later never changes the document. Every time, in
the header and the rows, is in the deployment's time zone with its offset (`alerts.times`). Chinese
text is set in `core.pdf_fonts.cjk_font()`, embedded with a real text layer, so the PDF can be
searched and its text extracted.
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
from ruralcast.alerts.times import local_text, zone_label
from ruralcast.core.pdf_fonts import cjk_font

# The outcome codes of `ProofRow` (kept as codes in CSV and xlsx, for programs), in words.
OUTCOME_LABELS = {
    "played": gettext_lazy("played"),
    "playing": gettext_lazy("playing"),
    "received": gettext_lazy("received only"),
    "cancelled": gettext_lazy("stopped by cancel"),
    "superseded": gettext_lazy("replaced by an update"),
    "failed": gettext_lazy("failed"),
    "rejected": gettext_lazy("rejected"),
    "silent": gettext_lazy("silent"),
}


def _when(value: datetime | None) -> str:
    return local_text(value)


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
        (_("Times"), _("in %(zone)s") % {"zone": zone_label(alert.sent_at)}),
        (_("Text"), alert.text),
    ]
    totals = status.totals
    counts = [
        [
            _("Targeted"),
            _("Received"),
            _("Played"),
            _("Finished"),
            _("Stopped by cancel"),
            _("Replaced by update"),
            _("Rejected"),
            _("Failed"),
            _("Silent"),
        ],
        [
            str(totals.targeted),
            str(totals.received),
            str(totals.played),
            str(totals.finished),
            str(totals.cancelled),
            str(totals.superseded),
            str(totals.rejected),
            str(totals.failed),
            str(totals.silent),
        ],
    ]
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 7),
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
        _("Stopped"),
        _("Outcome"),
        _("Reason"),
    ]
    lines = [header] + [
        [
            r.terminal,
            r.village_code,
            r.village,
            _when(r.received),
            _when(r.started),
            _when(r.finished),
            _when(r.cancelled),
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
            _(
                "Generated %(when)s by ruralcast from the terminals recorded when the message was dispatched "
                "and the receipts they sent (device clocks)."
            )
            % {"when": _when(timezone.now())},
            small,
        ),
    ]
    document.build(story)
    return output.getvalue()
