"""Firing: which hooks fire for an event, once, with exactly the reference's payload."""

import json

import pytest

from cameras.models import Camera, Zone
from hooks import services
from hooks.models import Delivery, Hook
from hooks.tasks import event_labels_changed
from search.models import InterestLevel
from tests.factories import make_user
from tests.hooks.conftest import make_event

pytestmark = pytest.mark.django_db


def hook(owner, query, **kw):
    return Hook.objects.create(owner=owner, callback_url="http://example.com/cb", query=query, **kw)


def fired(event):
    return sorted(Delivery.objects.filter(event=event).values_list("hook__query", flat=True))


@pytest.fixture
def cameras(user):
    front = Camera.objects.create(owner=user, name="front")
    gate = Camera.objects.create(owner=user, name="gate")
    back = Camera.objects.create(owner=user, name="back")
    Zone.objects.create(camera=front, name="mailbox", polygons=[])
    Zone.objects.create(camera=back, name="street", polygons=[])
    return front, gate, back


def test_reference_query_means_front_or_gate_with_every_label(user, cameras):
    front, gate, back = cameras
    hook(user, "front gate people approaching mailbox")
    match_front = make_event(front, ["people", "approaching", "mailbox", "_color_blue"])
    match_gate = make_event(gate, ["people", "approaching", "mailbox"])
    wrong_camera = make_event(back, ["people", "approaching", "mailbox"])
    missing_label = make_event(front, ["people", "mailbox"])
    for event in (match_front, match_gate, wrong_camera, missing_label):
        services.hooks_fire_for_event(event=event)
    assert fired(match_front) == fired(match_gate) == ["front gate people approaching mailbox"]
    assert fired(wrong_camera) == fired(missing_label) == []


def test_not_colours_quotes_and_case(user, cameras):
    front, _gate, back = cameras
    hook(user, "people not street")
    hook(user, "Blue PERSON")
    hook(user, "not front dog")
    hook(user, '"delivery truck"')
    event = make_event(front, ["people", "_color_blue", "dog", "delivery truck"])
    services.hooks_fire_for_event(event=event)
    assert fired(event) == ['"delivery truck"', "Blue PERSON", "people not street"]
    street = make_event(back, ["people", "street", "dog"])
    services.hooks_fire_for_event(event=street)
    assert fired(street) == ["not front dog"]


def test_camera_name_filters_too(user, cameras):
    front, gate, _ = cameras
    hook(user, "people", camera_name="gate")
    assert services.hooks_fire_for_event(event=make_event(front, ["people"])) == []
    assert len(services.hooks_fire_for_event(event=make_event(gate, ["people"]))) == 1


def test_fires_once_per_event_not_per_image(user, cameras):
    front = cameras[0]
    h = hook(user, "people")
    late = hook(user, "people dog")
    event = make_event(front, ["people"])
    assert [d.hook_id for d in services.hooks_fire_for_event(event=event)] == [h.pk]
    # A later image adds labels: the first hook does not fire again; the second matches only now.
    event.labels = ["dog", "people", "running"]
    event.save()
    assert [d.hook_id for d in services.hooks_fire_for_event(event=event)] == [late.pk]
    assert services.hooks_fire_for_event(event=event) == []
    assert Delivery.objects.filter(event=event).count() == 2


def test_other_accounts_hooks_never_see_the_event(user, cameras):
    stranger = make_user("mallory")
    Camera.objects.create(owner=stranger, name="front")
    hook(stranger, "people")
    hook(stranger, "front")
    mine = hook(user, "people")
    event = make_event(cameras[0], ["people"])
    assert [d.hook_id for d in services.hooks_fire_for_event(event=event)] == [mine.pk]
    assert not Delivery.objects.filter(hook__owner=stranger).exists()


def test_paused_and_disabled_hooks_do_not_fire(user, cameras):
    hook(user, "people", paused=True)
    hook(user, "people", disabled_reason="gone")
    assert services.hooks_fire_for_event(event=make_event(cameras[0], ["people"])) == []


