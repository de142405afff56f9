"""Races on PostgreSQL: two requests or tasks at once must not lose data, answer a 500 or leave
state inconsistent (each of these did, before its fix).

Every test really runs two database connections at once (threads, each closing its own
connection). Where the window is narrow it is widened deterministically at a point the
production code passes anyway (a signal, a wrapped module function), so the interleaving shown
is one production allows, not one the test invents.

Run on PostgreSQL only (they skip on SQLite, whose writers serialise):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test pytest tests/config/test_concurrency_findings.py
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.db.models.signals import pre_delete, pre_save
from rest_framework.test import APIClient

from accounts.selectors import account_settings_get
from cameras.models import Camera, CommandTemplate, Device
from tests.uploads.samples import jpeg_bytes
from uploads.models import Content

pytestmark = pytest.mark.django_db(transaction=True)

HOME_IP = "203.0.113.7"


@pytest.fixture(autouse=True)
def _pg_and_private_media(postgresql, settings, tmp_path):
    """PostgreSQL only; stored bytes go to a private folder per test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _put(client: APIClient, token: str, camera: str, name: str, body: bytes, query: str = "camera_id=cam-1"):
    return client.generic(
        "PUT", f"/api/users/{token}/cameras/{camera}/content/{name}?{query}", body, content_type="image/jpeg"
    )


