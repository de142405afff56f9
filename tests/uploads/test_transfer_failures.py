"""Transfers when something fails: Camio downloads (a lost task message, a crashed or killed
build, a Camio revoked mid-build, a guest removed, hostile camera names), content on S3 (memory
and outages) and the FTP gateway (nothing acknowledged that was not stored, a size limit)."""

from __future__ import annotations

import ftplib
import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from search.models import Download
from tests.search.test_share_helpers import (
    hours_ago,
    jpeg_bytes,
    make_camera,
    make_camio,
    make_content,
    make_event,
    make_guest,
)

LINK = re.compile(r"http://testserver(/downloads/\S+)")


@pytest.fixture
def shared(user, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    front = make_camera(user, "front")
    items = [make_content(user, front, at=hours_ago(5 - i)) for i in range(3)]
    camio = make_camio(user, cameras=["front"], start=hours_ago(24), name="Front door")
    return camio, items


# --- Camio downloads ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_download_whose_message_was_lost_is_not_pending_forever(api, shared, monkeypatch):
    """The broker is down when the download is requested: the row is committed, its message is
    not sent. Once the broker is back, asking again must build the zip, not join the dead row."""
    from kombu.exceptions import OperationalError

    from config.celery import app

    camio, _ = shared
    task = app.tasks["search.build_download"]

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(task, "apply_async", broker_down)
    first = api.post(f"/api/camios/{camio.view_token}/downloads")
    assert first.status_code == 503  # the outage is reported ...
    monkeypatch.undo()  # ... and the broker comes back

    again = api.post(f"/api/camios/{camio.view_token}/downloads")
    assert again.status_code == 200
    status = api.get(again["Location"]).json()
    # Not the same download "pending" for ever, with nothing to build it or mail a link.
    assert status["status"] == "ready", status
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_download_whose_build_crashed_is_not_running_forever(api, shared, monkeypatch):
    """A build that dies on a transient error (the database blinked) is recorded as failed, with a
    message to ask again; asking again builds a new zip (it was left "running" for every later
    request to join)."""
    from django.db import OperationalError

    import search.downloads as downloads

    camio, _ = shared
    real = downloads.camio_content_queryset
    calls = []

    def flaky(c):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real(c)

    monkeypatch.setattr(downloads, "camio_content_queryset", flaky)
    first = api.post(f"/api/camios/{camio.view_token}/downloads")
    failed = api.get(first["Location"]).json()
    assert failed["status"] == "failed" and "request the download again" in failed["error"], failed
    again = api.post(f"/api/camios/{camio.view_token}/downloads")
    status = api.get(again["Location"]).json()
    assert status["id"] != failed["id"] and status["status"] == "ready", status


@pytest.mark.django_db
def test_removed_guest_loses_the_private_camios_download(
    other_api, user, other_user, settings, django_capture_on_commit_callbacks
):
    """A guest's download of the host's private Camio must stop working once the host removes the
    guest (the POST is refused then, but the status resource keeps minting fresh links)."""
    from accounts.models import Guest

    settings.PUBLIC_BASE_URL = "http://testserver"
    front = make_camera(user, "front")
    make_content(user, front, at=hours_ago(2))
    private = make_camio(user, cameras=["front"], type="private")
    make_guest(user, other_user)
    with django_capture_on_commit_callbacks(execute=True):
        created = other_api.post(f"/api/camios/{private.view_token}/downloads")
    assert created.status_code == 200
    location = created["Location"]

    Guest.objects.filter(host=user, guest=other_user).delete()  # the host revokes the guest
    assert other_api.post(f"/api/camios/{private.view_token}/downloads").status_code == 404
    status = other_api.get(location)
    assert status.status_code == 404 or status.json()["url"] is None, status.json()


@pytest.mark.django_db
def test_camio_deleted_while_its_zip_is_built_sends_no_ready_email(
    api, shared, monkeypatch, django_capture_on_commit_callbacks
):
    """The owner deletes (revokes) the Camio while the worker is zipping: the requester must not be
    mailed "your download is ready" with a link that answers 404, and the zip must not stay stored."""
    from django.core.files.storage import default_storage

    import search.downloads as downloads

    camio, _ = shared
    real_items = downloads.zip_items

    def items_then_revoke(contents):
        for n, item in enumerate(real_items(contents)):
            if n == 1:
                assert api.delete(f"/api/users/me/camios/{camio.view_token}").status_code == 204
            yield item

    monkeypatch.setattr(downloads, "zip_items", items_then_revoke)
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/camios/{camio.view_token}/downloads")
    download = Download.objects.get()
    # Not "Your download of your Camio is ready", with a link that answers 404.
    ready_mails = [m for m in mail.outbox if "is ready" in m.subject]
    assert ready_mails == [], ready_mails[0].body
    assert download.status != Download.Status.READY
    assert not download.storage_key or not default_storage.exists(download.storage_key)


@pytest.mark.django_db
def test_zip_entry_names_cannot_climb_out_of_the_extraction_folder(
    anon, api, user, settings, django_capture_on_commit_callbacks
):
    """Entries are "<camera name>/<stamp>Z_<id>.<ext>"; camera names such as ".." (an upload to
    /cameras/%2E%2E/...) or "..\\..\\x" must not give a viewer of a public Camio a zip whose entries
    point outside the folder it is extracted into."""
    import zipfile

    from accounts.selectors import account_settings_get

    settings.PUBLIC_BASE_URL = "http://testserver"
    token = account_settings_get(user=user).upload_token
    for camera, color in (("%2E%2E", (1, 2, 3)), ("..%5C..%5Cwindows", (4, 5, 6))):
        r = anon.post(
            f"/api/users/{token}/cameras/{camera}/content/a.jpg?camera_id={color[0]}",
            data=jpeg_bytes(color=color),
            content_type="image/jpeg",
        )
        assert r.status_code == 201, r.json()
    camio = make_camio(user, name="everything")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/camios/{camio.view_token}/downloads").status_code == 200
    got = anon.get(LINK.search(mail.outbox[0].body).group(1))
    names = zipfile.ZipFile(io.BytesIO(b"".join(got.streaming_content))).namelist()
    unsafe = [n for n in names if n.startswith("/") or "\\" in n or ".." in n.replace("\\", "/").split("/")]
    assert unsafe == [], names


@pytest.mark.django_db
def test_rerun_after_a_worker_died_leaves_one_zip_not_two(api, shared, monkeypatch):
    """Tasks are at-least-once: a worker killed after storing the zip but before recording it is
    redelivered; the rebuild (once the dead build's heartbeat is stale) stores over the same key,
    so no zip is left that nothing references and nothing purges."""
    from django.core.files.storage import default_storage

    from search.downloads import download_build, downloads_purge, downloads_requeue_stuck

    camio, _ = shared
    api.post(f"/api/camios/{camio.view_token}/downloads")  # not committed: no task ran yet
    download = Download.objects.get()
    real_save = default_storage.save

    class WorkerKilled(BaseException):
        pass

    def save_then_die(name, content, **kw):
        real_save(name, content, **kw)
        raise WorkerKilled  # SIGKILL/OOM right after the upload: nothing more of this run happens

    monkeypatch.setattr(default_storage, "save", save_then_die)
    with pytest.raises(WorkerKilled):
        download_build(download_id=download.pk)
    monkeypatch.undo()
    download_build(download_id=download.pk)  # redelivered at once: the build may still run, so no
    assert Download.objects.get(pk=download.pk).status == Download.Status.RUNNING
    # Its heartbeat stops: the sweep sends the task again, and the build is claimed anew.
    Download.objects.filter(pk=download.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=3))
    assert downloads_requeue_stuck() == 1
    download_build(download_id=download.pk)
    download.refresh_from_db()
    assert download.status == Download.Status.READY
    later = timezone.now() + timedelta(days=3650)
    downloads_purge(now=later)
    _dirs, left = default_storage.listdir(f"downloads/{camio.owner_id}")
    assert left == [], left  # every zip of the download is gone once purged


