# Every secret rotated out signs until its promised time, not only the last one (newest first).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hooks", "0005_delivery_event_span"),
    ]

    operations = [
        migrations.AddField(
            model_name="hook",
            name="earlier_secrets",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
