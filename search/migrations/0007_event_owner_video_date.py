# Built concurrently on PostgreSQL (no write lock on events while it builds).

from django.db import migrations, models

from config.postgresql.concurrent_index import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("search", "0006_download_heartbeat"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(
                condition=models.Q(("has_video", True)),
                fields=["owner", "-earliest_date"],
                name="event_owner_video_date",
            ),
        ),
    ]
