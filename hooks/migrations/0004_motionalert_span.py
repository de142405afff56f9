"""MotionAlert keeps the camera and the event's span when alerted (and outlives a merged event),
so the event a merge leaves is not alerted again for motion already alerted. Existing alerts take
their event's camera and span."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    MotionAlert = apps.get_model("hooks", "MotionAlert")
    Event = apps.get_model("search", "Event")
    event = Event.objects.filter(pk=OuterRef("event_id"))
    MotionAlert.objects.filter(camera__isnull=True, event__isnull=False).update(
        camera_id=Subquery(event.values("camera_id")[:1]),
        earliest_date=Subquery(event.values("earliest_date")[:1]),
        latest_date=Subquery(event.values("latest_date")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cameras", "0004_device_ip_address_changed_at"),
        ("hooks", "0003_delivery_receiver"),
        ("search", "0006_download_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="motionalert",
            name="camera",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="cameras.camera"
            ),
        ),
        migrations.AddField(
            model_name="motionalert",
            name="earliest_date",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="motionalert",
            name="latest_date",
            field=models.DateTimeField(null=True),
        ),
        migrations.AlterField(
            model_name="motionalert",
            name="event",
            field=models.OneToOneField(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="search.event"
            ),
        ),
        migrations.AddIndex(
            model_name="motionalert",
            index=models.Index(fields=["camera", "latest_date"], name="motionalert_camera_span"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
