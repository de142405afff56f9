"""Heartbeat sweep: online/offline transitions, one alert per outage after the grace period, none
for a blink; transitions in the API; the sweep on a real Celery worker."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Guest, Notification
from accounts.services import account_settings_update, notification_send_lease
from cameras.devices import device_claim
from cameras.heartbeat import heartbeat_sweep
from cameras.models import Camera, StatusTransition
from cameras.polling import Poll, poll_record
from cameras.services import camera_record_upload
from tests.cameras.conftest import MAC_BARE, PUBLIC_IP
from tests.conftest import wait_for
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db

POLL = Poll(MAC_BARE, "Sharx", "SCNC3904", "192.168.1.51", PUBLIC_IP, "Wget")


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@pytest.fixture
def base() -> float:
    return time.time() - 5000


@pytest.fixture
def front(user, base) -> Camera:
    """The user's claimed camera "front", polling since ``base``."""
    poll_record(POLL, now=base)
    camera, _ = device_claim(owner=user, mac_address=MAC_BARE, name="front", check_near=False)
    poll_record(POLL, now=base + 1)
    return camera


def states(camera: Camera) -> list[tuple[bool, str]]:
    return [(t.is_online, t.alert) for t in StatusTransition.objects.filter(camera=camera).order_by("at", "id")]


def test_outage_alerts_once_after_the_grace_period(front, base, settings):
    grace = settings.CAMERA_ALERT_GRACE_SECONDS
    assert heartbeat_sweep(now=at(base + 10)).online == [front.pk]
    assert heartbeat_sweep(now=at(base + 60)).offline == []  # 59 s of silence is not an outage
    went = base + 1 + settings.CAMERA_OFFLINE_AFTER_SECONDS + 30
    assert heartbeat_sweep(now=at(went)).offline == [front.pk]
    assert states(front) == [(True, "none"), (False, "pending")]
    assert heartbeat_sweep(now=at(went + grace - 1)).alerted == []
    assert mail.outbox == []
    assert heartbeat_sweep(now=at(went + grace)).alerted == [front.pk]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Camera front is offline"
    assert mail.outbox[0].to == ["alice@example.com"]
    for later in (30, 60, 3600):
        heartbeat_sweep(now=at(went + grace + later))
    assert len(mail.outbox) == 1  # one alert per outage
    assert states(front) == [(True, "none"), (False, "sent")]


def test_each_new_outage_alerts_again_after_the_holdoff(front, base, settings):
    grace, holdoff = settings.CAMERA_ALERT_GRACE_SECONDS, settings.CAMERA_ALERT_HOLDOFF_SECONDS
    heartbeat_sweep(now=at(base + 10))
    heartbeat_sweep(now=at(base + 200))
    heartbeat_sweep(now=at(base + 200 + grace))
    poll_record(POLL, now=base + 1000)  # back: a poll after an outage is written at once
    assert heartbeat_sweep(now=at(base + 1010)).online == [front.pk]
    heartbeat_sweep(now=at(base + 1200))
    heartbeat_sweep(now=at(base + 1200 + grace))
    assert len(mail.outbox) == 1  # within the hold-off of the first alert: a flap, not told again
    assert [s[1] for s in states(front)] == ["none", "sent", "none", "skipped"]
    later = base + 200 + grace + holdoff
    poll_record(POLL, now=later)
    assert heartbeat_sweep(now=at(later + 10)).online == [front.pk]
    heartbeat_sweep(now=at(later + 200))
    heartbeat_sweep(now=at(later + 200 + grace))
    assert len(mail.outbox) == 2
    assert [s[0] for s in states(front)] == [True, False, True, False, True, False]


def test_a_blink_alerts_nobody(front, base, settings):
    heartbeat_sweep(now=at(base + 10))
    assert heartbeat_sweep(now=at(base + 200)).offline == [front.pk]
    poll_record(POLL, now=base + 230)
    assert heartbeat_sweep(now=at(base + 240)).online == [front.pk]
    grace_over = base + 200 + settings.CAMERA_ALERT_GRACE_SECONDS
    for t in range(260, int(grace_over - base), 30):
        poll_record(POLL, now=base + t)
    heartbeat_sweep(now=at(grace_over))
    assert mail.outbox == []
    assert states(front) == [(True, "none"), (False, "skipped"), (True, "none")]


