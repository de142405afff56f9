# Unnamed uploads of the same bytes may be two captures (a static scene): the unique (camera, name,
# bytes) holds for named uploads only. On PostgreSQL the new unique index is built CONCURRENTLY (no
# write lock on content while it builds) before the old constraint goes, so uniqueness never lapses.

from django.db import migrations, models

from config.postgresql.concurrent_index import AddUniqueConstraintConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("uploads", "0003_content_created_index"),
    ]

    operations = [
        AddUniqueConstraintConcurrently(
            model_name="content",
            constraint=models.UniqueConstraint(
                condition=models.Q(("name", ""), _negated=True),
                fields=("camera", "name", "sha256"),
                name="content_once_per_camera_named_bytes",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="content",
            name="content_once_per_camera_name_bytes",
        ),
    ]
