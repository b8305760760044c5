"""`manage.py openapi_schema --write FILE | --check FILE`: keep the committed schema in step."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.test import RequestFactory
from django.urls import resolve, reverse


def schema_text() -> str:
    """The schema exactly as the server answers GET /api/v1/openapi.json.

    The view is found through the URL configuration, as a request would find it, so this command
    (in core, at the bottom of the layers) never imports the project's API object in config/.
    """
    path = reverse("api:openapi-json")
    match = resolve(path)
    response = match.func(RequestFactory().get(path), *match.args, **match.kwargs)
    schema = json.loads(response.content)
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = "Write or check the committed OpenAPI schema of /api/v1."

    def add_arguments(self, parser: Any) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--write", metavar="FILE")
        group.add_argument("--check", metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        text = schema_text()
        if options["write"]:
            Path(options["write"]).write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {options['write']}")
            return
        path = Path(options["check"])
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            raise CommandError(f"{path} differs from the generated OpenAPI schema: run `make schema` and commit it")
        self.stdout.write(f"{path} matches the generated schema")