# --- content on S3 ------------------------------------------------------------------------------


@pytest.fixture
def s3_subprocess(settings, tmp_path):
    """moto's S3 server in its own process (so its memory is not counted here) as default storage,
    configured as config/settings.py configures production."""
    import socket
    import subprocess
    import sys
    from pathlib import Path

    import boto3

    from tests.conftest import wait_for

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    try:
        wait_for(up, timeout=30)
        client = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
        )
        client.create_bucket(Bucket="camhub-review")
        settings.STORAGES = {**settings.STORAGES, "default": s3_options(endpoint)}
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)


def s3_options(endpoint: str, **extra) -> dict:
    return {
        "BACKEND": "uploads.storage.ContentS3Storage",
        "OPTIONS": {
            "bucket_name": "camhub-review",
            "endpoint_url": endpoint,
            "access_key": "k",
            "secret_key": "s",
            "region_name": "us-east-1",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": True,
            "use_threads": False,
            **extra,
        },
    }


@pytest.mark.django_db
def test_zip_of_a_large_video_on_s3_is_streamed_not_held_in_memory(user, s3_subprocess, tmp_path):
    """zip_contents keeps memory flat on S3 too: each item is streamed by ranged GETs (opening it
    with default_storage.open would read the whole object into memory: a 2 GB video, 2 GB of
    worker RAM, redelivered to do the same again)."""
    import tracemalloc

    from search.downloads import zip_contents, zip_items

    cam = make_camera(user, "big")
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * (96 * 1024)  # ~24 MiB
    make_content(user, cam, at=hours_ago(1), data=video, content_type="video/mp4", kind="video")
    tracemalloc.start()
    try:
        with open(tmp_path / "out.zip", "wb") as target:
            assert zip_contents(zip_items(cam.contents.all()), target) == 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for one {len(video) / 2**20:.1f} MiB item"


