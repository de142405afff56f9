# ruff: noqa: F811 (fixtures imported from other test packages are parameters here)
"""Data lifecycle review: what deleting or deactivating accounts, cameras, content, Camios, hooks
and guests leaves behind, and whether the periodic cleanups do what they say.

Each test was a defect found by running the code (SQLite, local storage in a tmp folder, Celery
eager) on 2026-12-05, all fixed; the docstrings tell what happened before the fix ("now" in them).
Deleting accounts: tests/accounts/test_account_delete.py.
"""

from __future__ import annotations

import ftplib
import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.selectors import account_settings_get
from cameras.models import Camera
from tests.hooks.conftest import loopback_ok, published, receiver  # noqa: F401 (fixtures)
from tests.search.test_share_helpers import hours_ago, make_camera, make_camio, make_content
from tests.uploads.conftest import _private_media, files_under, gateway  # noqa: F401 (a private MEDIA_ROOT; the FTP gateway)
from tests.uploads.samples import jpeg_bytes
from uploads.models import Content


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PUBLIC_BASE_URL = "http://testserver"


def put(client, token: str, name: str, body: bytes, *, query: str = "", content_type: str = "image/jpeg"):
    return client.generic(
        "PUT",
        f"/api/users/{token}/cameras/front/content/{name}?camera_id=1234{query}",
        body,
        content_type=content_type,
    )


# --- content deleted in admin -------------------------------------------------------------------