def test_cooldown_skips_events_within_it(user, cameras):
    h = hook(user, "people", cooldown_seconds=600)
    first = services.hooks_fire_for_event(event=make_event(cameras[0], ["people"]))
    second = services.hooks_fire_for_event(event=make_event(cameras[0], ["people"]))
    assert len(first) == 1 and second == []
    states = list(Delivery.objects.filter(hook=h).order_by("id").values_list("state", flat=True))
    assert states == ["pending", "skipped"]


def test_payload_is_exactly_the_reference(user, cameras):
    h = hook(user, "people")
    event = make_event(cameras[0], ["mailbox", "people", "_color_blue"])
    (row,) = services.hooks_fire_for_event(event=event)
    assert json.loads(row.body) == {
        "hook_id": str(h.pk),
        "event": {
            "id": event.public_id,
            "source": "front",
            "earliest_date": event.earliest_date.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{event.earliest_date.microsecond // 1000:03d}-0000",
            "latest_date": event.latest_date.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{event.latest_date.microsecond // 1000:03d}-0000",
            "labels": ["_color_blue", "mailbox", "people"],
        },
    }
    assert len(row.body) < 400  # no media inside


def test_the_task_fires_and_sends_after_commit(
    user, cameras, loopback_ok, receiver, django_capture_on_commit_callbacks
):
    Hook.objects.create(owner=user, callback_url=receiver.url(), query="people")
    event = make_event(cameras[0], ["people"])  # important motion
    with django_capture_on_commit_callbacks(execute=True):
        event_labels_changed(event.pk)
    assert len(receiver.requests) == 1
    assert receiver.requests[0].json()["event"]["id"] == event.public_id
    assert Delivery.objects.get(event=event).state == "succeeded"


@pytest.mark.parametrize("level", [InterestLevel.ANY, InterestLevel.SIGNIFICANT])
def test_no_callback_below_important_motion_until_the_event_rises_to_it(
    user, cameras, loopback_ok, receiver, django_capture_on_commit_callbacks, level
):
    # The reference: the hook calls back "when the camera front sees important motion, and the
    # event is labeled …"; a matching still with little or no motion is not that.
    Hook.objects.create(owner=user, callback_url=receiver.url(), query="front people")
    event = make_event(cameras[0], ["people"], level=level)
    with django_capture_on_commit_callbacks(execute=True):
        event_labels_changed(event.pk)
    assert receiver.requests == [] and not Delivery.objects.filter(event=event).exists()
    # A later item brings important motion: analysis hands the event over again and it fires, once.
    event.max_interest_level = InterestLevel.IMPORTANT
    event.save()
    with django_capture_on_commit_callbacks(execute=True):
        event_labels_changed(event.pk)
        event_labels_changed(event.pk)
    assert [r.json()["event"]["id"] for r in receiver.requests] == [event.public_id]


def test_labeled_motion_fires_too(user, cameras):
    h = hook(user, "people")
    event = make_event(cameras[0], ["people"], level=InterestLevel.LABELED)
    assert [d.hook_id for d in services.hooks_fire_for_event(event=event)] == [h.pk]


def test_a_vanished_event_is_ignored(db):
    event_labels_changed(999999)


def test_an_events_hand_off_goes_to_the_hooks_queue_not_behind_analysis():
    # Analysis works through a camera's backlog on the default queue; the hand-off of a changed
    # event (hooks, motion alert mail) must not wait behind it, nor hold it up on a slow mail server.
    from config.celery import app
    from search.events import HOOK_TASK

    router = app.amqp.router
    assert router.route({}, HOOK_TASK)["queue"].name == "hooks"
    assert router.route({}, "hooks.deliver")["queue"].name == "hooks"
    assert router.route({}, "search.analyze_content")["queue"].name == "celery"