def _in_thread(target, *args, **kwargs) -> tuple[threading.Thread, dict]:
    """Run ``target`` in a thread with its own database connection; its result or exception
    lands in the returned dict."""
    out: dict = {}

    def run():
        try:
            out["result"] = target(*args, **kwargs)
        except BaseException as exc:  # reported by the test
            out["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _poll(mac: str, *, ip: str = HOME_IP, maker: str = "RaceCam", model: str = "R1"):
    client = APIClient(REMOTE_ADDR=ip, HTTP_USER_AGENT="Wget")
    return client.get(f"/api/cameras/{mac}", {"maker": maker, "model": model, "ip_address_local": "192.168.1.5"})


# --- 1. DELETE camera while the camera is still uploading ----------------------------------------


def test_deleting_a_camera_that_is_still_uploading_deletes_it_and_the_upload_is_sent_again(api, user):
    """Users delete a camera that is still sending stills (it uploads every second or so).

    They get 204 and the camera is gone, with everything it uploaded. ``camera_delete`` used to
    gather the camera's content first and delete the camera row last, without locking it: an
    upload committing in between was not gathered, and the deferred foreign key failed the delete
    at COMMIT (a 500, the camera and its content kept). The camera row is now locked first: the
    upload waits, finds its camera gone and answers 503 (the camera sends it again).
    The upload is started at ``pre_delete`` (after the gathering, before the first DELETE).
    """
    token = account_settings_get(user=user).upload_token
    anon = APIClient()
    assert _put(anon, token, "porch", "a.jpg", jpeg_bytes(color=(10, 10, 10))).status_code == 201
    camera = Camera.objects.get(owner=user, name="porch")
    late: list = []

    def upload_meanwhile(sender, instance, **kwargs):
        if sender is Camera and instance.pk == camera.pk and not late:
            late.append(_in_thread(_put, APIClient(), token, "porch", "b.jpg", jpeg_bytes(color=(200, 9, 9))))
            late[0][0].join(3)  # unlocked, it commits at once (and failed the delete)

    pre_delete.connect(upload_meanwhile, dispatch_uid="race-upload-during-delete")
    try:
        response = api.delete("/api/users/me/cameras/porch")
    finally:
        pre_delete.disconnect(dispatch_uid="race-upload-during-delete")
    assert response.status_code == 204, (response.status_code, response.content[:300])
    thread, out = late[0]
    thread.join(60)
    assert "error" not in out, out
    assert out["result"].status_code == 503, out["result"].content[:300]
    assert "send it again" in out["result"].json()["message"]
    assert not Camera.objects.filter(pk=camera.pk).exists()
    assert not Content.objects.filter(owner=user).exists()


# --- 2. an upload while its camera is being deleted ------------------------------------------------


def test_an_upload_racing_its_cameras_deletion_is_a_503_and_sent_again_makes_the_camera(api, user, monkeypatch):
    """A camera uploads a still while its owner deletes that camera.

    The upload is refused with a 503 the camera acts on (it sends again, and that upload makes
    the camera anew, as a first upload does); it was a 500: the Content INSERT's deferred foreign
    key failed at COMMIT and the IntegrityError was taken for a concurrent retry of the same
    upload. The upload is paused in ``uploads.services._store`` (after the camera lookup, before
    the row) while the DELETE runs.
    """
    from uploads import services

    token = account_settings_get(user=user).upload_token
    assert _put(APIClient(), token, "yard", "a.jpg", jpeg_bytes(color=(10, 10, 10))).status_code == 201
    reached, go = threading.Event(), threading.Event()
    real_store = services._store

    def paused_store(key, file):
        if not reached.is_set():
            reached.set()
            go.wait(30)
        return real_store(key, file)

    monkeypatch.setattr(services, "_store", paused_store)
    thread, out = _in_thread(_put, APIClient(), token, "yard", "b.jpg", jpeg_bytes(color=(250, 250, 0)))
    assert reached.wait(30)
    assert api.delete("/api/users/me/cameras/yard").status_code == 204
    go.set()
    thread.join(60)
    assert "error" not in out, out
    response = out["result"]
    assert response.status_code == 503, response.content[:300]
    assert not Content.objects.filter(owner=user).exists()
    monkeypatch.setattr(services, "_store", real_store)
    again = _put(APIClient(), token, "yard", "b.jpg", jpeg_bytes(color=(250, 250, 0)))
    assert again.status_code == 201, again.content
    assert Content.objects.filter(owner=user, camera__name="yard").count() == 1


# --- 3. two devices claimed under one new camera name ----------------------------------------------


def test_claiming_two_devices_as_the_same_new_camera_name_at_once_is_201_and_409(user, token):
    """A user claims two new devices at once (two tabs, or an app claiming both with the default
    name it suggests), both as camera "Front".

    One gets 201, the other 409 ("already linked to another device"). ``select_for_update`` on a
    name no row has yet locks nothing: both claims used to INSERT, and the second's IntegrityError
    on the (owner, name) index was a 500. The two claims are lined up at Camera's ``pre_save``.
    """
    macs = ["02:00:00:00:00:01", "02:00:00:00:00:02"]
    for mac in macs:
        assert _poll(mac).status_code == 200
    line_up = threading.Barrier(2, timeout=5)

    def wait_for_the_other(sender, instance, **kwargs):
        if sender is Camera and getattr(_claiming, "on", False):
            try:
                line_up.wait()
            except threading.BrokenBarrierError:
                pass  # a fixed claim may no longer get here twice

    _claiming = threading.local()

    def claim(mac):
        _claiming.on = True
        client = APIClient(REMOTE_ADDR=HOME_IP)
        client.credentials(HTTP_AUTHORIZATION=f"token {token}")
        return client.post(f"/api/users/me/devices/{mac}/claim", {"name": "Front"}, format="json")

    pre_save.connect(wait_for_the_other, dispatch_uid="race-claim-same-name")
    try:
        runs = [_in_thread(claim, mac) for mac in macs]
        for thread, _ in runs:
            thread.join(60)
    finally:
        pre_save.disconnect(dispatch_uid="race-claim-same-name")
    outs = [out for _, out in runs]
    assert all("error" not in out for out in outs), outs
    statuses = sorted(out["result"].status_code for out in outs)
    assert statuses == [201, 409], [(o["result"].status_code, o["result"].content[:200]) for o in outs]
    assert Device.objects.filter(camera__name="Front").count() == 1


# --- 4. the developer-token application made twice -------------------------------------------------


def test_two_first_developer_tokens_at_once_leave_later_ones_working():
    """Two admins (or an admin and ``manage.py create_dev_token``) generate developer tokens at the
    same time on a fresh install.

    Both get a token, and tokens keep being issued afterwards. Nothing makes the application's
    name unique in django-oauth-toolkit's table, so both may create one; a ``get_or_create`` then
    raised MultipleObjectsReturned on every later token, for good (the admin action a 500).
    The two calls are lined up after their lookup (at ``set_token_value``, before either commits).
    """
    from oauth2_provider.models import get_application_model

    from accounts import services
    from tests.factories import make_user

    users = [make_user(f"dev{i}") for i in range(3)]
    line_up = threading.Barrier(2, timeout=5)
    real_set = services.set_token_value

    def lined_up_set(token, raw):
        try:
            line_up.wait()
        except threading.BrokenBarrierError:
            pass
        return real_set(token, raw)

    services.set_token_value = lined_up_set
    try:
        runs = [_in_thread(services.dev_token_create, user=u) for u in users[:2]]
        for thread, _ in runs:
            thread.join(60)
    finally:
        services.set_token_value = real_set
    assert all("error" not in out for _, out in runs), [out for _, out in runs]
    apps = get_application_model().objects.filter(name=services.DEV_TOKEN_APPLICATION, user=None)
    assert 1 <= apps.count() <= 2
    raw = services.dev_token_create(user=users[2])
    client = APIClient()
    for token in [out["result"] for _, out in runs] + [raw]:
        client.credentials(HTTP_AUTHORIZATION=f"token {token}")
        assert client.get("/api/users/me/cameras").status_code == 200


# --- 5. a poll caches the pre-claim configuration after the claim --------------------------------


def test_a_poll_in_flight_during_a_claim_does_not_keep_the_unclaimed_configuration(user, token, monkeypatch):
    """A user claims the camera polling from their network while the camera happens to poll.

    The camera's next poll carries the owner's upload settings. A poll that read the device row
    before the claim committed wrote its cache entry (``claim: None``) after the claim's on-commit
    ``device_forget`` ran, and every poll of the next ``CAMERA_HEARTBEAT_WRITE_SECONDS`` (300 s)
    was answered from it: no upload commands. (The same gap re-cached a rotated, dead Upload
    Token.) Entries now carry the device's generation, which ``device_forget`` renews.
    The poll is paused in ``cameras.polling._claim_info`` (after its device read) during the claim.
    """
    from cameras import polling
    from cameras.commands import templates_version_bump

    CommandTemplate.objects.create(
        maker="RaceCam",
        command_id="ftpAlarm",
        path="/cgi?REMOTEPATH={camera_name}&USERNAME={upload_token}",
        audience=CommandTemplate.AUDIENCE_CLAIMED,
    )
    templates_version_bump()
    mac = "02:00:00:00:00:09"
    start = time.time()
    polling.poll_record(
        polling.poll_parse(
            mac_address=mac, params={"maker": "RaceCam", "model": "R1"}, ip_address=HOME_IP, user_agent="Wget"
        ),
        now=start,
    )
    poll = polling.poll_parse(
        mac_address=mac, params={"maker": "RaceCam", "model": "R1"}, ip_address=HOME_IP, user_agent="Wget"
    )

    reached, go = threading.Event(), threading.Event()
    real_claim_info = polling._claim_info

    def paused_claim_info(device):
        if threading.current_thread() is not threading.main_thread() and not reached.is_set():
            reached.set()
            go.wait(30)
        return real_claim_info(device)

    monkeypatch.setattr(polling, "_claim_info", paused_claim_info)
    # A poll whose write is due (the write window passed): it reads the row, then is paused.
    thread, out = _in_thread(polling.poll_record, poll, now=start + 301)
    assert reached.wait(30)
    client = APIClient(REMOTE_ADDR=HOME_IP)
    client.credentials(HTTP_AUTHORIZATION=f"token {token}")
    claimed = client.post(f"/api/users/me/devices/{mac}/claim", {"name": "garage"}, format="json")
    assert claimed.status_code == 201, claimed.content
    go.set()
    thread.join(30)
    assert "error" not in out, out

    answer = polling.poll_record(poll, now=start + 330)  # the camera's next poll, 29 s later
    assert "ftpAlarm" in [c["id"] for c in answer["commands"]], answer["commands"]


# --- 6. the per-account hook limit ------------------------------------------------------------------


def test_two_hook_creations_at_once_keep_the_hook_limit(user):
    """A partner registers hooks in parallel when the account is one short of the limit (100).

    One is created and the other refused (400 "at most 100 hooks"); both used to count 99 and
    insert (101 hooks). The two calls are lined up at Hook's ``pre_save``.
    """
    from hooks import services
    from hooks.models import Hook

    Camera.objects.create(owner=user, name="front")
    Hook.objects.bulk_create(
        Hook(owner=user, callback_url="https://example.com/cb", query="front")
        for _ in range(services.MAX_HOOKS_PER_USER - 1)
    )
    line_up = threading.Barrier(2, timeout=5)

    def wait_for_the_other(sender, instance, **kwargs):
        if sender is Hook and instance.pk is None:
            try:
                line_up.wait()
            except threading.BrokenBarrierError:
                pass

    pre_save.connect(wait_for_the_other, dispatch_uid="race-hook-limit")
    try:
        runs = [
            _in_thread(services.hook_create, owner=user, callback_url="https://example.com/cb", query="front")
            for _ in range(2)
        ]
        for thread, _ in runs:
            thread.join(60)
    finally:
        pre_save.disconnect(dispatch_uid="race-hook-limit")
    assert Hook.objects.filter(owner=user).count() <= services.MAX_HOOKS_PER_USER
