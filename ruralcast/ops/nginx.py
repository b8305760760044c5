"""nginx in front of the web processes: one configuration shape for `make run` and for a station.

nginx takes the public port and does what Python should not: it serves static files, sends every
stored file a view has allowed (`X-Accel-Redirect` to an internal location over MEDIA_ROOT, see
core.serving) with ranges and validators, buffers uploads, and passes the live-voice WebSocket
through. The web processes (uvicorn) listen on internal addresses, the *upstreams*.

`nginx_config_render(site)` writes the configuration from an `NginxSite`:
- `manage.py nginx_run` (the `nginx` line of the Procfile) writes a whole `nginx.conf` under
  `RUN_DIR/nginx/` — pid, logs and temporary files there too, so it runs without root — and execs
  nginx in the foreground;
- `manage.py nginx_config` prints the same configuration for a deployment (`--site-only` gives
  the `upstream` and `server` blocks to include from /etc/nginx/conf.d/), see docs/deploy.md.

Shaped to grow (issues 20 and 21): `upstreams` lists every web host; `NginxSite.locations` is an
ordered list of `Location`s, so a later module adds one (e.g. live segments checked by nginx's
`secure_link` module, which Debian's nginx has) without editing the template.
"""

import getpass
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.conf import settings

from ruralcast.core.serving import FILE_CSP

ACCEL_LOCATION = "/_protected/"

_TYPES = {
    "text/html": "html",
    "text/css": "css",
    "application/javascript": "js mjs",
    "application/json": "json map",
    "image/png": "png",
    "image/jpeg": "jpg jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/svg+xml": "svg",
    "image/x-icon": "ico",
    "font/woff2": "woff2",
    "font/woff": "woff",
    "font/ttf": "ttf",
    "text/plain": "txt",
}


@dataclass(frozen=True)
class Location:
    """One `location` block: its match (`/static/`, `= /metrics`, `~ ^/media/l/…`) and directives."""

    match: str
    directives: tuple[str, ...]


@dataclass(frozen=True)
class NginxSite:
    listen: str  # the public address, "127.0.0.1:8000" or "443 ssl"
    upstreams: tuple[str, ...]  # the web processes, "127.0.0.1:8001", one per host or process
    static_root: Path
    media_root: Path
    run_dir: Path  # pid, logs and temporary files (a whole nginx.conf only)
    accel_location: str = ACCEL_LOCATION
    server_name: str = "_"
    client_max_body_size: str = "64m"
    static_max_age: str = "1h"  # production, with hashed static names: "30d"
    worker_processes: str = "auto"
    tls_certificate: str = ""
    tls_key: str = ""
    locations: tuple[Location, ...] = field(default_factory=tuple)


def proxy_directives(*, websocket: bool = False) -> tuple[str, ...]:
    """Directives that pass a request to the web processes with who asked and how.

    `X-Forwarded-For` is the address nginx saw, not appended to what the client claims: uvicorn
    (which trusts 127.0.0.1 by default) makes it REMOTE_ADDR, and the login lock-out counts
    failures by address."""
    lines = [
        "proxy_pass http://ruralcast_web",
        "proxy_http_version 1.1",
        "proxy_set_header Host $http_host",
        "proxy_set_header X-Forwarded-For $remote_addr",
        "proxy_set_header X-Forwarded-Proto $scheme",
        "proxy_set_header X-Real-IP $remote_addr",
    ]
    if websocket:
        lines += [
            "proxy_set_header Upgrade $http_upgrade",
            "proxy_set_header Connection $connection_upgrade",
            "proxy_read_timeout 3600s",
            "proxy_send_timeout 3600s",
        ]
    else:
        lines.append('proxy_set_header Connection ""')  # keep-alive connections to the upstreams
    return tuple(lines)


