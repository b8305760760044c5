"""The offline map: terminals drawn as dots over a plain longitude/latitude grid, with the bounding
box of each child region, as one SVG. No tiles, no internet, no JavaScript.

Equirectangular projection scaled by cos(latitude) at the map's centre, which keeps a county's
shape true to within a fraction of a percent; grid lines every 0.01° … 5°, chosen for 4–10 lines.
"""

import math
from html import escape

from django.urls import reverse

from ruralcast.terminals.selectors import FleetMap

WIDTH = 800
MARGIN = 28
GRID_STEPS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
RADIUS = {"online": 3.2, "offline": 3.2, "fault": 4.2, "never": 3.0}


def _step(span: float) -> float:
    for step in GRID_STEPS:
        if span / step <= 10:
            return step
    return GRID_STEPS[-1]


def fleet_svg(fleet: FleetMap, *, title: str) -> str:
    """The SVG text (empty string when no terminal has a position).

    The svg is a named ``group``, not an ``img``: an image's children are presentational, so the
    terminal links inside it would be interactive elements nested in a non-interactive whole
    (axe ``nested-interactive``); each link carries its own name for a screen reader.
    """
    if not fleet.points:
        return ""
    lats = [p.latitude for p in fleet.points] + [v for b in fleet.boxes for v in (b.south, b.north)]
    lons = [p.longitude for p in fleet.points] + [v for b in fleet.boxes for v in (b.west, b.east)]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    # At least ~1 km across, and a little room around the extremes.
    pad_lat = max((north - south) * 0.06, 0.005)
    pad_lon = max((east - west) * 0.06, 0.005)
    south, north, west, east = south - pad_lat, north + pad_lat, west - pad_lon, east + pad_lon
    squeeze = math.cos(math.radians((south + north) / 2))
    inner = WIDTH - 2 * MARGIN
    scale = inner / ((east - west) * squeeze)
    height = round((north - south) * scale + 2 * MARGIN)

    def x(lon: float) -> float:
        return round(MARGIN + (lon - west) * squeeze * scale, 1)

    def y(lat: float) -> float:
        return round(MARGIN + (north - lat) * scale, 1)

    out = [
        f'<svg class="fleet-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="group" aria-label="{escape(title)}" data-fleet-map data-points="{len(fleet.points)}">',
        f"<title>{escape(title)}</title>",
    ]
    step = _step(max(north - south, (east - west) * squeeze))
    digits = max(0, -math.floor(math.log10(step)) + (1 if step in (0.005, 0.05, 0.5) else 0))
    lat = math.ceil(south / step) * step
    while lat <= north:
        out.append(f'<line class="grid" x1="{MARGIN}" x2="{WIDTH - MARGIN}" y1="{y(lat)}" y2="{y(lat)}"/>')
        out.append(f'<text class="grid-label" x="2" y="{y(lat) - 2}">{lat:.{digits}f}°N</text>')
        lat += step
    lon = math.ceil(west / step) * step
    while lon <= east:
        out.append(f'<line class="grid" y1="{MARGIN}" y2="{height - MARGIN}" x1="{x(lon)}" x2="{x(lon)}"/>')
        out.append(f'<text class="grid-label" x="{x(lon) + 2}" y="{height - 4}">{lon:.{digits}f}°E</text>')
        lon += step
    for box in fleet.boxes:
        left, top = x(box.west) - 4, y(box.north) - 4
        width, tall = x(box.east) - x(box.west) + 8, y(box.south) - y(box.north) + 8
        out.append(
            f'<g><title>{escape(box.name)} {box.code}</title><rect class="box" x="{left}" y="{top}" '
            f'width="{round(width, 1)}" height="{round(tall, 1)}" rx="4"/>'
            f'<text class="box-label" x="{left + 2}" y="{top - 3}">{escape(box.name)}</text></g>'
        )
    # Faults last, so they are drawn on top.
    for point in sorted(fleet.points, key=lambda p: p.status == "fault"):
        url = reverse("terminals:detail", args=[point.code])
        label = escape(f"{point.name} {point.code} · {point.status}")
        out.append(
            f'<a href="{url}" aria-label="{label}"><circle class="t-{point.status}" cx="{x(point.longitude)}" cy="{y(point.latitude)}" '
            f'r="{RADIUS[point.status]}"><title>{escape(point.name)} {point.code} · {point.status}</title></circle></a>'
        )
    out.append("</svg>")
    return "".join(out)
