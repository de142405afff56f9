"""Defects a review found in Celery tasks delivered twice, run beside their duplicate, run after
what they name was deleted, or killed half-way and run again (at-least-once delivery), fixed.

- An item deleted while its camera's batch was analysed sank the whole batch (IntegrityError).
- A camera deleted while its analysis ran ended the task in IntegrityError instead of quietly.
- A chain whose first item was deleted left the camera's other uploads unanalysed until the sweep.
- A zip whose upload outlasted the stale window was built twice and mailed twice.
- Viewer usage counts were lost when the flush's database write failed.
- Two events of one camera handed off together sent two motion alerts within one cooldown.
- A camera deleted while a zip of it was built was still served in that zip.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError
from django.utils import timezone

import search.downloads
import search.events
import search.viewer_usage
from accounts.services import oauth_application_create
from cameras.models import Camera
from cameras.services import camera_delete, camera_for_upload
from search.models import Download, Event, ItemAnalysis
from search.tasks import analyze_content, flush_viewer_usage, requeue_stuck_downloads
from search.viewer_usage import viewer_usage, viewer_usage_record
from tests.search.conftest import RED_RECT, T0, scene_jpeg
from tests.search.test_share_helpers import hours_ago, jpeg_bytes, make_camera, make_camio, make_content
from uploads.models import Content
from uploads.services import content_delete

_stored_keys: list[str] = []


@pytest.fixture(autouse=True)
def _remove_stored_bytes():
    yield
    while _stored_keys:
        default_storage.delete(_stored_keys.pop())


def _store(camera: Camera, data: bytes, *, seconds: float) -> Content:
    """An uploaded still of ``camera`` (bytes in storage, its row), captured ``seconds`` after T0."""
    key = default_storage.save(f"content/{camera.owner_id}/{camera.pk}/{uuid.uuid4().hex}.jpg", ContentFile(data))
    _stored_keys.append(key)
    return Content.objects.create(
        owner_id=camera.owner_id,
        camera=camera,
        kind="image",
        content_type="image/jpeg",
        name=key.rsplit("/", 1)[-1],
        storage_key=key,
        size=len(data),
        sha256=uuid.uuid4().hex,
        captured_at=T0 + timedelta(seconds=seconds),
        width=640,
        height=360,
    )


def _zips_of(owner, download_id: str) -> list[str]:
    """The zips of a download in storage (its builds' keys start with its id)."""
    folder = f"downloads/{owner.pk}"
    _dirs, names = default_storage.listdir(folder)
    return [f"{folder}/{name}" for name in names if name.startswith(download_id)]


def _burst(camera: Camera, n: int = 4) -> list[Content]:
    """``n`` stills two seconds apart, every other one with a red object in it: one event."""
    return [_store(camera, scene_jpeg([RED_RECT] if i % 2 else []), seconds=2 * i) for i in range(n)]


# --- analysis: what it refers to deleted while it runs -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_item_deleted_while_its_cameras_batch_is_analysed_does_not_sink_the_other_items(user, monkeypatch):
    """The camera uploads four stills; its analysis task batches them. While the frames are being
    decoded (outside any transaction, seconds for a backlog), an admin deletes one of the items
    (``content_delete``: it takes the camera's lock, deletes, commits).

    Before: the batch then placed all four analyses in one transaction, one of them for the
    deleted item, and the commit failed (``IntegrityError: FOREIGN KEY constraint failed``; on
    PostgreSQL the same at commit). The task errored out and the three items that still existed
    stayed unanalysed, out of every event, search and hook until the requeue sweep (10+ minutes).

    Now: ``items_place`` looks, under the camera's lock, for the batch's items still stored and
    places only those: the task ends quietly and the other three are in their event."""
    camera = camera_for_upload(owner=user, name="front")
    items = _burst(camera)
    doomed = items[2]
    real_place = search.events.items_place

    def deleted_meanwhile(*, placements):
        # The admin's delete commits between the decoding and the placing of the batch.
        content_delete(contents=Content.objects.filter(pk=doomed.pk))
        return real_place(placements=placements)

    monkeypatch.setattr(search.events, "items_place", deleted_meanwhile)
    analyze_content.apply(args=(items[0].pk,), throw=True)

    survivors = [c.pk for c in items if c.pk != doomed.pk]
    analysed = set(ItemAnalysis.objects.filter(content_id__in=survivors).values_list("content_id", flat=True))
    assert analysed == set(survivors)
    assert Event.objects.filter(camera=camera).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_camera_deleted_while_its_analysis_runs_ends_the_task_quietly(user, monkeypatch):
    """The owner deletes a camera (DELETE /api/users/me/cameras/:camera) while the analysis task
    is decoding its latest uploads.

    Before: the task then placed the analyses and a new event for the camera that was gone; the
    commit failed with ``IntegrityError`` (FOREIGN KEY constraint failed): every such task ended
    in an error in the worker's log and error tracker, for an ordinary user action.

    Now: the batch finds the camera gone when it takes the camera's lock, places nothing and the
    task finishes quietly, leaving nothing of the camera behind."""
    camera = camera_for_upload(owner=user, name="front")
    items = _burst(camera)
    real_place = search.events.items_place

    def deleted_meanwhile(*, placements):
        camera_delete(camera=Camera.objects.get(pk=camera.pk))
        return real_place(placements=placements)

    monkeypatch.setattr(search.events, "items_place", deleted_meanwhile)
    analyze_content.apply(args=(items[0].pk,), throw=True)

    assert not Event.objects.filter(owner=user).exists()
    assert not ItemAnalysis.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_chain_whose_first_item_was_deleted_still_analyses_the_cameras_other_uploads(user):
    """A camera uploads three stills in a burst. The first upload's commit sends the camera's
    analysis message (coalesced: it holds the camera's key ``analysis:camera:<pk>``); the next two
    find the key held and send nothing, counting on that message's chain to take them. Before a
    worker gets to the message, the first item is deleted (the content admin).

    Before: the task found its item gone, let the key go and looked for the camera's next item
    "in the chain of" the deleted item, which it could not find (it looked it up by the deleted
    row): the two other stills got no message and stayed out of every event, search and hook
    until the requeue sweep.

    Now: the chain goes on from the camera its key names (looking back as far as the sweep does,
    its first item's upload time being gone with it), so the two stills are analysed now."""
    from django.core.cache import cache

    camera = camera_for_upload(owner=user, name="front")
    first, *others = _burst(camera, 3)
    key = f"analysis:camera:{camera.pk}"
    cache.add(f"tasks:pending:{key}", 1, 300)  # taken by the first upload's message
    content_delete(contents=Content.objects.filter(pk=first.pk))

    analyze_content.apply(args=(first.pk,), kwargs={"coalesced": key}, throw=True)

    analysed = set(ItemAnalysis.objects.values_list("content_id", flat=True))
    assert analysed == {c.pk for c in others}


# --- downloads: a build that outlives the stale window is built twice and mailed twice ----------


class _SlowUploadStorage:
    """``default_storage`` whose uploads are slow (a big zip going up to S3 takes minutes): the
    bytes are read in 20 chunks, ``pause`` seconds apart. ``during`` runs once, ``after`` seconds
    into the first upload."""

    def __init__(self, *, pause: float, after: float, during):
        self.pause, self.after, self.during, self.fired = pause, after, during, False

    def __getattr__(self, name):
        return getattr(default_storage, name)

    def save(self, name, content, max_length=None):
        started = time.monotonic()
        step = max(1, content.size // 20)
        data = bytearray()
        while chunk := content.read(step):
            data += chunk
            time.sleep(self.pause)
            if not self.fired and time.monotonic() - started >= self.after:
                self.fired = True
                self.during()
        return default_storage.save(name, ContentFile(bytes(data)), max_length=max_length)


@pytest.mark.django_db(transaction=True)
def test_a_zip_whose_upload_outlasts_the_stale_window_is_not_rebuilt_and_mailed_twice(
    user, token, settings, monkeypatch
):
    """A user asks for the download of a Camio (POST /api/camios/:token/downloads). The zip is
    built, then uploaded to storage; for a large Camio on S3 that upload takes minutes.

    Before: the build wrote its heartbeat only while it zipped; the upload wrote none, so after
    ``STALE_BUILD_SECONDS`` the stuck-download sweep (``search.requeue_stuck_downloads``) took the
    running build for a dead one and started a second build of the same download. Both builds
    then marked the download ready, unconditionally, and both emailed the link: two "Your
    download ... is ready" mails, and the Camio zipped and uploaded twice.

    Now: the build keeps its heartbeat while a thread of its own uploads, so the sweep leaves it
    alone; one zip is stored and one mail sent.

    (Scaled down: the stale window is 1 s instead of 120 s, the upload 2 s instead of minutes.)"""
    from rest_framework.test import APIClient

    settings.PUBLIC_BASE_URL = "http://testserver"
    monkeypatch.setattr(search.downloads, "STALE_BUILD_SECONDS", 1)
    cam = make_camera(user, "front")
    for i in range(3):
        make_content(user, cam, at=hours_ago(3 - i), data=jpeg_bytes(color=(i * 60, 10, 10)))
    camio = make_camio(user, cameras=["front"], name="Driveway")
    slow = _SlowUploadStorage(pause=0.1, after=1.5, during=lambda: requeue_stuck_downloads.apply(throw=True))
    monkeypatch.setattr(search.downloads, "default_storage", slow)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"token {token}")
    created = client.post(f"/api/camios/{camio.view_token}/downloads")
    assert created.status_code == 200, created.content

    download_id = created.json()["id"]
    status = client.get(f"/api/camios/{camio.view_token}/downloads/{download_id}").json()
    assert status["status"] == "ready" and status["items_done"] == 3
    assert slow.fired  # the sweep ran while the zip was going up
    ready_mails = [m for m in mail.outbox if "is ready" in m.subject]
    assert len(ready_mails) == 1, [m.subject for m in mail.outbox]
    assert _zips_of(user, download_id) == [Download.objects.get(public_id=download_id).storage_key]


@pytest.mark.django_db(transaction=True)
def test_a_build_taken_over_while_it_uploads_records_nothing_and_mails_nothing(user, token, settings, monkeypatch):
    """A build's worker stalls long enough (a frozen VM, a network partition to the database) for
    the sweep to take it for dead while its zip goes up: a second build takes the download over,
    finishes first and mails the link.

    Before: the first build, once its upload was done, marked the download ready again over the
    second one's (its own zip, over the same storage key) and mailed the link a second time.

    Now: every write of a build is conditional on the heartbeat it last wrote (its claim); the
    first build finds the download taken over, deletes its own zip and records and mails nothing."""
    from rest_framework.test import APIClient

    settings.PUBLIC_BASE_URL = "http://testserver"
    cam = make_camera(user, "front")
    for i in range(2):
        make_content(user, cam, at=hours_ago(2 - i), data=jpeg_bytes(color=(i * 60, 10, 10)))
    camio = make_camio(user, cameras=["front"], name="Driveway")

    def stalled_then_swept():
        # The first build's heartbeat as a stalled worker leaves it; the sweep sends the task again.
        Download.objects.update(
            heartbeat_at=timezone.now() - timedelta(seconds=search.downloads.STALE_BUILD_SECONDS + 1)
        )
        requeue_stuck_downloads.apply(throw=True)

    slow = _SlowUploadStorage(pause=0.02, after=0.05, during=stalled_then_swept)
    monkeypatch.setattr(search.downloads, "default_storage", slow)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"token {token}")
    created = client.post(f"/api/camios/{camio.view_token}/downloads")
    assert created.status_code == 200, created.content

    download_id = created.json()["id"]
    status = client.get(f"/api/camios/{camio.view_token}/downloads/{download_id}").json()
    assert status["status"] == "ready" and status["items_done"] == 2 and status["url"]
    assert len([m for m in mail.outbox if "is ready" in m.subject]) == 1, [m.subject for m in mail.outbox]
    assert _zips_of(user, download_id) == [Download.objects.get(public_id=download_id).storage_key]


