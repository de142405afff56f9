"""Migration operations that change indexes without blocking writes on PostgreSQL.

``CREATE INDEX`` locks a table against writes while it builds, and a plain ``DROP INDEX`` waits
for (and then blocks everything behind it on) an exclusive lock: on a table that takes uploads
all day (content, events), either stalls ingest. On PostgreSQL these operations work
``CONCURRENTLY`` (their migration must say ``atomic = False``); elsewhere they are Django's own.
"""

from __future__ import annotations

from django.db import migrations
from django.db.models import Index


class AddIndexConcurrently(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)


class AddUniqueConstraintConcurrently(migrations.AddConstraint):
    """``AddConstraint`` of a conditional ``UniqueConstraint`` (a unique partial index), built
    concurrently on PostgreSQL."""

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


class DropFieldIndexConcurrently(migrations.AlterField):
    """``AlterField`` that only turns ``db_index`` off (a foreign key whose composite indexes lead
    with it): on PostgreSQL the field's own index is dropped concurrently, found as Django finds
    it (a b-tree on that column alone that no ``Meta.indexes`` names)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        old = model._meta.get_field(self.name)
        new = to_state.apps.get_model(app_label, self.model_name)._meta.get_field(self.name)
        if not old.db_index or new.db_index or old.deconstruct()[3] | {"db_index": False} != new.deconstruct()[3]:
            raise ValueError(f"{self.name}: DropFieldIndexConcurrently only turns db_index off")
        kept = {index.name for index in model._meta.indexes}
        for name in schema_editor._constraint_names(model, [old.column], index=True, type_=Index.suffix, exclude=kept):
            schema_editor.execute(schema_editor._delete_index_sql(model, name, concurrently=True))
