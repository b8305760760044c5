"""Console pages of reporting: entry forms and xlsx upload, completeness, the approval chain,
pivot tables with drill-down and export, dashboards, circulars and work dynamics. Thin: request in,
services and selectors, template out."""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ruralcast.accounts.access import access_require_somewhere, action_prefixes
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound
from ruralcast.core.formviews import form_round_trip, service_errors_flashed
from ruralcast.core.paging import paginate
from ruralcast.core.serving import StoredFile, stored_file_response
from ruralcast.regions.models import Region
from ruralcast.reporting import selectors, services, spreadsheets
from ruralcast.reporting.analytics import Table, aggregate
from ruralcast.reporting.circulars import circular_content, circular_pdf, value_text
from ruralcast.reporting.confirmations import accept_confirmation, advance_confirmation
from ruralcast.reporting.forms import ApprovalStepForm, CircularForm, EntryForm, EntryUploadForm, PostForm
from ruralcast.reporting.models import DataElement, DataSet, Indicator, Line, PeriodType
from ruralcast.reporting.periods import current_period, period_check, period_range, period_type_of


def _region(request: AuthenticatedHttpRequest, action: str = Action.REPORT_VIEW) -> Region:
    code = request.GET.get("region", "").strip()[:12] or request.POST.get("region", "").strip()[:12]
    if not code:
        region = selectors.home_report_region(user=request.user, action=action)
        if region is None:
            access_require_somewhere(user=request.user, action=action)
            raise NotFound(_("No region to show."))
        return region
    return selectors.access_report_region(user=request.user, code=code, action=action)


def _period(request: AuthenticatedHttpRequest, period_type: str) -> str:
    period = (request.GET.get("period") or request.POST.get("period") or "").strip()[:7]
    return period_check(period, period_type) if period else current_period(period_type)


def _breadcrumbs(region: Region) -> list[Region]:
    return [*Region.objects.filter(code__in=region.ancestor_codes).order_by("level"), region]


@authenticated_view
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.REPORT_VIEW)
    region = _region(request)
    sets = list(selectors.data_sets())
    for data_set in sets:
        data_set.current = current_period(data_set.period_type)  # type: ignore[attr-defined]
    return render(
        request,
        "reporting/index.html",
        {
            "region": region,
            "data_sets": sets,
            "elements": DataElement.objects.all(),
            "indicators": Indicator.objects.all(),
            "can_enter": bool(action_prefixes(user=request.user, action=Action.REPORT_ENTER)),
        },
    )


# ---------------------------------------------------------------------------- entry


@authenticated_view
def entry(request: AuthenticatedHttpRequest, code: str) -> HttpResponseBase:
    data_set = selectors.access_data_set(code=code)
    access_require_somewhere(user=request.user, action=Action.REPORT_ENTER)
    region = _region(request, Action.REPORT_ENTER)
    period = _period(request, data_set.period_type)
    context: dict[str, Any] = {"data_set": data_set, "region": region, "period": period}
    context["periods"] = period_range(current_period(data_set.period_type), 12)[::-1]
    if region.level != data_set.entry_level:
        regions = selectors.entry_regions(user=request.user, data_set=data_set, parent=region)
        done = set(data_set.receipts.filter(period=period, region__in=regions).values_list("region_id", flat=True))
        context.update({"done": done, **paginate(request, regions, per_page=100)})
        return render(request, "reporting/entry_regions.html", context)
    form = EntryForm(
        request.POST or None,
        elements=services.entry_elements(data_set=data_set),
        current=selectors.entry_values(data_set=data_set, period=period, region=region),
    )

    def save(data: dict[str, Any]) -> HttpResponse:
        result = services.values_save(actor=request.user, data_set=data_set, period=period, region=region, raw=data)
        messages.success(request, _("Saved: %(saved)d changed, %(cleared)d cleared.") % result.__dict__)
        return redirect(f"{request.path}?region={region.code}&period={period}")

    context.update(
        {
            "lock": services.entry_locked(data_set=data_set, period=period, region=region),
            "send_back": selectors.send_back_pending(data_set=data_set, period=period, region=region),
            "operational": [m.element for m in data_set.members.select_related("element") if m.element.source],
        }
    )
    return form_round_trip(request, form, save, template="reporting/entry.html", context=context, flash_error=True)