def test_polls_held_only_in_the_cache_keep_a_camera_online(front, base, settings):
    heartbeat_sweep(now=at(base + 10))
    for t in range(31, 260, 30):
        poll_record(POLL, now=base + t)
    front.refresh_from_db()
    assert front.last_seen_at.timestamp() == pytest.approx(base + 1)  # nothing written since
    assert heartbeat_sweep(now=at(base + 280)).offline == []
    assert heartbeat_sweep(now=at(base + 241 + settings.CAMERA_OFFLINE_AFTER_SECONDS + 1)).offline == [front.pk]


def test_uploads_count_as_sights(user):
    camera = Camera.objects.create(owner=user, name="garage")
    assert heartbeat_sweep().online == []
    camera_record_upload(camera=camera, at=timezone.now())  # a heartbeat still (img_type=h) included
    assert heartbeat_sweep().online == [camera.pk]
    camera_record_upload(camera=camera, at=timezone.now() - timedelta(hours=1))  # never goes backwards
    camera.refresh_from_db()
    assert camera.last_seen_at > timezone.now() - timedelta(minutes=1)


def test_an_upload_sight_is_written_at_most_every_twentieth_of_the_offline_window(
    user, settings, django_assert_num_queries
):
    settings.CAMERA_OFFLINE_AFTER_SECONDS = 100  # sights written at most 5 s apart
    start = timezone.now()
    camera_record_upload(camera=Camera.objects.create(owner=user, name="garage"), at=start, width=640, height=480)
    camera = Camera.objects.get(owner=user, name="garage")  # as the next upload reads it
    with django_assert_num_queries(0):
        camera_record_upload(camera=camera, at=start + timedelta(seconds=4), width=640, height=480)
    with django_assert_num_queries(1):  # a new resolution is written at once
        camera_record_upload(camera=camera, at=start + timedelta(seconds=4), width=1280, height=720)
    with django_assert_num_queries(1):
        camera_record_upload(camera=camera, at=start + timedelta(seconds=5))
    camera.refresh_from_db()
    assert camera.last_seen_at == camera.last_upload_at == start + timedelta(seconds=5)
    assert (camera.resolution_width, camera.resolution_height) == (1280, 720)


def test_a_camera_back_from_an_outage_is_online_at_its_first_upload(user, settings):
    camera = Camera.objects.create(owner=user, name="garage")
    camera_record_upload(camera=camera, at=timezone.now() - timedelta(hours=1))
    assert heartbeat_sweep().offline == [] and heartbeat_sweep().online == []  # seen, but long ago
    camera = Camera.objects.get(pk=camera.pk)
    camera_record_upload(camera=camera, at=timezone.now())
    assert heartbeat_sweep().online == [camera.pk]


def test_push_preference_records_a_notification_the_api_lists(front, base, user, api, settings):
    account_settings_update(user=user, data={"notifications": {"camera_diagnostics": {"method": "PUSH"}}})
    heartbeat_sweep(now=at(base + 10))
    heartbeat_sweep(now=at(base + 200))
    heartbeat_sweep(now=at(base + 200 + settings.CAMERA_ALERT_GRACE_SECONDS))
    heartbeat_sweep(now=at(base + 900 + settings.CAMERA_ALERT_GRACE_SECONDS))
    assert mail.outbox == []
    assert Notification.objects.filter(user=user, kind="camera_diagnostics").count() == 1
    listed = api.get("/api/users/me/notifications").json()
    assert "front" in str(listed)


@pytest.mark.parametrize(
    "preference", [{"state": "OFF"}, {"options": "mute front,garage"}], ids=["notifications off", "camera muted"]
)
def test_no_alert_when_off_or_muted(front, base, user, settings, preference):
    account_settings_update(user=user, data={"notifications": {"camera_diagnostics": preference}})
    heartbeat_sweep(now=at(base + 10))
    heartbeat_sweep(now=at(base + 200))
    heartbeat_sweep(now=at(base + 200 + settings.CAMERA_ALERT_GRACE_SECONDS))
    assert mail.outbox == [] and not Notification.objects.exists()
    assert states(front)[-1] == (False, "skipped")