@pytest.mark.django_db
def test_s3_unreachable_on_reads_is_503_not_500(api, user, settings):
    """S3 unreachable while reading: a thumbnail and the live image answer 503 like the ranged
    fetch, and a search with thumbnails still answers its page (botocore's connection errors are
    no OSErrors, so they escaped as 500s)."""
    import socket

    from botocore.config import Config

    cam = make_camera(user, "front")
    item = make_content(user, cam, at=hours_ago(1))  # stored on the local disk of the fixture
    make_event(user, cam, [item])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    config = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1})
    settings.STORAGES = {**settings.STORAGES, "default": s3_options(dead, client_config=config)}

    whole = api.get(f"/api/users/me/cameras/front/content/{item.public_id}")
    assert whole.status_code == 503  # already right
    answers = {
        "thumbnail": api.get(f"/api/users/me/cameras/front/content/{item.public_id}?w=50"),
        "live": api.get("/api/content/live/front/?output=jpeg&w=50"),
        # "One unreadable item must not fail the page" (search.serializers): it fails the page.
        "search": api.get("/api/search?fetch_cover_thumbnails=true"),
    }
    got = {k: r.status_code for k, r in answers.items()}
    assert got["thumbnail"] == 503 and got["live"] == 503 and got["search"] in (200, 503), got


# --- the FTP gateway ----------------------------------------------------------------------------


def ftp_login(port: int, user) -> ftplib.FTP:
    from accounts.selectors import account_settings_get

    ftp = ftplib.FTP()  # noqa: S321 - the gateway cameras use
    ftp.connect("127.0.0.1", port, timeout=10)
    ftp.login(account_settings_get(user=user).upload_token, "camio")
    return ftp


def test_ftp_upload_the_store_could_not_keep_is_not_acknowledged_as_done(gateway, user, settings, tmp_path):
    """Storage down (disk, S3): the STOR ends in 451, as HTTP answers 503, so the camera keeps the
    file and sends it again (pyftpdlib acknowledged with 226 before the ingest failed: lost)."""
    from uploads.models import Content

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocker)}},
    }
    ftp = ftp_login(gateway, user)
    ftp.mkd("front")
    try:
        reply = ftp.storbinary("STOR front/2014-07-21T20:38:32.183-07:00.jpg", io.BytesIO(jpeg_bytes()))
    except ftplib.error_temp as exc:  # 4xx: the camera keeps the file and sends it again
        reply = str(exc)
    finally:
        ftp.close()
    assert not Content.objects.exists()
    assert not reply.startswith("226"), reply


def test_ftp_upload_over_the_size_limit_is_refused_not_acknowledged(gateway, user, settings):
    """A file past the upload limit is cut off with 552 while it arrives (it was spooled whole to
    the gateway's disk, acknowledged with 226, then dropped with a log line)."""
    from tests.uploads.samples import jpeg_bytes as sample_jpeg
    from uploads.models import Content

    settings.UPLOAD_MAX_IMAGE_BYTES = 64 * 1024
    settings.UPLOAD_MAX_VIDEO_BYTES = 64 * 1024
    big = sample_jpeg(640, 480, pad_to=1024 * 1024)
    ftp = ftp_login(gateway, user)
    ftp.mkd("front")
    try:
        reply = ftp.storbinary("STOR front/big.jpg", io.BytesIO(big))
    except ftplib.error_perm as exc:  # 552 Exceeded storage allocation
        reply = str(exc)
    finally:
        ftp.close()
    assert not Content.objects.exists()
    assert reply.startswith("552"), reply


@pytest.mark.django_db
def test_the_sweep_builds_a_download_whose_message_was_lost(api, shared, django_capture_on_commit_callbacks):
    """Nobody asks again (the requester waits for the email): beat's sweep sends the task of a
    download still pending after a few minutes, and the zip is built and mailed."""
    from search.downloads import downloads_requeue_stuck

    camio, _ = shared
    api.post(f"/api/camios/{camio.view_token}/downloads")  # its on-commit task never runs: lost
    Download.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert downloads_requeue_stuck() == 1
    assert Download.objects.get().status == Download.Status.READY
    assert len(mail.outbox) == 1
    assert downloads_requeue_stuck() == 0


def test_beat_runs_the_stuck_downloads_sweep(settings):
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["search.requeue_stuck_downloads"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks and entry["schedule"] <= 300
