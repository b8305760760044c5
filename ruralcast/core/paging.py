"""Pagination for console lists: page numbers that keep the current filters in the links.

The links are drawn by the console shell's `includes/pagination.html` (web/templates)."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest


def paginate(request: HttpRequest, items: Any, *, per_page: int = 50, param: str = "page") -> dict[str, Any]:
    """Context with `page_obj`, `querystring_without_page` and `page_param` for includes/pagination.html.

    `param` names the page in the query: several lists on one page (a terminal's history) each
    page on their own parameter, and each list's links keep the others' pages."""
    paginator = Paginator(items, per_page)
    page: Page[Any] = paginator.get_page(request.GET.get(param))
    params = request.GET.copy()
    params.pop(param, None)
    encoded = params.urlencode()
    return {"page_obj": page, "querystring_without_page": f"{encoded}&" if encoded else "", "page_param": param}
