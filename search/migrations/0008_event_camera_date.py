# sources= reads a camera's events in date order from their own index; then the foreign keys'
# single-column indexes go, which the composite indexes leading with owner and camera make
# redundant. Both concurrently on PostgreSQL: no lock that stalls event writes.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from config.postgresql.concurrent_index import AddIndexConcurrently, DropFieldIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cameras", "0004_device_ip_address_changed_at"),
        ("search", "0007_event_owner_video_date"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(fields=["camera", "-earliest_date"], name="event_camera_date"),
        ),
        DropFieldIndexConcurrently(
            model_name="event",
            name="camera",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="cameras.camera",
            ),
        ),
        DropFieldIndexConcurrently(
            model_name="event",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
