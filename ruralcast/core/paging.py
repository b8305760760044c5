"""Pagination for console lists: page numbers that keep the current filters in the links.

The links are drawn by the console shell's `includes/pagination.html` (web/templates)."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest


def paginate(request: HttpRequest, items: Any, *, per_page: int = 50) -> dict[str, Any]:
    """Context with `page_obj` and `querystring_without_page` for includes/pagination.html."""
    paginator = Paginator(items, per_page)
    page: Page[Any] = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    encoded = params.urlencode()
    return {"page_obj": page, "querystring_without_page": f"{encoded}&" if encoded else ""}
