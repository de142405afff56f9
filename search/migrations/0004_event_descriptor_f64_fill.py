"""Fill Event.descriptor_f64 for the events written before it existed (from their JSON descriptor).

About 12 s for 100,000 events on PostgreSQL (the benchmark's database), most of it writing the
rows; one statement per chunk instead of per row measured no faster.
"""

import json

from django.db import migrations

from search.similarity import descriptor_pack

CHUNK = 5000


def fill(apps, schema_editor):
    Event = apps.get_model("search", "Event")
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    table = qn(Event._meta.db_table)
    select = f"SELECT id, CAST(descriptor AS text) FROM {table} WHERE id > %s ORDER BY id LIMIT {CHUNK}"  # noqa: S608
    update = f"UPDATE {table} SET {qn('descriptor_f64')} = %s WHERE id = %s"  # noqa: S608
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(select, [last])
            rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            # One json.loads per chunk (a JSON column holds valid JSON text on both backends).
            descriptors = json.loads("[" + ",".join(text or "null" for _, text in rows) + "]")
            packed = [(descriptor_pack(d), pk) for (pk, _), d in zip(rows, descriptors, strict=True)]
            # Rows whose descriptor is not comparable keep the column's default (b"").
            cursor.executemany(update, [(b, pk) for b, pk in packed if b])


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0003_event_descriptor_f64"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