@pytest.mark.django_db
def test_deleting_content_in_admin_removes_the_bytes_of_its_alternates(
    admin_client, anon, user, _private_media, django_capture_on_commit_callbacks
):
    """An operator deletes an item in the content admin; the camera had uploaded alternate media
    for it (``options=alternate``: another resolution/encoding in support of that item).

    Should: the item and its alternates leave storage with their rows.
    Now: ``uploads.services.content_delete`` collects the storage keys of the selected rows only;
    the alternates' rows go by cascade (``Content.alternate_of`` CASCADE) and their bytes stay in
    storage with no row pointing at them.
    """
    token = account_settings_get(user=user).upload_token
    with django_capture_on_commit_callbacks(execute=True):
        primary = put(anon, token, "2026-11-20T12:00:00Z.jpg", jpeg_bytes(120, 90))
        alternate = put(anon, token, "2026-11-20T12:00:00.100Z.jpg", jpeg_bytes(240, 180), query="&options=alternate")
    assert primary.status_code == 201 and alternate.status_code == 201
    alt = Content.objects.get(public_id=alternate.json()["id"])
    main = Content.objects.get(public_id=primary.json()["id"])
    assert alt.alternate_of_id == main.pk
    assert len(files_under(_private_media)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/uploads/content/{main.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Content.objects.exists()  # the alternate's row went by cascade
    assert files_under(_private_media) == [], "the alternate's bytes stay in storage, owned by no row"


# --- downloads ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_content_deleted_in_admin_is_no_longer_served_in_earlier_download_zips(
    admin_client, anon, api, user, django_capture_on_commit_callbacks
):
    """Alice's public Camio was downloaded (a zip, its link emailed, good for
    ``DOWNLOAD_LINK_SECONDS``: 7 days). An operator then deletes one of the Camio's items in the
    content admin (say, footage that must not be shared); the content admin "removes the stored
    bytes".

    Should: the deleted item can no longer be fetched through the service, zips included (the zip
    dropped, or revoked so a new one is asked for, as deleting the Camio does).
    Now: ``content_delete`` knows nothing of downloads; the zip made before keeps the deleted
    image and its link serves it, without sign-in, until the link expires.
    """
    import re
    import zipfile

    from django.core import mail

    front = make_camera(user, "front")
    items = [make_content(user, front, at=hours_ago(2 - i)) for i in range(2)]
    camio = make_camio(user, cameras=["front"], start=hours_ago(24))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/camios/{camio.view_token}/downloads").status_code == 200
    link = re.search(r"http://testserver(/downloads/\S+)", mail.outbox[0].body).group(1)

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/admin/uploads/content/{items[0].pk}/delete/", {"post": "yes"}).status_code == 302
    assert not default_storage.exists(items[0].storage_key)
    got = anon.get(link)
    if got.status_code == 200:
        data = b"".join(got.streaming_content) if got.streaming else got.content
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        assert not [n for n in names if items[0].public_id in n], f"the deleted item is still served: {names}"


# --- Upload Token rotated / account deactivated: the FTP gateway ---------------------------------


def ftp_login(port: int, user: str) -> ftplib.FTP:
    ftp = ftplib.FTP()  # noqa: S321 - cameras speak plain FTP
    ftp.connect("127.0.0.1", port, timeout=10)
    ftp.login(user, "camio")
    return ftp


@pytest.mark.parametrize("change", ["rotate the upload token", "deactivate the account"])
def test_an_open_ftp_session_stops_storing_once_its_upload_token_is_revoked(gateway, user, change):
    """A camera logged in to the FTP gateway with the account's Upload Token (cameras keep their
    control connection open for hours). The owner rotates the Upload Token ("the old one stops
    working at once", POST /api/users/me/tokens/upload/rotate or the admin action), or an operator
    deactivates the account.

    Should: the next STOR on that session is refused (530/550), as a new login or an HTTP upload
    with that token is.
    Now: the token is checked only at login (``uploads.ftp`` keeps ``owner_id`` on the handler and
    ``_ingest`` loads the user by pk): the session goes on storing content into the account with a
    revoked token, or into a deactivated account (whose analysis and hooks then run too).
    """
    from accounts.services import upload_token_rotate

    token = account_settings_get(user=user).upload_token
    ftp = ftp_login(gateway, token)
    ftp.mkd("front")
    assert ftp.storbinary("STOR front/before.jpg", io.BytesIO(jpeg_bytes())).startswith("226")
    if change == "rotate the upload token":
        upload_token_rotate(user=user)
    else:
        user.is_active = False
        user.save(update_fields=["is_active"])
    with pytest.raises(ftplib.error_perm):
        ftp.storbinary("STOR front/after.jpg", io.BytesIO(jpeg_bytes(color=(0, 0, 200))))
    ftp.close()
    assert not Content.objects.filter(name="after.jpg").exists(), "stored with a revoked Upload Token"


# --- hooks --------------------------------------------------------------------------------------


def test_deleting_a_hook_while_its_delivery_is_sent_strands_nothing_else(
    transactional_db, user, api, loopback_ok, receiver, published, monkeypatch
):
    """Two hooks of the account call the same receiver; an event fires both; the task sending the
    batch has POSTed hook A's delivery when the owner deletes hook A (DELETE /api/users/me/hooks/A:
    "queued tasks for them find nothing and stop").

    Should: A's delivery is simply gone; B's, sent in the same batch, is recorded as succeeded.
    Now: the batch's record inserts a DeliveryAttempt for A's deleted Delivery row: the commit
    fails with IntegrityError (FOREIGN KEY; on PostgreSQL the success path's single INSERT fails
    the same way), the task crashes, and every other delivery of the batch (other hooks, other
    accounts' hooks at the same receiver) stays "sending" with its lease, to be sent a second time
    by ``hooks.requeue_stuck_deliveries`` after the lease: duplicate callbacks, an error per delete.
    """
    from hooks import services
    from hooks.models import Delivery, Hook
    from tests.hooks.conftest import make_event

    cam = Camera.objects.create(owner=user, name="front")
    a = Hook.objects.create(owner=user, callback_url=receiver.url("/a"), query="people")
    b = Hook.objects.create(owner=user, callback_url=receiver.url("/b"), query="people")
    rows = {d.hook_id: d for d in services.hooks_fire_for_event(event=make_event(cam, ["people"]))}
    assert set(rows) == {a.pk, b.pk}

    real_post = services.client.post

    def post(**kwargs):
        result = real_post(**kwargs)
        if kwargs["url"].endswith("/a") and Hook.objects.filter(pk=a.pk).exists():
            assert api.delete(f"/api/users/me/hooks/{a.pk}").status_code == 204
        return result

    monkeypatch.setattr(services.client, "post", post)
    error = None
    try:
        services.delivery_attempt(delivery_id=rows[a.pk].pk)
    except Exception as exc:
        error = exc
    assert [r.path for r in receiver.requests] == ["/a", "/b"]
    assert Delivery.objects.get(pk=rows[b.pk].pk).state == Delivery.State.SUCCEEDED, (
        f"hook B's delivery is left {Delivery.objects.get(pk=rows[b.pk].pk).state!r} ({error!r})"
    )
    assert error is None


@pytest.mark.django_db
def test_a_deactivated_accounts_hooks_send_no_more_callbacks(user, loopback_ok, receiver):
    """An operator deactivates an account (is_active off: its tokens, Camios, guests, uploads, motion
    alerts and daily summaries all stop). It had a hook with a delivery waiting for its retry, and
    items uploaded just before, still being analysed.

    Should: no callback goes out on behalf of the deactivated account (as its motion alerts do not:
    ``hooks.alerts`` checks ``owner.is_active``).
    Now: ``hooks_fire_for_event`` writes deliveries for the inactive owner's new events, and the
    claim/send path sends them and the pending retries (it checks only the hook's paused/disabled
    state), for as long as the retry schedule runs.
    """
    from hooks import services
    from hooks.models import Delivery, Hook
    from tests.hooks.conftest import make_event

    cam = Camera.objects.create(owner=user, name="front")
    hook = Hook.objects.create(owner=user, callback_url=receiver.url("/a"), query="people")
    (waiting,) = services.hooks_fire_for_event(event=make_event(cam, ["people"]))
    Delivery.objects.filter(pk=waiting.pk).update(state=Delivery.State.RETRYING, attempt_count=1, retry_index=1)

    user.is_active = False
    user.save(update_fields=["is_active"])
    fresh = services.hooks_fire_for_event(event=make_event(cam, ["people"]))  # analysis finishing
    services.delivery_attempt(delivery_id=waiting.pk)  # the retry comes due
    sent = [r.json()["event"]["id"] for r in receiver.requests]
    assert sent == [], f"{len(sent)} callback(s) sent for a deactivated account"
    assert fresh == [], "a new event of the deactivated account wrote deliveries"
    assert hook.pk


# --- what grows without bound -------------------------------------------------------------------


@pytest.mark.django_db
def test_some_periodic_task_prunes_old_finished_hook_deliveries(user):
    """A hook fires on every matching event; each firing writes a Delivery (with its signed body)
    and a DeliveryAttempt per try (request headers, response excerpt). Operators expect the beat
    schedule's sweeps to keep these tables bounded.

    Should: finished deliveries (and their attempts) past some retention are removed by a
    periodic task.
    Now: no task in CELERY_BEAT_SCHEDULE deletes Delivery or DeliveryAttempt rows (nor
    MotionAlert, StatusTransition, Notification or expired OAuth token rows): the tables grow
    with every event, forever. A year-old succeeded delivery survives every beat task.
    """
    from django.conf import settings

    from config.celery import app
    from hooks.models import Delivery, DeliveryAttempt, Hook
    from tests.hooks.conftest import make_event

    cam = Camera.objects.create(owner=user, name="front")
    hook = Hook.objects.create(owner=user, callback_url="https://receiver.example.com/a", query="people")
    long_ago = timezone.now() - timedelta(days=400)
    delivery = Delivery.objects.create(
        hook=hook, event=make_event(cam, ["people"]), body="{}", state=Delivery.State.SUCCEEDED, completed_at=long_ago
    )
    Delivery.objects.filter(pk=delivery.pk).update(created_at=long_ago)
    DeliveryAttempt.objects.create(
        delivery=delivery, number=1, started_at=long_ago, url=hook.callback_url, succeeded=True
    )

    # Kept: one still to be sent, however old, and a finished one within the retention.
    pending = Delivery.objects.create(hook=hook, event=make_event(cam, ["people"]), body="{}")
    Delivery.objects.filter(pk=pending.pk).update(created_at=long_ago)
    recent = Delivery.objects.create(
        hook=hook, event=make_event(cam, ["people"]), body="{}", state=Delivery.State.FAILED, completed_at=long_ago
    )

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        app.tasks[entry["task"]].apply().get()
    assert not Delivery.objects.filter(pk=delivery.pk).exists(), "a 400-day-old finished delivery is kept forever"
    assert not DeliveryAttempt.objects.exists()
    assert set(Delivery.objects.values_list("pk", flat=True)) == {pending.pk, recent.pk}
