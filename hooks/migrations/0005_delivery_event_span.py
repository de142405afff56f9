"""A delivery keeps its event's camera and span (and outlives a merged event), so the event a merge
leaves does not fire a hook again for motion already called back about; the claim cancels the open
deliveries of a deleted camera. Deliveries still open, and those of the last day (merges come from
late items, within minutes), take their event's camera and span."""

from datetime import timedelta

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from config.postgresql.concurrent_index import AddIndexConcurrently


def fill(apps, schema_editor):
    Delivery = apps.get_model("hooks", "Delivery")
    Event = apps.get_model("search", "Event")
    event = Event.objects.filter(pk=OuterRef("event_id"))
    recent = Q(state__in=["pending", "retrying", "sending"]) | Q(created_at__gte=timezone.now() - timedelta(days=1))
    Delivery.objects.filter(recent, camera__isnull=True, event__isnull=False).update(
        camera_id=Subquery(event.values("camera_id")[:1]),
        earliest_date=Subquery(event.values("earliest_date")[:1]),
        latest_date=Subquery(event.values("latest_date")[:1]),
    )


class Migration(migrations.Migration):
    # The index builds concurrently and the fill is one statement of its own: neither holds a
    # lock that stalls deliveries being written.
    atomic = False

    dependencies = [
        ("cameras", "0004_device_ip_address_changed_at"),
        ("hooks", "0004_motionalert_span"),
        ("search", "0008_event_camera_date"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="camera",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="cameras.camera",
            ),
        ),
        migrations.AddField(
            model_name="delivery",
            name="earliest_date",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="delivery",
            name="latest_date",
            field=models.DateTimeField(blank=True, null=True),
        ),
        AddIndexConcurrently(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("event__isnull", True)),
                fields=["camera", "latest_date"],
                name="delivery_gone_event_span",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
