# ruff: noqa: F811 (fixtures imported from other test packages are parameters here)
"""Deleting while the broker cannot be reached: the delete stands and says so (not a 503 that
claims "nothing was changed" after the rows went), the hand-offs that have no sweep run in the
request, and the daily sweeps remove what the lost messages would have (stored bytes of deleted
cameras and accounts, zips no download names, spool files of builds that died)."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from cameras.models import Camera
from cameras.storage import orphaned_content_purge
from search.downloads import orphaned_zips_purge
from search.models import Download, Event
from tests.search.test_share_helpers import hours_ago, make_camera, make_camio, make_content, make_event
from tests.uploads.conftest import (
    _private_media,  # noqa: F401 (autouse: a private MEDIA_ROOT)
    files_under,
)
from uploads.models import Content

User = get_user_model()


def later() -> timezone.datetime:
    """A moment after every file the test wrote: the sweeps' grace period has passed."""
    return timezone.now() + timedelta(seconds=5)


def ready_download(owner, requester, camera_name: str = "front") -> Download:
    """A built zip of a Camio of ``owner``'s, asked for by ``requester``, in storage."""
    camio = make_camio(owner, cameras=[camera_name], start=hours_ago(24))
    key = default_storage.save(f"downloads/{owner.pk}/zip-{requester.pk}-{camio.pk}.zip", ContentFile(b"PK zip"))
    return Download.objects.create(
        camio=camio, requester=requester, status=Download.Status.READY, storage_key=key, finished_at=timezone.now()
    )


@pytest.mark.django_db(transaction=True)  # the delete really commits, then the publish really fails
def test_deleting_a_camera_while_the_broker_is_down_answers_204_and_the_sweep_removes_its_bytes(
    api, user, other_user, broker_down, _private_media
):
    front, other = make_camera(user, "front"), make_camera(other_user, "front")
    mine = [make_content(user, front, at=hours_ago(2 - i)).storage_key for i in range(2)]
    theirs = make_content(other_user, other, at=hours_ago(1)).storage_key
    download = ready_download(user, user)

    started = time.monotonic()
    response = api.delete("/api/users/me/cameras/front")
    assert response.status_code == 204, response.content  # was 503 "nothing was changed": it was deleted
    assert time.monotonic() - started < 3
    assert not Camera.objects.filter(pk=front.pk).exists()
    # The zip held the camera's recordings: revoked in the request (nothing sweeps for that).
    download.refresh_from_db()
    assert download.storage_key == "" and "deleted" in download.error
    # Its bytes wait for the sweep (the purge message was lost) ...
    assert all(default_storage.exists(key) for key in mine)

    # ... which leaves files younger than its grace period (an upload may be committing them) ...
    assert orphaned_content_purge(older_than=timezone.now() - timedelta(hours=1)) == 0
    assert all(default_storage.exists(key) for key in mine)
    # ... and then removes exactly the deleted camera's.
    assert orphaned_content_purge(older_than=later()) == 2
    assert files_under(_private_media) == [theirs]
    assert orphaned_content_purge(older_than=later()) == 0  # idempotent


@pytest.mark.django_db(transaction=True)
def test_deleting_an_account_while_the_broker_is_down_stands_and_the_sweeps_catch_up(
    admin_client, user, other_user, broker_down, _private_media
):
    front, back = make_camera(user, "front"), make_camera(other_user, "back")
    make_content(user, front, at=hours_ago(1))
    bobs_item = make_content(other_user, back, at=hours_ago(1)).storage_key
    alices_zip = ready_download(user, user).storage_key
    # Alice's zip of Bob's Camio lives under Bob's prefix; Bob's own zip of it must stay.
    alice_of_bobs = ready_download(other_user, user, "back").storage_key
    bob_of_bobs = ready_download(other_user, other_user, "back").storage_key

    response = admin_client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content  # was a 503 page saying nothing changed
    assert not User.objects.filter(pk=user.pk).exists()
    assert default_storage.exists(alices_zip) and default_storage.exists(alice_of_bobs)  # messages lost

    assert orphaned_content_purge(older_than=later()) == 1
    assert orphaned_zips_purge(older_than=later()) == 2
    assert files_under(_private_media) == sorted([bobs_item, bob_of_bobs])
    assert Download.objects.get(requester=other_user).storage_key == bob_of_bobs


