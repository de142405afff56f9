"""The analysis → events → alerts pipeline at its edges: deleted items, muted zones, merges,
mail failures, deactivated accounts, alternates, the cover among equals."""

from __future__ import annotations

import pytest

from accounts.models import Notification
from accounts.services import account_settings_update
from cameras.models import Zone
from hooks.tasks import event_labels_changed
from search.analysis import content_analyze
from search.models import Event, EventLabel, InterestLevel, ItemAnalysis
from tests.hooks.conftest import make_event
from tests.search.conftest import scene_jpeg
from uploads.models import Content
from uploads.services import content_delete

pytestmark = pytest.mark.django_db

RED = (0.40, 0.35, 0.10, 0.30, "red")
BLUE = (0.10, 0.10, 0.10, 0.20, "blue")


@pytest.fixture(autouse=True)
def _gap(settings):
    settings.EVENT_GAP_SECONDS = 30


def place(store_content, camera, seconds: float, rects=(), **fields) -> ItemAnalysis:
    return content_analyze(content_id=store_content(camera, scene_jpeg(list(rects)), at=seconds, **fields).pk)


def search(api, **params):
    response = api.get("/api/search", {"motion_type": "all", **params})
    assert response.status_code == 200, response.content
    return response.json()["result"]


# --- deleting content rebuilds (or removes) its event ------------------------------------------


def test_deleting_an_item_rebuilds_its_event(
    store_content, camera, api, admin_client, django_capture_on_commit_callbacks
):
    place(store_content, camera, 0)
    red = place(store_content, camera, 5, [RED])
    place(store_content, camera, 10)
    event = Event.objects.get()
    assert event.item_count == 3 and "_color_red" in event.labels and event.cover_id == red.pk

    with django_capture_on_commit_callbacks(execute=True):  # the content admin's delete
        response = admin_client.post(f"/admin/uploads/content/{red.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Content.objects.filter(pk=red.pk).exists()

    # The search no longer finds the event by the label of the item that is gone.
    assert search(api, labels="_color_red")["buckets"] == []
    event.refresh_from_db()
    assert event.item_count == 2
    assert "_color_red" not in event.labels
    assert "_color_red" not in set(EventLabel.objects.filter(event=event).values_list("label", flat=True))
    assert event.cover_id is not None  # one of the items left


def test_deleting_every_item_of_an_event_removes_it(store_content, camera, api, django_capture_on_commit_callbacks):
    only = place(store_content, camera, 0, [RED])
    with django_capture_on_commit_callbacks(execute=True):
        assert content_delete(contents=Content.objects.filter(pk=only.pk)) == 1
    buckets = search(api)["buckets"]
    assert buckets == [], buckets  # not the event, with no cover and no images
    assert not Event.objects.exists()


# --- Motion alerts and mute options --------------------------------------------------------------


def test_an_event_that_moves_on_from_a_muted_zone_to_another_zone_alerts(user, camera):
    account_settings_update(
        user=user,
        data={"notifications": {"motion_alerts": {"state": "ON", "method": "PUSH", "options": "mute driveway"}}},
    )
    Zone.objects.create(camera=camera, name="driveway", polygons=[])
    Zone.objects.create(camera=camera, name="porch", polygons=[])
    event = make_event(camera, ["driveway"], level=InterestLevel.LABELED)
    event_labels_changed(event.pk)  # only the muted zone so far: no alert, rightly
    assert not Notification.objects.exists()
    # The same person walks on to the porch: the event now holds motion in an unmuted zone.
    Event.objects.filter(pk=event.pk).update(labels=["driveway", "people", "porch"])
    event_labels_changed(event.pk)
    assert Notification.objects.filter(kind="motion_alerts").count() == 1


def test_merging_an_alerted_event_into_a_quiet_one_does_not_alert_again(
    user, store_content, camera, django_capture_on_commit_callbacks
):
    account_settings_update(user=user, data={"notifications": {"motion_alerts": {"state": "ON", "method": "PUSH"}}})
    with django_capture_on_commit_callbacks(execute=True):
        place(store_content, camera, 0)
        place(store_content, camera, 5)  # a quiet event: nothing to alert
        red = place(store_content, camera, 50, [RED])  # a second event, interesting: alerted
    assert red.interest_level >= InterestLevel.IMPORTANT
    assert Notification.objects.filter(kind="motion_alerts").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        bridge = place(store_content, camera, 28)  # a late quiet still joins the two
    assert Event.objects.get().pk == bridge.event_id
    # Nothing new moved: the red thing was already alerted.
    assert Notification.objects.filter(kind="motion_alerts").count() == 1


# --- Daily summary ------------------------------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_daily_summary_that_could_not_be_mailed_is_sent_by_the_next_hourly_run(user, camera, settings):
    from datetime import UTC, datetime, timedelta

    from django.core import mail

    from hooks import alerts

    account_settings_update(user=user, data={"notifications": {"camio_daily": {"state": "ON", "method": "EMAIL"}}})
    now = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
    e = make_event(camera, ["people"])
    Event.objects.filter(pk=e.pk).update(earliest_date=now - timedelta(hours=12), latest_date=now - timedelta(hours=12))
    # The mail server is down at the first run after midnight.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    assert alerts.daily_summaries_send(now=now) == 0
    # It is back an hour later: the hourly run sends the summary the first one could not.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert alerts.daily_summaries_send(now=now + timedelta(hours=1)) == 1
    assert len(mail.outbox) == 1 and "1 interesting event" in mail.outbox[0].subject


# --- Offline alerts -----------------------------------------------------------------------------


def test_a_deactivated_account_gets_no_offline_alert(user, settings):
    from datetime import timedelta

    from django.core import mail
    from django.utils import timezone

    from cameras.heartbeat import heartbeat_sweep
    from cameras.models import Camera

    now = timezone.now()
    Camera.objects.create(owner=user, name="garage", online_state=True, last_seen_at=now - timedelta(hours=1))
    user.is_active = False  # the account was closed (admin), as daily summaries already honour
    user.save(update_fields=["is_active"])
    heartbeat_sweep(now=now)
    heartbeat_sweep(now=now + timedelta(seconds=settings.CAMERA_ALERT_GRACE_SECONDS))
    assert mail.outbox == []


# --- Grouping rules -----------------------------------------------------------------------------


def test_a_late_earlier_item_as_interesting_as_the_cover_becomes_the_cover(store_content, camera):
    # search/events.py: cover = "highest level, then score, then the earliest" (event_rebuild agrees).
    later = place(store_content, camera, 10)
    earlier = place(store_content, camera, 0)
    event = Event.objects.get()
    assert (later.interest_level, later.interest_score) == (earlier.interest_level, earlier.interest_score)
    assert event.cover_id == earlier.pk


def test_an_alternate_uploaded_with_no_analysis_does_not_close_the_event_it_supports(store_content, camera):
    # options=alternate,no_analysis: an alternate (item_kind), yet _candidates/_BatchBook take the
    # one-item event it is attached to for a no_analysis item's own event, which nothing joins.
    first = place(store_content, camera, 0)
    alt = store_content(camera, scene_jpeg(), at=0, options=["alternate", "no_analysis"], alternate_of_id=first.pk)
    content_analyze(content_id=alt.pk)
    assert ItemAnalysis.objects.get(pk=alt.pk).event_id == first.event_id
    nxt = place(store_content, camera, 5, [RED])
    assert nxt.event_id == first.event_id
    assert Event.objects.count() == 1
