"""`manage.py nginx_run`: nginx in front of the web process, as `make run` starts it (Procfile)."""

import os
import shutil
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ruralcast.ops.nginx import nginx_command, nginx_prepare, nginx_site_from_settings


class Command(BaseCommand):
    help = (
        "Write RUN_DIR/nginx/nginx.conf (the public port in front of the web process, static files, "
        "protected files by X-Accel-Redirect, the live-voice WebSocket) and run nginx in the foreground."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--write-only", action="store_true", help="write the configuration and exit")

    def handle(self, *args: Any, write_only: bool = False, **options: Any) -> None:
        site = nginx_site_from_settings()
        conf = nginx_prepare(site)
        if write_only:
            self.stdout.write(str(conf))
            return
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "")
        if not binary:
            raise CommandError("nginx is not installed: run `make run` (it installs it) or apt-get install nginx")
        command = nginx_command(site, conf)
        self.stdout.write(" ".join(command))
        self.stdout.flush()
        # exec: nginx takes this process's place, so the process manager's signals reach it.
        os.execv(binary, [binary, *command[1:]])  # noqa: S606 — fixed program, our own configuration
