"""The circular (通报): headline figures of a region for a period, the ranking of its sub-regions,
who reported late or not at all, and the free text the bureau writes. Figures are computed when
the circular is shown (HTML) or printed (PDF), from the same live aggregation as every table.

The PDF embeds a CJK TrueType font (WenQuanYi Micro Hei, Debian fonts-wqy-microhei) so the text is
real, searchable text, not pictures of characters.
"""

import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ruralcast.core.pdf_fonts import cjk_font
from ruralcast.regions.models import Region
from ruralcast.reporting.analytics import aggregate
from ruralcast.reporting.models import Circular, DataElement, DataSet, Indicator, ValueType
from ruralcast.reporting.periods import period_type_of
from ruralcast.reporting.selectors import completeness

RANKED_ITEMS = 3
LISTED_REPORTERS = 30


@dataclass
class Figure:
    label: str
    value: str


@dataclass
class Ranking:
    label: str
    rows: list[tuple[int, Region, str]]


@dataclass
class LateReport:
    data_set: str
    missing: list[str]
    late: list[str]
    rate: float | None


@dataclass
class CircularContent:
    circular: Circular
    figures: list[Figure] = field(default_factory=list)
    rankings: list[Ranking] = field(default_factory=list)
    reporting: list[LateReport] = field(default_factory=list)


def value_text(item: DataElement | Indicator, value: float | None) -> str:
    if value is None:
        return "—"
    unit = "%" if item.value_type == ValueType.PERCENT else (getattr(item, "unit", "") or "")
    if unit == "%":
        return f"{value:,.1f}%"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def circular_items(period_type: str) -> list[DataElement | Indicator]:
    """Headline items: the numeric elements of the data sets of this period type, then indicators."""
    elements = list(
        DataElement.objects.filter(data_sets__period_type=period_type)
        .exclude(value_type=ValueType.TEXT)
        .distinct()
        .order_by("line", "code")
    )
    operational = list(DataElement.objects.exclude(source="").order_by("line", "code"))
    items: list[DataElement | Indicator] = [*elements, *[e for e in operational if e not in elements]]
    return [*items, *Indicator.objects.order_by("line", "code")]


def circular_content(*, circular: Circular) -> CircularContent:
    region, period = circular.region, circular.period
    period_type = period_type_of(period)
    items = circular_items(period_type)
    content = CircularContent(circular=circular)
    table = aggregate(items=items, periods=[period], region=region)
    for item in items:
        value = table.value(region.code, item.code)
        if value is not None:
            content.figures.append(Figure(label=item.label, value=value_text(item, value)))
    ranked = [i for i in items if any(table.value(r.code, i.code) is not None for r in table.rows)]
    for item in ranked[:RANKED_ITEMS]:
        pairs = sorted(
            ((row, table.value(row.code, item.code)) for row in table.rows),
            key=lambda pair: (pair[1] is None, -(pair[1] or 0.0), pair[0].code),
        )
        content.rankings.append(
            Ranking(
                label=item.label,
                rows=[(position, row, value_text(item, value)) for position, (row, value) in enumerate(pairs, 1)],
            )
        )
    for data_set in DataSet.objects.filter(period_type=period_type).order_by("line", "code"):
        if data_set.entry_level < region.level:
            continue
        state = completeness(data_set=data_set, period=period, region=region, list_limit=LISTED_REPORTERS)
        content.reporting.append(
            LateReport(
                data_set=data_set.label,
                missing=[r.name for r in state.missing],
                late=[r.name for r, _saved in state.late],
                rate=state.total.rate,
            )
        )
    return content


def circular_pdf(*, content: CircularContent) -> bytes:
    """The circular as an A4 PDF with a real (extractable) Chinese text layer."""
    # Imported on the first PDF: reportlab takes a while to import and most processes never draw one.
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from reportlab.platypus.flowables import Flowable

    font = cjk_font()
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=26, alignment=1, wordWrap="CJK")
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=20, spaceBefore=8, wordWrap="CJK")
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK")
    circular = content.circular
    story: list[Flowable] = [
        Paragraph(_escape(circular.title), title),
        Paragraph(_escape(f"{circular.region.name} · {circular.period}"), body),
        Spacer(1, 4 * mm),
    ]

    def table(rows: list[list[str]], widths: list[float]) -> Table:
        flow = Table([[Paragraph(_escape(c), body) for c in row] for row in rows], colWidths=widths, repeatRows=1)
        flow.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return flow

    story.append(Paragraph(_escape(_("Headline figures")), heading))
    if content.figures:
        story.append(
            table([[_("Figure"), _("Value")], *[[f.label, f.value] for f in content.figures]], [110 * mm, 60 * mm])
        )
    else:
        story.append(Paragraph(_escape(_("No figures reported for this period yet.")), body))
    for ranking in content.rankings:
        story.append(Paragraph(_escape(_("Ranking: %(item)s") % {"item": ranking.label}), heading))
        rows = [[str(position), region.name, value] for position, region, value in ranking.rows]
        story.append(table([[_("Rank"), _("Region"), _("Value")], *rows], [20 * mm, 90 * mm, 60 * mm]))
    story.append(Paragraph(_escape(_("Reporting")), heading))
    rows = [
        [r.data_set, "—" if r.rate is None else f"{r.rate:.1f}%", "、".join(r.missing) or "—", "、".join(r.late) or "—"]
        for r in content.reporting
    ]
    story.append(
        table(
            [[_("Data set"), _("Complete"), _("Not reported"), _("Late")], *rows], [45 * mm, 20 * mm, 60 * mm, 45 * mm]
        )
    )
    if circular.body.strip():
        story.append(Paragraph(_escape(_("Notes")), heading))
        for paragraph in circular.body.split("\n\n"):
            story.append(Paragraph(_escape(paragraph).replace("\n", "<br/>"), body))
    output = io.BytesIO()
    SimpleDocTemplate(
        output, pagesize=A4, title=circular.title, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm
    ).build(story)
    return output.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
