"""Motion alerts by account settings (EMAIL or PUSH, mute options) and the daily summary."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Notification
from accounts.services import account_settings_update, notification_send_lease
from cameras.models import Camera, Zone
from hooks import alerts
from hooks.models import DailySummary, MotionAlert
from hooks.tasks import event_labels_changed
from search.models import Event, InterestLevel
from tests.factories import make_user
from tests.hooks.conftest import make_event


@pytest.fixture(autouse=True)
def _an_alert_per_event(settings):
    # These tests are about which events alert; the per-camera cooldown has its own test.
    settings.MOTION_ALERT_COOLDOWN_SECONDS = 0


pytestmark = pytest.mark.django_db


def motion_alerts(user, method="PUSH", options="", state="ON"):
    account_settings_update(
        user=user, data={"notifications": {"motion_alerts": {"state": state, "method": method, "options": options}}}
    )


def test_push_alert_is_listed_once_per_event(user, api, camera):
    motion_alerts(user, "PUSH")
    event = make_event(camera, ["people", "approaching"])
    event_labels_changed(event.pk)
    event.labels = ["people", "approaching", "dog"]
    event.save()
    event_labels_changed(event.pk)  # relabelled: no second alert
    listed = api.get("/api/users/me/notifications").json()
    assert len(listed) == 1
    assert listed[0]["type"] == "motion_alerts" and "front" in listed[0]["title"]
    assert listed[0]["data"]["event_id"] == event.public_id


def test_email_alert(user, camera):
    motion_alerts(user, "EMAIL")
    event_labels_changed(make_event(camera, ["people"]).pk)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    assert "front" in mail.outbox[0].subject


def test_uninteresting_events_and_alerts_off_send_nothing(user, camera):
    motion_alerts(user, "PUSH")
    event_labels_changed(make_event(camera, ["leaves"], level=InterestLevel.SIGNIFICANT).pk)
    motion_alerts(user, "PUSH", state="OFF")
    event_labels_changed(make_event(camera, ["people"]).pk)
    assert not Notification.objects.exists() and not mail.outbox


def test_later_interest_alerts_then(user, camera):
    motion_alerts(user, "PUSH")
    event = make_event(camera, ["people"], level=InterestLevel.ANY)
    event_labels_changed(event.pk)
    assert not Notification.objects.exists()
    Event.objects.filter(pk=event.pk).update(max_interest_level=InterestLevel.LABELED)
    event_labels_changed(event.pk)
    assert Notification.objects.count() == 1


def test_mute_options_silence_cameras_and_zones(user, camera):
    street_cam = Camera.objects.create(owner=user, name="street")
    Zone.objects.create(camera=camera, name="window", polygons=[])
    Zone.objects.create(camera=camera, name="door", polygons=[])
    motion_alerts(user, "PUSH", options="mute street,window")
    event_labels_changed(make_event(street_cam, ["people"]).pk)  # muted camera
    event_labels_changed(make_event(camera, ["people", "window"]).pk)  # only a muted zone
    assert not Notification.objects.exists()
    event_labels_changed(make_event(camera, ["people", "window", "door"]).pk)  # also an unmuted zone
    event_labels_changed(make_event(camera, ["people"]).pk)  # no zone: the camera is not muted
    assert Notification.objects.count() == 2


def test_alerts_go_to_the_events_owner_only(user, camera):
    other = make_user("carol")
    motion_alerts(user, "PUSH")
    motion_alerts(other, "PUSH")
    event_labels_changed(make_event(camera, ["people"]).pk)
    assert list(Notification.objects.values_list("user", flat=True)) == [user.pk]


def test_daily_summary_once_per_day(user, camera):
    account_settings_update(user=user, data={"notifications": {"camio_daily": {"state": "ON", "method": "EMAIL"}}})
    silent = make_user("dave")  # camio_daily is OFF by default
    now = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
    yesterday = now - timedelta(hours=12)
    for labels in (["people"], ["people", "dog"]):
        e = make_event(camera, labels)
        Event.objects.filter(pk=e.pk).update(earliest_date=yesterday, latest_date=yesterday)
    e = make_event(camera, ["leaves"], level=InterestLevel.ANY)
    Event.objects.filter(pk=e.pk).update(earliest_date=yesterday, latest_date=yesterday)
    assert alerts.daily_summaries_send(now=now) == 1
    assert alerts.daily_summaries_send(now=now + timedelta(hours=1)) == 0  # the hourly beat again
    assert len(mail.outbox) == 1
    assert "2 interesting events" in mail.outbox[0].subject
    assert "people (2)" in mail.outbox[0].body
    assert not DailySummary.objects.filter(user=silent).exists()
    assert DailySummary.objects.get(user=user).event_count == 2


# --- a claim left by a run that died while sending ------------------------------------------------


def _claimed(event, *, ago: timedelta, method: str = "SENDING") -> MotionAlert:
    """The event's alert as a run left it: claimed ``ago``, still being sent (its worker died)."""
    alert = MotionAlert.objects.create(
        event=event,
        camera=event.camera,
        earliest_date=event.earliest_date,
        latest_date=event.latest_date,
        method=method,
    )
    MotionAlert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - ago)
    return alert


