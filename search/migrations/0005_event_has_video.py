"""Event.has_video: what content_type=video searches find (a backing video was reachable no other
way). Filled from the video items already placed (alternates count neither as items nor here)."""

from django.db import migrations, models

CHUNK = 5000


def fill(apps, schema_editor):
    Event = apps.get_model("search", "Event")
    ItemAnalysis = apps.get_model("search", "ItemAnalysis")
    rows = ItemAnalysis.objects.filter(
        content__kind="video", event__isnull=False, content__alternate_of__isnull=True
    ).values_list("event_id", "content__options")
    ids = sorted({event_id for event_id, options in rows.iterator() if "alternate" not in (options or [])})
    for i in range(0, len(ids), CHUNK):
        Event.objects.filter(pk__in=ids[i : i + CHUNK]).update(has_video=True)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0004_event_descriptor_f64_fill"),
        ("uploads", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="has_video",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
