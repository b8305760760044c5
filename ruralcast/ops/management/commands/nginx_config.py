"""`manage.py nginx_config`: the nginx configuration of a deployment (docs/deploy.md, "nginx in front")."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from ruralcast.ops.nginx import nginx_config_render, nginx_site_from_settings, nginx_site_render


class Command(BaseCommand):
    help = (
        "Print the nginx configuration for this installation: the whole nginx.conf, or with --site-only the "
        "upstream and server blocks to put in /etc/nginx/conf.d/ruralcast.conf."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--listen", help='public address, e.g. "443" or "0.0.0.0:80" (default: RURALCAST_NGINX)')
        parser.add_argument(
            "--upstream", action="append", help="a web process HOST:PORT; repeat for several (default: RURALCAST_NGINX)"
        )
        parser.add_argument("--server-name", default="_", help="the site's host name(s)")
        parser.add_argument("--static-max-age", default="30d", help="caching of /static/ (hashed names in production)")
        parser.add_argument("--tls-certificate", default="", help="certificate file: listen with TLS")
        parser.add_argument("--tls-key", default="", help="the certificate's key file")
        parser.add_argument("--run-dir", help="pid, logs and temporary files (whole nginx.conf only)")
        parser.add_argument("--site-only", action="store_true", help="only the upstream and server blocks")

    def handle(self, *args: Any, **options: Any) -> None:
        overrides: dict[str, Any] = {
            "server_name": options["server_name"],
            "static_max_age": options["static_max_age"],
            "tls_certificate": options["tls_certificate"],
            "tls_key": options["tls_key"],
        }
        if options["listen"]:
            overrides["listen"] = options["listen"]
        if options["upstream"]:
            overrides["upstreams"] = tuple(options["upstream"])
        if options["run_dir"]:
            overrides["run_dir"] = Path(options["run_dir"])
        site = nginx_site_from_settings(**overrides)
        self.stdout.write(nginx_site_render(site) if options["site_only"] else nginx_config_render(site), ending="")