# --- viewer usage: a flush that fails loses the loads --------------------------------------------


@pytest.mark.django_db
def test_viewer_loads_survive_a_flush_whose_database_write_fails(monkeypatch):
    """A partner's embedded viewer is loaded 6 times under its API key (the first load of the
    minute writes itself, 5 stay pending in the cache); then the periodic task
    ``search.flush_viewer_usage`` runs while the database is unavailable for a moment (a failover,
    a lock timeout) and errors out; the next minute's run succeeds.

    Before: the flush took the pending count out of the cache before writing it to the database,
    so the failed run threw the 5 loads away: the admin's usage said 1 of the 6 loads.

    Now: the loads leave the cache only once their row is written, just before it commits: the
    failed flush leaves them pending and the next run writes all 5."""
    app, _secret = oauth_application_create(name="Partner site", redirect_uris=["https://partner.example.com/cb"])
    key = app.client_id
    now = timezone.now()
    real_add = search.viewer_usage._usage_add
    # The first load of a minute flushes at once: that one is written; 5 more stay pending.
    viewer_usage_record(client_id=key, now=now)
    for _ in range(5):
        viewer_usage_record(client_id=key, now=now)
    assert viewer_usage(api_key=key, day=now.date()) == 6

    def database_down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(search.viewer_usage, "_usage_add", database_down)
    with contextlib.suppress(OperationalError):  # the task errors out (or logs it)
        flush_viewer_usage.apply(throw=True)
    monkeypatch.setattr(search.viewer_usage, "_usage_add", real_add)
    flush_viewer_usage.apply(throw=True)

    assert viewer_usage(api_key=key, day=now.date()) == 6


