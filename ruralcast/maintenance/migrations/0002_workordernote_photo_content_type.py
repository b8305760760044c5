"""Work-order photos carry the type their content shows; photos stored before are sniffed once."""

from typing import Any

from django.db import migrations, models

from ruralcast.core.filetypes import HEAD_BYTES, OCTET_STREAM, content_type_sniff


def sniff_stored_photos(apps: Any, schema_editor: Any) -> None:
    note_model = apps.get_model("maintenance", "WorkOrderNote")
    for note in note_model.objects.exclude(photo="").only("pk", "photo"):
        try:
            with note.photo.open("rb") as handle:
                content_type = content_type_sniff(handle.read(HEAD_BYTES))
        except OSError:  # the file is gone: whatever is there later is never rendered
            content_type = OCTET_STREAM
        note_model.objects.filter(pk=note.pk).update(photo_content_type=content_type)


class Migration(migrations.Migration):
    dependencies = [
        ("maintenance", "0001_work_orders"),
    ]

    operations = [
        migrations.AddField(
            model_name="workordernote",
            name="photo_content_type",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RunPython(sniff_stored_photos, migrations.RunPython.noop),
    ]