@pytest.mark.django_db(transaction=True)
def test_deleting_content_while_the_broker_is_down_rebuilds_events_and_revokes_zips_in_the_request(
    admin_client, user, broker_down, _private_media
):
    front = make_camera(user, "front")
    items = [make_content(user, front, at=hours_ago(1)) for _ in range(2)]
    event = make_event(user, front, items[:1])
    download = ready_download(user, user)

    response = admin_client.post(
        "/admin/uploads/content/",
        {"action": "delete_selected", "_selected_action": [items[0].pk], "post": "yes"},
    )
    assert response.status_code == 302, response.content
    assert not Content.objects.filter(pk=items[0].pk).exists()
    assert not Event.objects.filter(pk=event.pk).exists(), "its only item went: the event must go too"
    download.refresh_from_db()
    assert download.storage_key == "", "a zip holding the deleted item must not go on being served"
    assert files_under(_private_media) == [items[1].storage_key]


@pytest.mark.django_db
def test_the_zip_sweep_keeps_zips_a_download_names_and_fresh_ones(user, _private_media):
    kept = ready_download(user, user).storage_key
    stray = default_storage.save(f"downloads/{user.pk}/stray.zip", ContentFile(b"PK"))

    assert orphaned_zips_purge(older_than=timezone.now() - timedelta(hours=1)) == 0  # too fresh
    assert orphaned_zips_purge(older_than=later()) == 1
    assert files_under(_private_media) == [kept]
    assert not default_storage.exists(stray)


@pytest.mark.django_db
def test_spool_files_of_builds_that_died_are_removed_after_a_day(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    dead, running, other = tmp_path / "download-dead.zip", tmp_path / "download-running.zip", tmp_path / "db.zip"
    for path in (dead, running, other):
        path.write_bytes(b"PK")
    two_days_ago = time.time() - 2 * 86400
    os.utime(dead, (two_days_ago, two_days_ago))
    os.utime(other, (two_days_ago, two_days_ago))

    assert orphaned_zips_purge(older_than=later()) == 1
    assert not dead.exists() and running.exists() and other.exists()


@pytest.mark.django_db
def test_cameras_moved_to_another_account_keep_their_bytes(user, other_user, _private_media):
    """The content sweep goes by camera id: a camera given to another account in admin keeps its
    bytes where they were written (under its first owner's folder)."""
    front = make_camera(user, "front")
    key = make_content(user, front, at=hours_ago(1)).storage_key
    Camera.objects.filter(pk=front.pk).update(owner=other_user)

    assert orphaned_content_purge(older_than=later()) == 0
    assert default_storage.exists(key)


@pytest.mark.django_db
def test_the_command_shows_progress_and_what_it_removed(user, other_user, _private_media):
    for owner in (user, other_user):
        camera = make_camera(owner, "front")
        make_content(owner, camera, at=hours_ago(1))
        Camera.objects.filter(pk=camera.pk).delete()  # as if its purge message were lost
    default_storage.save(f"downloads/{user.pk}/stray.zip", ContentFile(b"PK"))
    time.sleep(0.01)

    out = io.StringIO()
    call_command("purge_orphaned_storage", "--grace-minutes", "0", stdout=out)
    text = out.getvalue()
    assert "content  [##############################] 2/2 (100%)" in text
    assert "zips     [##############################] 1/1 (100%)" in text
    assert text.strip().endswith("removed 2 file(s) of deleted cameras and 1 orphaned zip(s) or spool(s)")
    assert files_under(_private_media) == []


def test_the_sweeps_run_daily(settings):
    for name in ("cameras.purge_orphaned_storage", "search.purge_orphaned_zips"):
        assert settings.CELERY_BEAT_SCHEDULE[name] == {"task": name, "schedule": 86400.0}