# --- motion alerts: the hooks worker's threads run two events' hand-offs at once ----------------


@pytest.mark.django_db(transaction=True)
def test_two_events_of_one_camera_handed_off_together_send_one_motion_alert_per_cooldown(user, settings, monkeypatch):
    """After an outage a camera's backlog is analysed in one batch, which makes two interesting
    events and hands both to ``hooks.event_labels_changed`` at once; the hooks worker (compose:
    ``--pool threads --concurrency 16``) runs the two messages side by side.

    Before: each run claimed its event's alert, then checked the camera's cooldown for alerts
    already *sent* (``method`` set only after the mail went out): neither saw the other, and the
    user got two "Motion on front" mails seconds apart, against ``MOTION_ALERT_COOLDOWN_SECONDS``.

    Now: the claim and the cooldown are decided under the camera's row lock, and a claim being
    sent counts towards the cooldown: one mail."""
    import threading

    from django.db import connection

    import hooks.alerts
    from accounts.services import account_settings_update
    from hooks.tasks import event_labels_changed
    from tests.hooks.conftest import make_event

    settings.MOTION_ALERT_COOLDOWN_SECONDS = 300
    account_settings_update(
        user=user, data={"notifications": {"motion_alerts": {"state": "ON", "method": "EMAIL", "options": ""}}}
    )
    camera = camera_for_upload(owner=user, name="front")
    first, second = make_event(camera, ["people"]), make_event(camera, ["people"])

    both_sending = threading.Barrier(2)
    real_send = hooks.alerts.notification_send

    def send(**kwargs):
        # The two runs meet here if both decided to send (a run that did not never comes).
        try:
            both_sending.wait(timeout=3)
        except threading.BrokenBarrierError:
            pass
        return real_send(**kwargs)

    monkeypatch.setattr(hooks.alerts, "notification_send", send)
    errors: list[BaseException] = []

    def run(event_id: int) -> None:
        try:
            event_labels_changed.apply(args=(event_id,), throw=True)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(e.pk,)) for e in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    alerts = [m for m in mail.outbox if m.subject.startswith("Motion on front")]
    assert len(alerts) == 1, [m.subject for m in mail.outbox]


