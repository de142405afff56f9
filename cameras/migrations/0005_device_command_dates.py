from django.db import migrations, models


class Migration(migrations.Migration):
    """``Device.command_dates``. Rows already there stay NULL (no default in the database): those
    devices were answered the dates their templates and claims gave, and keep them (a date that
    moves makes the camera re-apply the command). New rows get ``{}`` from the model's default."""

    dependencies = [
        ("cameras", "0004_device_ip_address_changed_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AddField(
                    model_name="device",
                    name="command_dates",
                    field=models.JSONField(null=True, editable=False),
                ),
            ],
            state_operations=[
                migrations.AddField(
                    model_name="device",
                    name="command_dates",
                    field=models.JSONField(default=dict, editable=False, null=True),
                ),
            ],
        ),
    ]