def test_transitions_api(front, base, api, other_api, user, other_user, django_assert_num_queries):
    heartbeat_sweep(now=at(base + 10))
    heartbeat_sweep(now=at(base + 200))
    url = "/api/users/me/cameras/front/transitions"
    with django_assert_num_queries(3):  # token, camera, transitions
        listed = api.get(url).json()
    assert [t["is_online"] for t in listed] == [False, True]  # newest first
    assert list(listed[0]) == ["is_online", "date", "last_seen", "alert", "date_alerted"]
    assert listed[0]["alert"] == "pending" and listed[0]["date"].endswith("-0000")
    # Another account: the camera does not exist for them, even by asking for it as a host.
    assert other_api.get(url).status_code == 404
    assert other_api.get(url, {"user": user.email}).status_code == 403
    # A guest of the host reads it.
    Guest.objects.create(host=user, guest=other_user)
    assert len(other_api.get(url, {"user": user.email}).json()) == 2
    assert APIClient().get(url).status_code == 401


def test_transitions_are_deleted_with_the_camera(front, base, api):
    heartbeat_sweep(now=at(base + 10))
    assert api.delete("/api/users/me/cameras/front").status_code == 204
    assert not StatusTransition.objects.exists()
    assert api.get("/api/users/me/cameras/front/transitions").status_code == 404


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)  # the worker process must see committed rows
def test_sweep_on_a_real_worker(monkeypatch, request, settings, redis_url):
    """Beat's task, run by a real worker through Redis: transitions, and one alert per outage."""
    monkeypatch.setenv("CAMERA_ALERT_GRACE_SECONDS", "0")  # read by the worker at start-up
    worker = request.getfixturevalue("celery_worker")

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    from cameras.tasks import heartbeat_sweep as task

    owner = make_user("dora", email="dora@example.com")
    make_token(owner)
    account_settings_update(user=owner, data={"notifications": {"camera_diagnostics": {"method": "PUSH"}}})
    now = timezone.now()
    coming = Camera.objects.create(owner=owner, name="coming", last_seen_at=now)
    going = Camera.objects.create(owner=owner, name="going", last_seen_at=now - timedelta(hours=1), online_state=True)

    task.delay()
    try:
        wait_for(lambda: StatusTransition.objects.count() == 2, timeout=30)
    except AssertionError:
        raise AssertionError(worker.output()) from None
    assert StatusTransition.objects.get(camera=coming).is_online is True
    wait_for(lambda: Notification.objects.filter(user=owner).count() == 1, timeout=30)
    task.delay()
    wait_for(lambda: worker.output().count("cameras.heartbeat_sweep[") >= 4, timeout=30)  # received + succeeded
    wait_for(lambda: "succeeded" in worker.output().split("cameras.heartbeat_sweep[")[-1], timeout=30)
    assert Notification.objects.filter(user=owner).count() == 1
    assert StatusTransition.objects.get(camera=going).alert == "sent"


def test_an_alert_left_being_sent_by_a_sweep_that_died_is_sent_by_a_later_one(front, base, settings):
    grace = settings.CAMERA_ALERT_GRACE_SECONDS
    heartbeat_sweep(now=at(base + 10))
    went = base + 1 + settings.CAMERA_OFFLINE_AFTER_SECONDS + 30
    heartbeat_sweep(now=at(went))
    # A sweep claimed the alert and died while sending it.
    claimed_at = at(went + grace)
    StatusTransition.objects.filter(camera=front, alert="pending").update(alert="sending", alerted_at=claimed_at)
    assert heartbeat_sweep(now=at(went + grace + 60)).alerted == []  # it may still be sending
    assert mail.outbox == [] and states(front) == [(True, "none"), (False, "sending")]
    lapsed = went + grace + notification_send_lease().total_seconds() + 1
    assert heartbeat_sweep(now=at(lapsed)).alerted == [front.pk]
    heartbeat_sweep(now=at(lapsed + 60))
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "Camera front is offline"
    assert states(front) == [(True, "none"), (False, "sent")]
