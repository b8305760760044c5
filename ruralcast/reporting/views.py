"""Console pages of reporting: entry forms and xlsx upload, completeness, the approval chain,
pivot tables with drill-down and export, dashboards, circulars and work dynamics. Thin: request in,
services and selectors, template out."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, access_require_somewhere, action_prefixes
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationError
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.reporting import selectors, services, spreadsheets
from ruralcast.reporting.analytics import Table, aggregate
from ruralcast.reporting.circulars import circular_content, circular_pdf, value_text
from ruralcast.reporting.models import DataElement, DataSet, Indicator, Line, PeriodType
from ruralcast.reporting.periods import current_period, period_check, period_range, period_type_of
from ruralcast.web.paging import paginate


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _region(request: HttpRequest, action: str = Action.REPORT_VIEW) -> Region:
    code = request.GET.get("region", "").strip()[:12] or request.POST.get("region", "").strip()[:12]
    if not code:
        region = selectors.home_report_region(user=_user(request), action=action)
        if region is None:
            access_require_somewhere(user=_user(request), action=action)
            raise NotFound(_("No region to show."))
        return region
    return selectors.access_report_region(user=_user(request), code=code, action=action)


def _period(request: HttpRequest, period_type: str) -> str:
    period = (request.GET.get("period") or request.POST.get("period") or "").strip()[:7]
    return period_check(period, period_type) if period else current_period(period_type)


def _breadcrumbs(region: Region) -> list[Region]:
    return [*Region.objects.filter(code__in=region.ancestor_codes).order_by("level"), region]


@login_required
def index(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.REPORT_VIEW)
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
            "can_enter": bool(action_prefixes(user=_user(request), action=Action.REPORT_ENTER)),
        },
    )


# ---------------------------------------------------------------------------- entry


@login_required
def entry(request: HttpRequest, code: str) -> HttpResponse:
    data_set = selectors.access_data_set(code=code)
    access_require_somewhere(user=_user(request), action=Action.REPORT_ENTER)
    region = _region(request, Action.REPORT_ENTER)
    period = _period(request, data_set.period_type)
    context: dict[str, Any] = {"data_set": data_set, "region": region, "period": period}
    context["periods"] = period_range(current_period(data_set.period_type), 12)[::-1]
    if region.level != data_set.entry_level:
        regions = selectors.entry_regions(user=_user(request), data_set=data_set, parent=region)
        done = set(data_set.receipts.filter(period=period, region__in=regions).values_list("region_id", flat=True))
        context.update({"done": done, **paginate(request, regions, per_page=100)})
        return render(request, "reporting/entry_regions.html", context)
    elements = services.entry_elements(data_set)
    errors: dict[str, list[str]] = {}
    typed: dict[str, str] = {}
    if request.method == "POST":
        typed = {e.code: request.POST.get(e.code, "")[:500] for e in elements}
        try:
            result = services.values_save(
                actor=_user(request), data_set=data_set, period=period, region=region, raw=typed
            )
        except ApplicationError as error:
            errors = error.fields
            messages.error(request, error.message)
        else:
            messages.success(request, _("Saved: %(saved)d changed, %(cleared)d cleared.") % result.__dict__)
            return redirect(f"{request.path}?region={region.code}&period={period}")
    current = selectors.entry_values(data_set=data_set, period=period, region=region)
    rows = []
    for element in elements:
        value = current.get(element.code)
        shown = typed.get(element.code) if typed else (None if value is None else (value.text or _plain(value.value)))
        rows.append({"element": element, "value": shown or "", "errors": errors.get(element.code, [])})
    context.update(
        {
            "rows": rows,
            "lock": services.entry_locked(data_set=data_set, period=period, region=region),
            "form_errors": errors.get("__all__", []),
            "operational": [m.element for m in data_set.members.select_related("element") if m.element.source],
        }
    )
    return render(request, "reporting/entry.html", context, status=400 if errors else 200)


def _plain(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


@login_required
def entry_template(request: HttpRequest, code: str) -> HttpResponse:
    data_set = selectors.access_data_set(code=code)
    region = _region(request, Action.REPORT_ENTER)
    period = _period(request, data_set.period_type)
    regions = (
        [region]
        if region.level == data_set.entry_level
        else list(selectors.entry_regions(user=_user(request), data_set=data_set, parent=region)[:30000])
    )
    content = spreadsheets.entry_template(data_set=data_set, period=period, regions=regions)
    response = HttpResponse(content, content_type=spreadsheets.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{data_set.code}-{period}-{region.code}.xlsx"'
    return response


@login_required
def entry_upload(request: HttpRequest, code: str) -> HttpResponse:
    data_set = selectors.access_data_set(code=code)
    access_require_somewhere(user=_user(request), action=Action.REPORT_ENTER)
    region = _region(request, Action.REPORT_ENTER)
    period = _period(request, data_set.period_type)
    report = None
    refused = 0  # the status of a refused file (a zip bomb is 413), shown with its message
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose the filled-in xlsx file."))
        else:
            try:
                report = spreadsheets.entry_import(
                    actor=_user(request), data_set=data_set, period=period, content=upload.read()
                )
            except ApplicationError as error:
                messages.error(request, error.message)
                refused = error.status_code
            else:
                if report.ok:
                    messages.success(
                        request,
                        _("Imported %(rows)d rows: %(saved)d values changed, %(cleared)d cleared.")
                        % {"rows": report.rows, "saved": report.saved, "cleared": report.cleared},
                    )
    status = refused or (400 if report is not None and not report.ok else 200)
    return render(
        request,
        "reporting/upload.html",
        {"data_set": data_set, "region": region, "period": period, "report": report},
        status=status,
    )


# ---------------------------------------------------------------------------- completeness and approval


@login_required
def completeness(request: HttpRequest, code: str) -> HttpResponse:
    data_set = selectors.access_data_set(code=code)
    region = _region(request)
    period = _period(request, data_set.period_type)
    state = selectors.completeness(data_set=data_set, period=period, region=region)
    if request.GET.get("format") in ("xlsx", "csv"):
        header = [_("Code"), _("Region"), _("Expected"), _("Reported"), _("On time"), _("Complete %"), _("On time %")]
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


@login_required
def approval(request: HttpRequest, code: str) -> HttpResponse:
    data_set = selectors.access_data_set(code=code)
    region = _region(request)
    period = _period(request, data_set.period_type)
    if request.method == "POST":
        return _approval_post(request, data_set, period)
    own, rows = selectors.approval_chain(data_set=data_set, period=period, region=region)
    user = _user(request)
    return render(
        request,
        "reporting/approval.html",
        {
            "data_set": data_set,
            "region": region,
            "period": period,
            "own": own,
            "rows": rows,
            "breadcrumbs": _breadcrumbs(region),
            "periods": period_range(current_period(data_set.period_type), 12)[::-1],
            "can_act": region.level in (Level.COUNTY, Level.CITY, Level.PROVINCE)
            and (
                access_check(user=user, action=Action.REPORT_APPROVE, region=region)
                or (region.level == Level.COUNTY and access_check(user=user, action=Action.REPORT_ENTER, region=region))
            ),
            "can_accept": region.level == Level.PROVINCE
            and access_check(user=user, action=Action.REPORT_APPROVE, region=Region.objects.get(code="0" * 12)),
            "can_send_back": access_check(user=user, action=Action.REPORT_APPROVE, region=region),
        },
    )


def _approval_post(request: HttpRequest, data_set: DataSet, period: str) -> HttpResponse:
    user = _user(request)
    target = selectors.access_report_region(user=user, code=request.POST.get("target", "")[:12])
    step = request.POST.get("step", "")
    try:
        if step == "advance":
            services.approval_advance(actor=user, data_set=data_set, period=period, region=target)
            messages.success(request, _("Done: %(region)s.") % {"region": target.name})
        elif step == "accept":
            services.approval_accept(actor=user, data_set=data_set, period=period, province=target)
            messages.success(request, _("Accepted: %(region)s.") % {"region": target.name})
        elif step == "revoke":
            services.approval_revoke(
                actor=user, data_set=data_set, period=period, region=target, reason=request.POST.get("reason", "")[:500]
            )
            messages.success(request, _("Sent back: %(region)s.") % {"region": target.name})
        else:
            raise ValidationError(_("Unknown step."))
    except ApplicationError as error:
        messages.error(request, error.message)
    region = request.POST.get("region", target.code)[:12]
    return redirect(f"{reverse('reporting:approval', args=[data_set.code])}?region={region}&period={period}")


# ---------------------------------------------------------------------------- analysis


def _items(request: HttpRequest) -> list[DataElement | Indicator]:
    codes = [c.strip() for c in request.GET.getlist("item") if c.strip()][:20]
    items = selectors.items_by_codes(codes)
    return items or list(Indicator.objects.all()[:1]) or list(DataElement.objects.all()[:1])


def _periods(request: HttpRequest) -> list[str]:
    last = request.GET.get("period", "").strip()[:7] or current_period(PeriodType.MONTHLY)
    period_type_of(last)
    try:
        count = max(1, min(int(request.GET.get("count", "12")), 60))
    except ValueError:
        count = 12
    return period_range(last, count)


def _export(request: HttpRequest, name: str, header: list[Any], rows: list[list[Any]]) -> HttpResponse:
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
        f"{item.name} {period}".strip() for item in table.items for period in table.period_keys
    ]
    rows = [[r.code, r.name, *table.row_values(r.code)] for r in [*table.rows, table.region]]
    return header, rows


@login_required
def pivot(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.REPORT_VIEW)
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


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.REPORT_VIEW)
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
                {"name": item.name, "data": [trend.value(region.code, item.code, p) for p in periods]}
            )
        first = items[0]
        ranked = sorted(
            ((r, latest.value(r.code, first.code)) for r in latest.rows),
            key=lambda pair: -(pair[1] or 0.0),
        )
        charts["ranking"] = {
            "name": first.name,
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
            {"name": f"{data_set.name} {period}", "rate": state.total.rate, "timely": state.total.timely_rate}
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


@login_required
def circular_list(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.REPORT_VIEW)
    can_write = bool(action_prefixes(user=_user(request), action=Action.REPORT_APPROVE))
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "")[:20000] for k in ("region", "period", "title", "body")}
        try:
            region = selectors.access_report_region(
                user=_user(request), code=values["region"][:12], action=Action.REPORT_APPROVE
            )
            circular = services.circular_create(
                actor=_user(request),
                region=region,
                period=values["period"][:7],
                title=values["title"],
                body=values["body"],
            )
        except PermissionDenied:
            raise
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            return redirect("reporting:circular", pk=circular.pk)
    home = selectors.home_report_region(user=_user(request), action=Action.REPORT_APPROVE)
    return render(
        request,
        "reporting/circulars.html",
        {
            "can_write": can_write,
            "values": values or {"region": home.code if home else "", "period": current_period(PeriodType.MONTHLY)},
            **paginate(request, selectors.circulars(user=_user(request))),
        },
        status=400 if values else 200,
    )


@login_required
def circular_detail(request: HttpRequest, pk: int) -> HttpResponse:
    circular = selectors.access_circular(user=_user(request), pk=pk)
    content = circular_content(circular=circular)
    return render(request, "reporting/circular.html", {"content": content, "circular": circular})


@login_required
def circular_download(request: HttpRequest, pk: int) -> HttpResponse:
    circular = selectors.access_circular(user=_user(request), pk=pk)
    pdf = circular_pdf(content=circular_content(circular=circular))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="circular-{circular.pk}.pdf"'
    return response


@login_required
def post_list(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.REPORT_VIEW)
    can_write = bool(action_prefixes(user=_user(request), action=Action.REPORT_ENTER))
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "")[:20000] for k in ("region", "line", "title", "body")}
        try:
            region = selectors.access_report_region(
                user=_user(request), code=values["region"][:12], action=Action.REPORT_ENTER
            )
            post = services.post_create(
                actor=_user(request),
                region=region,
                line=int(values["line"]) if values["line"].isdigit() else 0,
                title=values["title"],
                body=values["body"],
                files=request.FILES.getlist("files")[:10],
            )
        except PermissionDenied:
            raise
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            return redirect("reporting:post", pk=post.pk)
    home = selectors.home_report_region(user=_user(request), action=Action.REPORT_ENTER)
    return render(
        request,
        "reporting/posts.html",
        {
            "can_write": can_write,
            "lines": Line.choices,
            "values": values or {"region": home.code if home else ""},
            **paginate(request, selectors.posts(user=_user(request))),
        },
        status=400 if values else 200,
    )


@login_required
def post_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "reporting/post.html", {"post": selectors.access_post(user=_user(request), pk=pk)})


@login_required
def post_attachment(request: HttpRequest, pk: int, attachment: int) -> FileResponse:
    post = selectors.access_post(user=_user(request), pk=pk)
    item = post.attachments.filter(pk=attachment).first()
    if item is None:
        raise NotFound(_("No such attachment."))
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=item.name)