def test_a_claim_left_longer_than_the_send_lease_is_taken_over_and_sent_once(user, camera):
    motion_alerts(user, "EMAIL")
    event = make_event(camera, ["people"])
    _claimed(event, ago=notification_send_lease() + timedelta(seconds=5))
    event_labels_changed(event.pk)  # the hand-off, redelivered after the worker died
    assert len(mail.outbox) == 1 and "front" in mail.outbox[0].subject
    assert MotionAlert.objects.get(event=event).method == "EMAIL"
    event_labels_changed(event.pk)  # and once only
    assert len(mail.outbox) == 1


def test_a_claim_being_sent_is_looked_at_again_when_its_lease_ends(user, camera, monkeypatch):
    from hooks import tasks

    motion_alerts(user, "EMAIL")
    event = make_event(camera, ["people"])
    _claimed(event, ago=timedelta(seconds=30))
    queued: list[tuple] = []
    monkeypatch.setattr(tasks.motion_alert, "apply_async", lambda args, countdown: queued.append((args, countdown)))
    event_labels_changed(event.pk)
    assert not mail.outbox  # the other run may still be sending it
    [(args, countdown)] = queued
    assert args == (event.pk, 0)
    assert notification_send_lease().total_seconds() - 40 < countdown <= notification_send_lease().total_seconds()

    # That run died: when the look-again runs, its claim has lapsed.
    MotionAlert.objects.filter(event=event).update(created_at=timezone.now() - notification_send_lease())
    tasks.motion_alert(*args)
    assert len(mail.outbox) == 1 and MotionAlert.objects.get(event=event).method == "EMAIL"


def test_a_look_again_after_the_other_run_sent_sends_nothing(user, camera, monkeypatch):
    from hooks import tasks

    motion_alerts(user, "EMAIL")
    event = make_event(camera, ["people"])
    _claimed(event, ago=notification_send_lease() * 2, method="EMAIL")  # sent long ago
    queued: list[tuple] = []
    monkeypatch.setattr(tasks.motion_alert, "apply_async", lambda args, countdown: queued.append((args, countdown)))
    event_labels_changed(event.pk)
    tasks.motion_alert(event.pk, 0)
    assert not mail.outbox and not queued


def _yesterdays_events(camera, now):
    yesterday = now - timedelta(hours=12)
    for labels in (["people"], ["people", "dog"]):
        e = make_event(camera, labels)
        Event.objects.filter(pk=e.pk).update(earliest_date=yesterday, latest_date=yesterday)
    return yesterday.date()


def test_a_daily_summary_left_being_sent_is_sent_by_a_later_run(user, camera):
    account_settings_update(user=user, data={"notifications": {"camio_daily": {"state": "ON", "method": "EMAIL"}}})
    now = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
    day = _yesterdays_events(camera, now)
    claim = DailySummary.objects.create(user=user, day=day, event_count=2, method="SENDING")
    # A run claimed it moments ago and may be sending it: not sent twice.
    assert alerts.daily_summaries_send(now=now) == 0 and not mail.outbox
    # That run died: past the lease, the next hourly run sends it, once.
    DailySummary.objects.filter(pk=claim.pk).update(created_at=timezone.now() - notification_send_lease())
    assert alerts.daily_summaries_send(now=now + timedelta(hours=1)) == 1
    assert alerts.daily_summaries_send(now=now + timedelta(hours=2)) == 0
    assert len(mail.outbox) == 1 and "2 interesting events" in mail.outbox[0].subject
    assert DailySummary.objects.get(user=user, day=day).method == "EMAIL"


def test_a_daily_summary_sent_or_with_nothing_to_send_is_never_sent_again(user, camera):
    account_settings_update(user=user, data={"notifications": {"camio_daily": {"state": "ON", "method": "EMAIL"}}})
    now = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
    day = _yesterdays_events(camera, now)
    DailySummary.objects.create(user=user, day=day, event_count=2, method="EMAIL")
    DailySummary.objects.filter(user=user).update(created_at=timezone.now() - notification_send_lease() * 2)
    assert alerts.daily_summaries_send(now=now) == 0 and not mail.outbox
    other = make_user("erin", email="erin@example.com")
    account_settings_update(user=other, data={"notifications": {"camio_daily": {"state": "ON", "method": "EMAIL"}}})
    assert alerts.daily_summaries_send(now=now) == 0  # erin had no events: claimed with nothing to send
    assert DailySummary.objects.get(user=other, day=day).method == ""
    DailySummary.objects.filter(user=other).update(created_at=timezone.now() - notification_send_lease() * 2)
    assert alerts.daily_summaries_send(now=now + timedelta(hours=1)) == 0 and not mail.outbox