@authenticated_view
def entry_template(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    data_set = selectors.access_data_set(code=code)
    region = _region(request, Action.REPORT_ENTER)
    period = _period(request, data_set.period_type)
    regions = (
        [region]
        if region.level == data_set.entry_level
        else list(selectors.entry_regions(user=request.user, data_set=data_set, parent=region)[:30000])
    )
    content = spreadsheets.entry_template(data_set=data_set, period=period, regions=regions)
    response = HttpResponse(content, content_type=spreadsheets.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{data_set.code}-{period}-{region.code}.xlsx"'
    return response


@authenticated_view
def entry_upload(request: AuthenticatedHttpRequest, code: str) -> HttpResponseBase:
    data_set = selectors.access_data_set(code=code)
    access_require_somewhere(user=request.user, action=Action.REPORT_ENTER)
    region = _region(request, Action.REPORT_ENTER)
    period = _period(request, data_set.period_type)
    form = EntryUploadForm(request.POST or None, request.FILES or None)
    page = {"data_set": data_set, "region": region, "period": period, "report": None}

    def save(data: dict[str, Any]) -> HttpResponse:
        report = spreadsheets.entry_import(
            actor=request.user, data_set=data_set, period=period, content=data["file"].read()
        )
        if report.ok:
            messages.success(
                request,
                _("Imported %(rows)d rows: %(saved)d values changed, %(cleared)d cleared.")
                % {"rows": report.rows, "saved": report.saved, "cleared": report.cleared},
            )
        page.update({"form": form, "report": report})  # the cells to correct, below the form
        return render(request, "reporting/upload.html", page, status=200 if report.ok else 400)

    return form_round_trip(request, form, save, template="reporting/upload.html", context=page, error_field="file")


# ---------------------------------------------------------------------------- completeness and approval


@authenticated_view
def completeness(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    data_set = selectors.access_data_set(code=code)
    region = _region(request)
    period = _period(request, data_set.period_type)
    state = selectors.completeness(data_set=data_set, period=period, region=region)
    if request.GET.get("format") in ("xlsx", "csv"):
        header = [
            _("Code"),
            _("Region"),
            pgettext("reports", "Expected"),
            _("Reported"),
            _("On time"),
            _("Complete %"),
            _("On time %"),
        ]
        rows = [
            [r.region.code, r.region.name, r.expected, r.reported, r.on_time, r.rate, r.timely_rate] for r in state.rows
        ]
        return _export(request, f"completeness-{data_set.code}-{period}", header, rows)
    return render(
        request,
        "reporting/completeness.html",
        {
            "data_set": data_set,
            "region": region,
            "period": period,
            "state": state,
            "breadcrumbs": _breadcrumbs(region),
            "periods": period_range(current_period(data_set.period_type), 12)[::-1],
        },
    )


@authenticated_view
def approval(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    data_set = selectors.access_data_set(code=code)
    region = _region(request)
    period = _period(request, data_set.period_type)
    if request.method == "POST":
        return _approval_post(request, data_set, period, region)
    own, rows = selectors.approval_chain(data_set=data_set, period=period, region=region)
    rights = services.approval_rights(user=request.user, region=region)
    return render(
        request,
        "reporting/approval.html",
        {
            "data_set": data_set,
            "region": region,
            "period": period,
            "own": own,
            "send_back": selectors.send_back_pending(data_set=data_set, period=period, region=region),
            "rows": rows,
            "breadcrumbs": _breadcrumbs(region),
            "periods": period_range(current_period(data_set.period_type), 12)[::-1],
            "can_act": rights.advance,
            "can_accept": rights.accept,
            "advance_confirm": advance_confirmation(data_set=data_set, period=period, region=region, rows=rows),
            "accept_confirm": accept_confirmation(data_set=data_set, period=period, province=region),
            "can_send_back": rights.send_back_below,
        },
    )


def _approval_post(request: AuthenticatedHttpRequest, data_set: DataSet, period: str, region: Region) -> HttpResponse:
    """One button of the approval page; the outcome comes back as a message on the page."""
    back = f"{reverse('reporting:approval', args=[data_set.code])}?region={region.code}&period={period}"
    form = ApprovalStepForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(str(m) for errors in form.errors.values() for m in errors))
        return redirect(back)
    user = request.user
    target = selectors.access_report_region(user=user, code=form.cleaned_data["target"])
    step = form.cleaned_data["step"]
    with service_errors_flashed(request):
        if step == "advance":
            services.approval_advance(actor=user, data_set=data_set, period=period, region=target)
            messages.success(request, _("Done: %(region)s.") % {"region": target.name})
        elif step == "accept":
            services.approval_accept(actor=user, data_set=data_set, period=period, province=target)
            messages.success(request, _("Accepted: %(region)s.") % {"region": target.name})
        elif step == "revoke":
            services.approval_revoke(
                actor=user, data_set=data_set, period=period, region=target, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Sent back: %(region)s.") % {"region": target.name})
    return redirect(back)


# ---------------------------------------------------------------------------- analysis


def _items(request: AuthenticatedHttpRequest) -> list[DataElement | Indicator]:
    codes = [c.strip() for c in request.GET.getlist("item") if c.strip()][:20]
    items = selectors.items_by_codes(codes)
    return items or list(Indicator.objects.all()[:1]) or list(DataElement.objects.all()[:1])


def _periods(request: AuthenticatedHttpRequest) -> list[str]:
    last = request.GET.get("period", "").strip()[:7] or current_period(PeriodType.MONTHLY)
    period_type_of(last)
    try:
        count = max(1, min(int(request.GET.get("count", "12")), 60))
    except ValueError:
        count = 12
    return period_range(last, count)


def _export(request: AuthenticatedHttpRequest, name: str, header: list[Any], rows: list[list[Any]]) -> HttpResponse:
    if request.GET.get("format") == "csv":
        response = HttpResponse(
            spreadsheets.export_csv(header=header, rows=rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    response = HttpResponse(
        spreadsheets.export_xlsx(header=header, rows=rows, title=name), content_type=spreadsheets.XLSX_TYPE
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


def table_export_rows(table: Table) -> tuple[list[str], list[list[Any]]]:
    header = [_("Code"), _("Region")] + [
        f"{item.label} {period}".strip() for item in table.items for period in table.period_keys
    ]
    rows = [[r.code, r.name, *table.row_values(r.code)] for r in [*table.rows, table.region]]
    return header, rows


@authenticated_view
def pivot(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.REPORT_VIEW)
    region = _region(request)
    items, periods = _items(request), _periods(request)
    by_period = request.GET.get("by", "period") == "period"
    table = aggregate(items=items, periods=periods, region=region, by_period=by_period)
    if request.GET.get("format") in ("xlsx", "csv"):
        header, rows = table_export_rows(table)
        return _export(request, f"pivot-{region.code}", header, rows)
    keys = table.period_keys
    shown = list(table.rows)
    ranked = request.GET.get("sort") == "rank"
    if ranked:  # a ranking table: highest value of the first column first, empty cells last
        item, key = items[0], keys[-1]
        shown.sort(
            key=lambda r: (table.value(r.code, item.code, key) is None, -(table.value(r.code, item.code, key) or 0))
        )
    body = [
        {
            "rank": position,
            "region": row,
            "cells": [value_text(item, table.value(row.code, item.code, p)) for item in items for p in keys],
        }
        for position, row in enumerate(shown, 1)
    ]
    total = [value_text(item, table.value(region.code, item.code, p)) for item in items for p in keys]
    return render(
        request,
        "reporting/pivot.html",
        {
            "region": region,
            "table": table,
            "body": body,
            "total": total,
            "columns": [(item, p) for item in items for p in keys],
            "chosen": [i.code for i in items],
            "elements": DataElement.objects.exclude(value_type="text"),
            "indicators": Indicator.objects.all(),
            "breadcrumbs": _breadcrumbs(region),
            "period": periods[-1],
            "count": len(periods),
            "by_period": by_period,
            "ranked": ranked,
            "query": request.GET.urlencode(),
        },
    )


@authenticated_view
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.REPORT_VIEW)
    region = _region(request)
    try:
        line = int(request.GET.get("line", Line.PUBLIC_SERVICE))
    except ValueError:
        line = Line.PUBLIC_SERVICE
    line = line if line in Line.values else Line.PUBLIC_SERVICE
    periods = _periods(request)
    elements = list(DataElement.objects.filter(line=line).exclude(value_type="text"))
    # Entered figures first, then indicators, then the automatic ones (each asked per region and period).
    indicators: list[DataElement | Indicator] = list(Indicator.objects.filter(line=line))
    items = [*[e for e in elements if not e.source], *indicators, *[e for e in elements if e.source]][:8]
    # The trend needs the region's own row only; the ranking needs the sub-regions for one period.
    trend = (
        aggregate(items=items, periods=periods, region=region, level=region.level, by_period=True) if items else None
    )
    latest = aggregate(items=items, periods=periods[-1:], region=region) if items else None
    charts: dict[str, Any] = {"periods": periods, "trend": [], "ranking": [], "completeness": []}
    if trend is not None and latest is not None:
        for item in items:
            charts["trend"].append(
                {"name": item.label, "data": [trend.value(region.code, item.code, p) for p in periods]}
            )
        first = items[0]
        ranked = sorted(
            ((r, latest.value(r.code, first.code)) for r in latest.rows),
            key=lambda pair: -(pair[1] or 0.0),
        )
        charts["ranking"] = {
            "name": first.label,
            "labels": [r.name for r, _v in ranked],
            "codes": [r.code for r, _v in ranked],  # a click on a bar drills down to that region
            "data": [v for _r, v in ranked],
        }
        charts["distribution"] = [{"name": r.name, "value": v} for r, v in ranked if v]
    for data_set in DataSet.objects.filter(line=line):
        if data_set.entry_level < region.level:
            continue
        period = current_period(data_set.period_type)
        state = selectors.completeness(data_set=data_set, period=period, region=region, list_limit=0)
        charts["completeness"].append(
            {"name": f"{data_set.label} {period}", "rate": state.total.rate, "timely": state.total.timely_rate}
        )
    return render(
        request,
        "reporting/dashboard.html",
        {
            "region": region,
            "line": line,
            "lines": Line.choices,
            "charts": charts,
            "breadcrumbs": _breadcrumbs(region),
            "period": periods[-1],
            "count": len(periods),
            "latest": [(item, value_text(item, latest.value(region.code, item.code))) for item in items]
            if latest
            else [],
        },
    )


# ---------------------------------------------------------------------------- circulars and posts


@authenticated_view
def circular_list(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.REPORT_VIEW)
    home = selectors.home_report_region(user=request.user, action=Action.REPORT_APPROVE)
    initial = {"region": home.code if home else "", "period": current_period(PeriodType.MONTHLY)}
    form = CircularForm(request.POST or None, initial=initial)

    def save(data: dict[str, Any]) -> HttpResponse:
        region = selectors.access_report_region(user=request.user, code=data["region"], action=Action.REPORT_APPROVE)
        circular = services.circular_create(
            actor=request.user, region=region, period=data["period"], title=data["title"], body=data["body"]
        )
        return redirect("reporting:circular", pk=circular.pk)

    context = {
        "can_write": bool(action_prefixes(user=request.user, action=Action.REPORT_APPROVE)),
        **paginate(request, selectors.circulars(user=request.user)),
    }
    return form_round_trip(request, form, save, template="reporting/circulars.html", context=context)


@authenticated_view
def circular_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    circular = selectors.access_circular(user=request.user, pk=pk)
    content = circular_content(circular=circular)
    return render(request, "reporting/circular.html", {"content": content, "circular": circular})


@authenticated_view
def circular_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    circular = selectors.access_circular(user=request.user, pk=pk)
    pdf = circular_pdf(content=circular_content(circular=circular))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="circular-{circular.pk}.pdf"'
    return response


@authenticated_view
def post_list(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.REPORT_VIEW)
    home = selectors.home_report_region(user=request.user, action=Action.REPORT_ENTER)
    form = PostForm(request.POST or None, request.FILES or None, initial={"region": home.code if home else ""})

    def save(data: dict[str, Any]) -> HttpResponse:
        region = selectors.access_report_region(user=request.user, code=data["region"], action=Action.REPORT_ENTER)
        post = services.post_create(
            actor=request.user,
            region=region,
            line=data["line"],
            title=data["title"],
            body=data["body"],
            files=data["files"],
        )
        return redirect("reporting:post", pk=post.pk)

    context = {
        "can_write": bool(action_prefixes(user=request.user, action=Action.REPORT_ENTER)),
        **paginate(request, selectors.posts(user=request.user)),
    }
    return form_round_trip(request, form, save, template="reporting/posts.html", context=context)


@authenticated_view
def post_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return render(request, "reporting/post.html", {"post": selectors.access_post(user=request.user, pk=pk)})


@authenticated_view
def post_attachment(request: AuthenticatedHttpRequest, pk: int, attachment: int) -> HttpResponseBase:
    """An attachment, always as a download under the name it was uploaded with."""
    post = selectors.access_post(user=request.user, pk=pk)
    item = post.attachments.filter(pk=attachment).first()
    if item is None:
        raise NotFound(_("No such attachment."))
    stored = StoredFile(name=item.file.name, content_type=item.content_type, download_name=item.name, attachment=True)
    return stored_file_response(request, stored, cache_control="private, max-age=3600")
