"""Seed the reference's Sharx commands (``ping``, ``time``, ``ftpAlarm``) for every Sharx model."""

from django.db import migrations

SHARX = [
    {
        "command_id": "ping",
        "position": 10,
        "audience": "all",
        # Keeps the camera polling us: $(hwaddr)/$(localip) are the camera's to fill.
        "path": "/form/setHttpPeriodSending/?ENABLE=1&SCHED=0&SCHEDID=1&HOUR=0&MIN=0&SEC={poll_interval}"
        "&URL={poll_url}/$(hwaddr)/?maker={maker}&model={model}&ip_address_local=$(localip)"
        "&AUTH=0&USERNAME=&PASSWORD=",
    },
    {
        "command_id": "time",
        "position": 20,
        "audience": "all",
        "path": "/form/setNtp?ENABLE=1&SERVER=time.nist.gov",
    },
    {
        "command_id": "ftpAlarm",
        "position": 30,
        "audience": "claimed",
        # The owner's Upload Token as the FTP user, the camera's name as the remote folder.
        "path": "/form/setFtpAlarmSending/?ENABLE=1&SCHED=0&SCHEDID=1&STREAMID=0&DURATION=1&FRAMERATE=1"
        "&INTERVAL=0&SERVER={ftp_host}&PORT={ftp_port}&REMOTEPATH={camera_name}&AUTH=1"
        "&USERNAME={upload_token}&PASSWORD=camio",
    },
]


def seed(apps, schema_editor):
    CommandTemplate = apps.get_model("cameras", "CommandTemplate")
    for row in SHARX:
        CommandTemplate.objects.get_or_create(
            maker="Sharx",
            model="",
            command_id=row["command_id"],
            defaults={
                "method": "GET",
                "path": row["path"],
                "is_auth_required": True,
                "regex_response": "000 Success",
                "audience": row["audience"],
                "position": row["position"],
            },
        )


def unseed(apps, schema_editor):
    CommandTemplate = apps.get_model("cameras", "CommandTemplate")
    CommandTemplate.objects.filter(maker="Sharx", model="", command_id__in=[r["command_id"] for r in SHARX]).delete()


class Migration(migrations.Migration):
    dependencies = [("cameras", "0002_devices_templates_transitions")]

    operations = [migrations.RunPython(seed, unseed)]
