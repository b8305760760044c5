"""The synthetic national root 000000000000, parent of the provinces and scope of national roles."""

from django.db import migrations


def create_root(apps, schema_editor):  # type: ignore[no-untyped-def]
    Region = apps.get_model("regions", "Region")
    Region.objects.get_or_create(
        code="000000000000",
        defaults={"name": "中华人民共和国", "level": 0, "pinyin": "zhonghuarenmingongheguo", "initials": "zhrmghg"},
    )


class Migration(migrations.Migration):
    dependencies = [("regions", "0001_initial")]
    operations = [migrations.RunPython(create_root, migrations.RunPython.noop)]