# --- downloads: a revocation that runs while the zip is being built --------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_camera_deleted_while_a_zip_of_it_is_built_is_not_served_in_that_zip(user, other_user, settings, monkeypatch):
    """Bob holds the token of Alice's public Camio of her "front" camera and asks for its zip.
    While the zip is being built (here: while it goes up to storage), Alice deletes the camera
    (DELETE /api/users/me/cameras/front): her recordings must go. ``camera_delete`` hands the
    revocation of zips holding them to ``search.revoke_owner_downloads``.

    Before: the revocation ran while Bob's download was still "running" with no zip recorded, so
    it dropped nothing; the build then recorded the zip as ready and mailed Bob the link, which
    served Alice's deleted recordings to Bob for the next 7 days.

    Now: the revocation takes the download from the build under way (which then records nothing
    and deletes its zip) and builds it again from what is left: Bob gets one zip, without the
    deleted camera's recordings, and the stopped build's zip is not kept."""
    import io
    import zipfile

    from rest_framework.test import APIClient

    from tests.factories import make_token

    settings.PUBLIC_BASE_URL = "http://testserver"
    cam = make_camera(user, "front")
    items = [make_content(user, cam, at=hours_ago(3 - i), data=jpeg_bytes(color=(i * 60, 10, 10))) for i in range(3)]
    camio = make_camio(user, cameras=["front"], name="Driveway")
    slow = _SlowUploadStorage(pause=0.02, after=0.1, during=lambda: camera_delete(camera=Camera.objects.get(pk=cam.pk)))
    monkeypatch.setattr(search.downloads, "default_storage", slow)

    bob = APIClient()
    bob.credentials(HTTP_AUTHORIZATION=f"token {make_token(other_user)}")
    created = bob.post(f"/api/camios/{camio.view_token}/downloads")
    assert created.status_code == 200, created.content
    assert slow.fired and not Camera.objects.filter(pk=cam.pk).exists()

    download_id = created.json()["id"]
    status = bob.get(f"/api/camios/{camio.view_token}/downloads/{download_id}").json()
    assert status["status"] == "ready" and status["items_done"] == 0, status
    resp = APIClient().get(status["url"].removeprefix("http://testserver"))
    assert resp.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(resp.streaming_content)))
    served = [name for name in archive.namelist() if any(c.public_id in name for c in items)]
    assert served == [], f"the deleted camera's recordings are served: {served}"
    assert len([m for m in mail.outbox if "is ready" in m.subject]) == 1, [m.subject for m in mail.outbox]
    assert _zips_of(user, download_id) == [Download.objects.get(public_id=download_id).storage_key]
