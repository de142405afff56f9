"""Defects a review found in the dates of camera configuration commands, fixed.

1. A camera renamed and renamed back was answered its first name under a date older than the one it applied.
2. After the cache was lost (Redis restart or eviction), every unchanged command was answered under a new date.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from cameras.models import Camera

# The camera and its claim as the camera-protocol review's tests make them.
from tests.uploads.test_camera_protocol_review import MAC, SHARX, _admin_rename, _claimed_camera, _commands


def test_renaming_a_camera_back_moves_its_command_date_forward_not_back(api, client, db, ftp_configured, monkeypatch):
    """(1) An admin renames the claimed camera ``front`` to ``porch`` and, later, back to ``front``.

    After the second rename the ``ftpAlarm`` command said ``REMOTEPATH=front`` again, but under the
    date it had *before* ``porch`` (dates were kept per filled-in text, the first answer's): older
    than the date the camera last applied, so a camera applying commands updated since its last
    apply kept sending to ``/porch/``. Now the device's row records, per command, the text last
    answered and its date, and a changed text is dated after every date the device was answered.
    """

    clock = [1_900_000_000.0]
    monkeypatch.setattr("cameras.polling.time.time", lambda: clock[0])
    camera = _claimed_camera(api)
    first = _commands(camera.get(f"/api/cameras/{MAC}", SHARX))["ftpAlarm"]
    assert "REMOTEPATH=front&" in first["path"]

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client.force_login(admin)
    front = Camera.objects.get(name="front")
    clock[0] += 3600
    _admin_rename(client, front, "porch")
    porch = _commands(camera.get(f"/api/cameras/{MAC}", SHARX))["ftpAlarm"]
    assert "REMOTEPATH=porch&" in porch["path"]
    assert porch["date_updated"] > first["date_updated"]

    clock[0] += 3600
    _admin_rename(client, Camera.objects.get(pk=front.pk), "front")
    again = _commands(camera.get(f"/api/cameras/{MAC}", SHARX))["ftpAlarm"]
    assert "REMOTEPATH=front&" in again["path"]
    assert again["date_updated"] > porch["date_updated"], (
        f"the command changed back to REMOTEPATH=front under {again['date_updated']}, older than the "
        f"{porch['date_updated']} the camera applied for porch: it never re-applies it"
    )


def test_a_lost_cache_does_not_tell_every_camera_that_its_commands_changed(api, db, ftp_configured, monkeypatch):
    """(2) A claimed camera polls every 30 s and has applied its commands. The cache is then lost
    (Redis restarted without persistence, or an LRU eviction; the embedded default's file cache
    culls a third of its entries past 300), and a web process restarts.

    Nothing about the camera's configuration changed, yet its next poll answered every command
    under a new ``date_updated``: the dates lived only in the cache, with no expiry, and a date that
    was gone became the poll's time, so every camera re-applied every command (a firmware write,
    often a reboot) after each cache loss. Now the dates live on the device's row (the cache only
    carries a copy), and a command whose text did not change keeps its date.
    """
    from django.core.cache import cache

    from cameras import polling

    clock = [1_900_000_000.0]
    monkeypatch.setattr("cameras.polling.time.time", lambda: clock[0])
    camera = _claimed_camera(api)
    before = _commands(camera.get(f"/api/cameras/{MAC}", SHARX))

    clock[0] += 3600
    cache.clear()  # Redis restarted / entries evicted
    polling._answers.clear()  # a web process restarted (or another one answers)
    after = _commands(camera.get(f"/api/cameras/{MAC}", SHARX))

    assert {k: c["path"] for k, c in after.items()} == {k: c["path"] for k, c in before.items()}
    moved = sorted(k for k in before if after[k]["date_updated"] != before[k]["date_updated"])
    assert not moved, f"unchanged commands {moved} were answered under new dates: the camera re-applies them"
