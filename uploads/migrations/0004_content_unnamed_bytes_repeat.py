# Unnamed uploads of the same bytes may be two captures (a static scene): the unique (camera, name,
# bytes) holds for named uploads only. On PostgreSQL the new unique index is built CONCURRENTLY (no
# write lock on content while it builds) before the old constraint goes, so uniqueness never lapses.

from django.db import migrations, models


class AddUniqueConstraintConcurrently(migrations.AddConstraint):
    """``AddConstraint`` of a conditional UniqueConstraint (a unique partial index), built
    ``CONCURRENTLY`` on PostgreSQL (the migration must say ``atomic = False``)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        quote = schema_editor.quote_name
        columns = ", ".join(quote(model._meta.get_field(name).column) for name in self.constraint.fields)
        condition = self.constraint._get_condition_sql(model, schema_editor)
        schema_editor.execute(
            f"CREATE UNIQUE INDEX CONCURRENTLY {quote(self.constraint.name)} "
            f"ON {quote(model._meta.db_table)} ({columns}) WHERE {condition}"
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('uploads', '0003_content_created_index'),
    ]

    operations = [
        AddUniqueConstraintConcurrently(
            model_name='content',
            constraint=models.UniqueConstraint(
                condition=models.Q(('name', ''), _negated=True),
                fields=('camera', 'name', 'sha256'),
                name='content_once_per_camera_named_bytes',
            ),
        ),
        migrations.RemoveConstraint(
            model_name='content',
            name='content_once_per_camera_name_bytes',
        ),
    ]
