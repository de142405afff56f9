"""Download.heartbeat_at: a running build whose heartbeat stopped may be claimed again. Builds
running before it existed count from their creation (so a dead one is reclaimed in time)."""

from django.db import migrations, models
from django.db.models import F


def fill(apps, schema_editor):
    Download = apps.get_model("search", "Download")
    Download.objects.filter(status="running", heartbeat_at__isnull=True).update(heartbeat_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0005_event_has_video"),
    ]

    operations = [
        migrations.AddField(
            model_name="download",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
