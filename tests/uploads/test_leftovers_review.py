# ruff: noqa: F811 (fixtures imported from other test packages are parameters here)
"""Defects a review found in the hand-offs and checks left over around uploads, polling and hooks, fixed.

1. An event analysed while the broker was down never called its hooks back (nothing sweeps for it).
2. The hooks admin saved queries the API refuses (one matching every event, a date that is none).
3. A camera poll body over 4 KB was a 400 while a larger one was a 413.
4. An upload answered as a retry did not count as a sign of life: a camera only retrying looked offline.
5. Two unnamed uploads of the same bytes minutes apart (a static scene) were kept as one.
6. Rotating a hook's secret twice within the overlap stopped the first secret signing at once.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.selectors import account_settings_get
from cameras.models import Camera
from config.celery import app
from hooks import services
from hooks.models import Delivery, Hook
from search.analysis import content_analyze
from tests.hooks.conftest import loopback_ok, make_event, receiver  # noqa: F401 (fixtures)
from tests.hooks.test_delivery import verify_standard_webhook
from tests.search.conftest import camera, scene_jpeg, store_content  # noqa: F401 (fixtures)
from tests.uploads.samples import jpeg_bytes, mp4_bytes
from uploads.models import Content

BLUE = (0.10, 0.10, 0.10, 0.20, "blue")
MAC = "12:34:56:78:90:12"


@pytest.fixture
def upload_token(user) -> str:
    return account_settings_get(user=user).upload_token


def upload(client, token: str, name: str, body: bytes, content_type: str = "image/jpeg", query: str = "camera_id=1"):
    path = f"/api/users/{token}/cameras/front/content" + (f"/{name}" if name else "")
    return client.generic("PUT", f"{path}?{query}", body, content_type=content_type)


def arrived_earlier(content_id: str, minutes: float) -> None:
    """The item arrived ``minutes`` ago (an unnamed item is dated by its arrival)."""
    earlier = timezone.now() - timedelta(minutes=minutes)
    Content.objects.filter(public_id=content_id).update(captured_at=earlier, created_at=earlier)


# --- 1. the search → hooks hand-off with the broker down -----------------------------------------


@pytest.mark.django_db(transaction=True)  # the analysis really commits, then really fails to publish
def test_an_event_analysed_while_the_broker_is_down_still_calls_its_hooks_back(
    user, camera, receiver, loopback_ok, store_content, settings, broker_down
):
    """A worker analyses the front camera's images while the broker cannot be reached; a hook
    ``blue`` matches the event they make.

    Used to: the hand-off of the event to hooks was lost with the broker (the analysis failed after
    its commit), and nothing looked for it again: the hook never fired for that event.

    Now: the hand-off runs in the analysing process (as the cleanup hand-offs do); it writes the
    delivery, whose own send is lost too, quietly; the stuck-delivery sweep sends it once the broker
    is back.
    """
    settings.EVENT_GAP_SECONDS = 30
    Hook.objects.create(owner=user, callback_url=receiver.url(), query="blue")
    content_analyze(content_id=store_content(camera, scene_jpeg([]), at=0).pk)
    content_analyze(content_id=store_content(camera, scene_jpeg([BLUE]), at=5).pk)

    (delivery,) = Delivery.objects.all()
    assert delivery.state == "pending" and receiver.requests == []

    # The broker is back (here: tasks run in-process, as a worker would run them).
    app.conf.task_always_eager = True
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    assert services.deliveries_requeue_stuck() == 1
    assert [r.json()["event"]["id"] for r in receiver.requests] == [delivery.event.public_id]
    assert Delivery.objects.get().state == "succeeded"


# --- 2. the hooks admin checks the query as the API does -----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "says"), [("the a", "name at least one"), ("people 13pm", "13pm")])
def test_the_hooks_admin_refuses_a_query_the_api_refuses(admin_client, api, user, query, says):
    """An admin adds a hook for an account, or edits one, with a query of filler words only (it
    matches every event of the account) or a date that is none.

    Used to: the admin saved it, although the API answers 400 for the same query.

    Now: the form shows the API's message and nothing is saved; a good query still saves.
    """
    refused = api.post(
        "/api/users/me/hooks",
        {"callback_url": "http://example.com/cb", "type": "label_hit", "query": query},
        format="json",
    )
    assert refused.status_code == 400
    form = {"owner": user.pk, "type": "label_hit", "callback_url": "http://example.com/cb", "cooldown_seconds": 0}
    page = admin_client.post("/admin/hooks/hook/add/", {**form, "query": query})
    assert page.status_code == 200 and says in page.content.decode()
    assert not Hook.objects.exists()

    saved = admin_client.post("/admin/hooks/hook/add/", {**form, "query": "people"})
    assert saved.status_code == 302
    hook = Hook.objects.get()
    edit = {"type": "label_hit", "callback_url": "http://example.com/cb", "cooldown_seconds": 0}
    page = admin_client.post(f"/admin/hooks/hook/{hook.pk}/change/", {**edit, "query": query})
    assert page.status_code == 200 and says in page.content.decode()
    hook.refresh_from_db()
    assert hook.query == "people"


# --- 3. a poll body too large is a 413 -----------------------------------------------------------


@pytest.mark.django_db
def test_a_poll_body_too_large_is_413_like_any_body_too_large(anon):
    """A camera polls by POST with a JSON body of 5 KB.

    Used to: 400 "too large" (while a 3 MB body got 413 from the server's own limit).

    Now: 413 for both, with a JSON message.
    """
    path = f"/api/cameras/{MAC}"
    big = '{"maker": "Sharx", "model": "X1", "pad": "' + "x" * 5000 + '"}'
    response = anon.post(path, big, content_type="application/json")
    assert response.status_code == 413 and "too large" in response.json()["message"]
    huge = '{"pad": "' + "x" * 3_000_000 + '"}'
    assert anon.post(path, huge, content_type="application/json").status_code == 413
    small = anon.post(path, '{"maker": "Sharx", "model": "X1"}', content_type="application/json")
    assert small.status_code == 200


# --- 4. a retry is a sign of life ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["hash", "still", "video"])
def test_a_camera_whose_only_uploads_are_retries_is_online(anon, api, upload_token, how):
    """A camera's upload was stored but its answer lost; minutes later (the camera offline by then)
    it sends the same upload again: naming its bytes (``hash=``), or a still, or a video, again.

    Used to: the retry was answered (200, the stored item) but not recorded as a sign of life: a
    camera that only retried stayed offline.

    Now: a retry counts as an upload does: the camera is online.
    """
    if how == "video":
        name, body, content_type = "2014-07-21T20:38:30.000-07:00.mp4", mp4_bytes(seconds=1), "video/mp4"
    else:
        name, body, content_type = "2014-07-21T20:38:32.183-07:00.jpeg", jpeg_bytes(), "image/jpeg"
    query = f"camera_id=1&hash={hashlib.sha256(body).hexdigest()}" if how == "hash" else "camera_id=1"
    first = upload(anon, upload_token, name, body, content_type, query)
    assert first.status_code == 201, first.content
    long_ago = timezone.now() - timedelta(hours=1)
    Camera.objects.filter(name="front").update(last_seen_at=long_ago, last_upload_at=long_ago)
    assert api.get("/api/users/me/cameras/front").json()["is_online"] is False

    again = upload(anon, upload_token, name, body, content_type, query)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert api.get("/api/users/me/cameras/front").json()["is_online"] is True


# --- 5. unnamed uploads of the same bytes ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["still", "video"])
def test_unnamed_uploads_of_the_same_bytes_minutes_apart_are_two_items(anon, upload_token, kind):
    """A camera uploads without a name (the reference's cURL example for video): the scene does
    not change, so two captures five minutes apart have the same bytes.

    Used to: the second was answered as a retry of the first (200, the first item): the later
    capture was not kept, as if the camera had sent nothing then.

    Now: an unnamed upload is dated by its arrival (the reference dates content by a timestamp in
    its name only), so the same bytes later are another item; the same bytes again within two
    minutes (a retry whose answer was lost) still answer with the item already stored.
    """
    if kind == "video":
        body, content_type, query = mp4_bytes(seconds=1), "video/mp4", "camera_id=1&upload_mode=video"
    else:
        body, content_type, query = jpeg_bytes(), "image/jpeg", "camera_id=1"
    first = upload(anon, upload_token, "", body, content_type, query)
    assert first.status_code == 201, first.content
    arrived_earlier(first.json()["id"], minutes=5)

    second = upload(anon, upload_token, "", body, content_type, query)
    assert second.status_code == 201, second.content
    assert second.json()["id"] != first.json()["id"]
    times = sorted(Content.objects.values_list("captured_at", flat=True))
    assert len(times) == 2 and times[1] - times[0] >= timedelta(minutes=4)

    retry = upload(anon, upload_token, "", body, content_type, query)
    assert retry.status_code == 200 and retry.json()["id"] == second.json()["id"]
    digest = hashlib.sha256(body).hexdigest()
    named_retry = upload(anon, upload_token, "", body[:10], content_type, f"{query}&hash={digest}")
    assert named_retry.status_code == 200 and named_retry.json()["id"] == second.json()["id"]
    assert Content.objects.count() == 2


@pytest.mark.django_db
def test_named_uploads_of_the_same_bytes_stay_one_item_however_late(anon, upload_token):
    """The rule for named uploads is unchanged: the same camera, name and bytes are one item."""
    body = jpeg_bytes()
    first = upload(anon, upload_token, "a.jpg", body)
    arrived_earlier(first.json()["id"], minutes=60)
    again = upload(anon, upload_token, "a.jpg", body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Content.objects.count() == 1


# --- 6. rotating a hook's secret twice within the overlap ----------------------------------------


@pytest.mark.django_db
def test_a_secret_rotated_twice_within_the_overlap_keeps_every_promise(api, user, receiver, loopback_ok):
    """A partner rotates its hook's secret (the old one promised a day more), then rotates again an
    hour later, before its receiver switched over.

    Used to: the second rotation replaced the one "previous secret": the first secret stopped
    signing at once, and the receiver still verifying with it refused every delivery.

    Now: every old secret signs until the time it was promised (one ``v1,`` signature each); 0
    drops them all; a fifth old secret at once is refused (409) rather than dropping one.
    """
    created = api.post(
        "/api/users/me/hooks", {"callback_url": receiver.url(), "type": "label_hit", "query": "people"}, format="json"
    ).json()
    base = f"/api/users/me/hooks/{created['id']}"
    first = created["secret"]
    second = api.post(f"{base}/secret/rotate").json()["secret"]
    third = api.post(f"{base}/secret/rotate", {"keep_previous_seconds": 3600}, format="json").json()["secret"]

    camera = Camera.objects.create(owner=user, name="front")
    (row,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
    services.delivery_attempt(delivery_id=row.pk)
    (sent,) = receiver.requests
    assert len(sent.headers["webhook-signature"].split(" ")) == 3
    assert all(verify_standard_webhook(secret, sent.headers, sent.body) for secret in (first, second, third))

    # Past the second's hour, the first still signs (its day is not over).
    assert services.hook_signing_secrets(hook=Hook.objects.get(), now=timezone.now() + timedelta(hours=2)) == [
        third,
        first,
    ]
    assert services.hook_signing_secrets(hook=Hook.objects.get(), now=timezone.now() + timedelta(days=2)) == [third]

    api.post(f"{base}/secret/rotate")
    api.post(f"{base}/secret/rotate")
    refused = api.post(f"{base}/secret/rotate")
    assert refused.status_code == 409 and "keep_previous_seconds" in refused.json()["message"]
    dropped = api.post(f"{base}/secret/rotate", {"keep_previous_seconds": 0}, format="json")
    assert dropped.status_code == 200 and "previous_secret_until" not in dropped.json()
    assert services.hook_signing_secrets(hook=Hook.objects.get()) == [dropped.json()["secret"]]
