# Deliveries grouped by receiver: Delivery.receiver (scheme://host:port of the hook's callback URL)
# and the index of due deliveries per receiver, for a delivery task that claims the due deliveries
# of every hook of one receiver.

from urllib.parse import urlsplit

from django.db import migrations, models


def _origin(url: str) -> str:
    # What hooks.ssrf.url_origin computes, frozen here (a migration must not change with the app).
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        return (url or "")[:300]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (url or "")[:300]
    return f"{parts.scheme}://{parts.hostname}:{port or (443 if parts.scheme == 'https' else 80)}"[:300]


def fill_receivers(apps, schema_editor):
    # Only deliveries still to be sent need it (the claim and the drain's end read it).
    Hook = apps.get_model("hooks", "Hook")
    Delivery = apps.get_model("hooks", "Delivery")
    open_rows = Delivery.objects.filter(state__in=["pending", "retrying", "sending"])
    for hook_id, url in Hook.objects.filter(pk__in=open_rows.values("hook_id")).values_list("pk", "callback_url"):
        open_rows.filter(hook_id=hook_id).update(receiver=_origin(url))


class Migration(migrations.Migration):
    dependencies = [
        ("hooks", "0002_hook_previous_secret"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="receiver",
            field=models.CharField(blank=True, default="", max_length=300),
        ),
        migrations.RunPython(fill_receivers, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("state__in", ["pending", "retrying"])),
                fields=["receiver", "next_attempt_at", "id"],
                name="delivery_receiver_due",
            ),
        ),
    ]