def default_locations(site: NginxSite) -> tuple[Location, ...]:
    """The locations every ruralcast site has, most specific first."""
    accel = "/" + site.accel_location.strip("/") + "/"
    return (
        Location(
            "/static/",
            (
                f"alias {site.static_root.as_posix().rstrip('/')}/",
                f"expires {site.static_max_age}",
                "add_header X-Content-Type-Options nosniff always",
                "access_log off",
            ),
        ),
        # Files a view has allowed: never reachable from outside, never typed by their name (the
        # type, disposition and caching headers come from the view's answer).
        Location(
            accel,
            (
                "internal",
                f"alias {site.media_root.as_posix().rstrip('/')}/",
                "types { }",
                "default_type application/octet-stream",
                "add_header X-Content-Type-Options nosniff always",
                f'add_header Content-Security-Policy "{FILE_CSP}" always',
                # Public media answers carry CORS for players on other sites; an empty value adds nothing.
                "add_header Access-Control-Allow-Origin $upstream_http_access_control_allow_origin always",
            ),
        ),
        Location("/ws/", proxy_directives(websocket=True)),
        # The household screens' event stream (the emergency overlay, ruralcast.push): each event
        # passed on at once, and held open for hours (the stream sends a keep-alive every 15 s).
        Location(
            "= /portal/push/events",
            ("proxy_buffering off", "proxy_cache off", "proxy_read_timeout 3600s", *proxy_directives()),
        ),
        Location("= /metrics", ("allow 127.0.0.1", "allow ::1", "deny all", *proxy_directives())),
        # The studio's HLS push: buffered whole, since ffmpeg hangs up right after a segment.
        Location("/media/ingest/", ("proxy_request_buffering on", *proxy_directives())),
        Location("/", proxy_directives()),
    )


def _block(name: str, lines: list[str], indent: str) -> list[str]:
    out = [f"{indent}{name} {{"]
    out += [f"{indent}    {line}" if line.endswith(("{", "}", ";")) else f"{indent}    {line};" for line in lines]
    out.append(f"{indent}}}")
    return out


def nginx_site_render(site: NginxSite, *, indent: str = "") -> str:
    """The `map`, `upstream` and `server` blocks of a site (what a deployment includes)."""
    out = [
        f"{indent}map $http_upgrade $connection_upgrade {{",
        f"{indent}    default upgrade;",
        f"{indent}    '' close;",
        f"{indent}}}",
    ]
    out += _block("upstream ruralcast_web", [*(f"server {u}" for u in site.upstreams), "keepalive 32"], indent)
    server = [f"listen {site.listen}" + (" ssl" if site.tls_certificate and "ssl" not in site.listen else "")]
    server.append(f"server_name {site.server_name}")
    if site.tls_certificate:
        server += [f"ssl_certificate {site.tls_certificate}", f"ssl_certificate_key {site.tls_key}"]
    server += [f"client_max_body_size {site.client_max_body_size}", "server_tokens off"]
    for location in site.locations or default_locations(site):
        server += _block(f"location {location.match}", list(location.directives), "")
    out += _block("server", server, indent)
    return "\n".join(out) + "\n"


def nginx_config_render(site: NginxSite) -> str:
    """A whole nginx.conf that runs as the current user with everything under `site.run_dir`."""
    run = site.run_dir.as_posix().rstrip("/")
    temp = f"{run}/temp"
    types = "\n".join(f"        {ctype} {exts};" for ctype, exts in _TYPES.items())
    # As root (a container, CI), workers would drop to `nobody`, who cannot read a private
    # RUN_DIR; run them as the same user. Under any other user nginx has no choice anyway.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    return f"""# Generated by ruralcast (ruralcast/ops/nginx.py); rewritten on every start.
{user}worker_processes {site.worker_processes};
pid {run}/nginx.pid;
error_log stderr warn;
events {{
    worker_connections 4096;
}}
http {{
    types {{
{types}
    }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    server_tokens off;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    log_format ruralcast '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                         '$request_time "$upstream_response_time" "$http_user_agent"';
    access_log {run}/access.log ruralcast;
{nginx_site_render(site, indent="    ")}}}
"""


def nginx_site_from_settings(**overrides: object) -> NginxSite:
    """The site `make run` and `manage.py nginx_config` describe, from settings.RURALCAST_NGINX."""
    conf = settings.RURALCAST_NGINX
    site = NginxSite(
        listen=conf["LISTEN"],
        upstreams=tuple(conf["UPSTREAMS"]),
        static_root=Path(settings.STATIC_ROOT),
        media_root=Path(settings.MEDIA_ROOT),
        run_dir=Path(settings.RUN_DIR) / "nginx",
        accel_location=settings.RURALCAST_ACCEL_REDIRECT_PREFIX or ACCEL_LOCATION,
    )
    return replace(site, **overrides)  # type: ignore[arg-type]


def nginx_prepare(site: NginxSite) -> Path:
    """Write the whole configuration and create its folders; returns the configuration's path."""
    for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (site.run_dir / "temp" / folder).mkdir(parents=True, exist_ok=True)
    path = site.run_dir / "nginx.conf"
    path.write_text(nginx_config_render(site), encoding="utf-8")
    return path


def nginx_command(site: NginxSite, conf: Path) -> list[str]:
    """The command line that runs nginx in the foreground on `conf` (no compiled-in paths used)."""
    return ["nginx", "-p", str(site.run_dir), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"]
