"""Post attachments carry the type their content shows; files stored before are sniffed once."""

from typing import Any

from django.db import migrations, models

from ruralcast.core.filetypes import HEAD_BYTES, OCTET_STREAM, content_type_sniff


def sniff_stored_attachments(apps: Any, schema_editor: Any) -> None:
    attachment_model = apps.get_model("reporting", "PostAttachment")
    for item in attachment_model.objects.only("pk", "file"):
        try:
            with item.file.open("rb") as handle:
                content_type = content_type_sniff(handle.read(HEAD_BYTES))
        except OSError:
            content_type = OCTET_STREAM
        attachment_model.objects.filter(pk=item.pk).update(content_type=content_type)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_reporting_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="postattachment",
            name="content_type",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RunPython(sniff_stored_attachments, migrations.RunPython.noop),
    ]
