"""Defects a review found in the hooks area (label_hit hooks as a partner uses them), fixed.

1. A receiver answering 2xx with a NUL byte in its body was called again and again (PostgreSQL).
2. A date in a hook query became labels every event had to carry, so the hook never fired.
3. Events merged by a late image called back twice for the same motion.
4. A paused hook was disabled as "failing" and its owner told every delivery failed.
5. Skipped deliveries were never pruned.
6. Deliveries still to be sent when their camera was deleted were sent anyway.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cameras.models import Camera
from hooks import services
from hooks.models import Delivery, Hook
from hooks.tasks import event_labels_changed
from search.analysis import content_analyze
from tests.hooks.conftest import Reply, make_event
from tests.search.conftest import scene_jpeg, store_content  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

URL = "/api/users/me/hooks"
RED = (0.40, 0.35, 0.10, 0.30, "red")
BLUE = (0.10, 0.10, 0.10, 0.20, "blue")


@pytest.mark.parametrize("query", ["front people yesterday", "front people 7pm to 9pm", "front people since 7am"])
def test_a_date_in_a_hook_query_is_ignored_not_required_as_a_label(
    api, camera, receiver, loopback_ok, django_capture_on_commit_callbacks, query
):
    """The partner creates a hook whose query carries date words (the same language as search's
    ``text``), then the front camera sees a person with important motion.

    Used to: the API accepted the hook but kept the date words as *labels* every event had to carry
    ("yesterday", "7pm", "to", "9pm", "since", "7am"), so the hook never fired.

    Now: as the hooks documentation says, "dates are ignored (a hook is a standing condition)": the
    dates are read and dropped, the hook means "front people" and fires; the query is echoed as
    written.
    """
    created = api.post(URL, {"callback_url": receiver.url(), "type": "label_hit", "query": query}, format="json")
    assert created.status_code == 200, created.content
    assert created.json()["query"] == query
    event = make_event(camera, ["people"])
    with django_capture_on_commit_callbacks(execute=True):
        event_labels_changed(event.pk)
    assert [r.json()["event"]["id"] for r in receiver.requests] == [event.public_id]


@pytest.mark.parametrize(("query", "words"), [("people 13pm", "13pm"), ("people feb 30", "feb 30")])
def test_a_hook_query_with_a_date_that_is_none_is_refused(api, camera, query, words):
    """Since dates are read in hook queries: a word shaped like a date that is none is a 400 naming
    it (as search refuses it), not a label no event carries."""
    created = api.post(
        URL, {"callback_url": "http://example.com/h", "type": "label_hit", "query": query}, format="json"
    )
    assert created.status_code == 400
    assert words in created.json()["message"]


def test_a_hook_query_of_a_date_alone_is_refused(api, camera):
    """Dates dropped, nothing is left to match: the 400 asks for a camera, zone or label."""
    created = api.post(
        URL, {"callback_url": "http://example.com/h", "type": "label_hit", "query": "yesterday"}, format="json"
    )
    assert created.status_code == 400
    assert "camera, zone or label" in created.json()["message"]


def test_a_paused_hook_is_not_disabled_as_failing_nor_its_owner_told_every_delivery_failed(
    api, user, camera, receiver, loopback_ok
):
    """The receiver answers 500 once; the partner pauses the hook (PATCH active: false) while
    they fix it, and nothing is sent to it from then on. Six days later the hourly sweep runs.

    Used to: the sweep counted the paused days as days of failure: the hook came back as
    ``disabled_reason: "failing"`` and the owner got a mail saying every delivery had failed for six
    days, although no delivery was attempted while the hook was paused.

    Now: "A hook whose every attempt failed for 5 days is disabled" (QUERY_GRAMMAR); a paused hook
    makes no attempts, so it is neither disabled nor its owner mailed.
    """
    hook = api.post(URL, {"callback_url": receiver.url(), "type": "label_hit", "query": "people"}, format="json")
    hook_id = hook.json()["id"]
    receiver.script(Reply(500))
    (row,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
    services.delivery_attempt(delivery_id=row.pk)
    assert api.get(f"{URL}/{hook_id}").json()["failure_streak"] == 1
    assert api.patch(f"{URL}/{hook_id}", {"active": False}, format="json").status_code == 200

    services.hooks_disable_failing(now=timezone.now() + timedelta(days=6))

    body = api.get(f"{URL}/{hook_id}").json()
    assert body["disabled_reason"] is None
    assert mail.outbox == []


def test_a_hook_resumed_after_days_paused_is_not_disabled_at_its_first_failure(
    api, user, camera, receiver, loopback_ok
):
    """A hook failing once, paused, resumed six days later, fails once more: the days it was paused
    are no days of failure (its failure clock restarts when it resumes), so the sweep keeps it on
    until it has failed for 5 days from then."""
    hook_id = api.post(URL, {"callback_url": receiver.url(), "type": "label_hit", "query": "people"}, format="json")
    hook_id = hook_id.json()["id"]
    receiver.script(Reply(500))
    (row,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
    services.delivery_attempt(delivery_id=row.pk)
    assert api.patch(f"{URL}/{hook_id}", {"active": False}, format="json").status_code == 200
    Hook.objects.filter(pk=hook_id).update(failing_since=timezone.now() - timedelta(days=6))  # paused six days
    assert api.patch(f"{URL}/{hook_id}", {"active": True}, format="json").json()["failure_streak"] == 0

    (row,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
    services.delivery_attempt(delivery_id=row.pk)
    services.hooks_disable_failing()
    assert api.get(f"{URL}/{hook_id}").json()["disabled_reason"] is None

    services.hooks_disable_failing(now=timezone.now() + timedelta(days=6))
    assert api.get(f"{URL}/{hook_id}").json()["disabled_reason"] == "failing"
    assert len(mail.outbox) == 1


def test_events_merged_by_a_late_image_do_not_call_back_twice_for_the_same_motion(
    user,
    camera,
    receiver,
    loopback_ok,
    store_content,  # noqa: F811 (the fixture imported above)
    settings,
    django_capture_on_commit_callbacks,
):
    """A hook ``blue``. The front camera sees a red object (event A), then 50 s later a blue one
    (event B): the receiver gets one callback for B. A late image at 28 s bridges them, so B is
    merged into A (B disappears; A now spans 0-50 s and carries the blue label).

    Used to: the merged event A, handed to hooks again with no delivery of its own, fired the hook a
    second time: two callbacks for the same blue motion, under two event ids and two ``webhook-id``s
    (so the documented de-duplication on webhook-id could not help).

    Now: "A hook fires once per event"; a delivery keeps its event's camera and span, and the event
    a merge leaves does not fire a hook that already called back about motion within it (as motion
    alerts do).
    """
    settings.EVENT_GAP_SECONDS = 30
    Hook.objects.create(owner=user, callback_url=receiver.url(), query="blue")

    def place(seconds, rects):
        with django_capture_on_commit_callbacks(execute=True):
            content_analyze(content_id=store_content(camera, scene_jpeg(list(rects)), at=seconds).pk)

    place(0, [])
    place(5, [RED])
    place(50, [BLUE])
    assert len(receiver.requests) == 1  # event B, blue
    place(28, [RED])  # bridges A and B: one event left
    assert len(receiver.requests) == 1, [r.json()["event"] for r in receiver.requests]


def test_a_callback_retrying_when_its_event_merges_away_is_still_delivered_once(
    user,
    camera,
    receiver,
    loopback_ok,
    store_content,  # noqa: F811 (the fixture imported above)
    settings,
    published,
    django_capture_on_commit_callbacks,
):
    """As above, but the receiver answers B's callback with a 500: the delivery is retrying when the
    late image merges B into A. Its retry still goes out (its camera is there: only a deleted
    camera cancels a delivery whose event is gone), with B's message, and A fires nothing new."""
    settings.EVENT_GAP_SECONDS = 30
    hook = Hook.objects.create(owner=user, callback_url=receiver.url(), query="blue")
    receiver.script(Reply(500), Reply(200))

    def place(seconds, rects):
        with django_capture_on_commit_callbacks(execute=True):
            content_analyze(content_id=store_content(camera, scene_jpeg(list(rects)), at=seconds).pk)

    place(0, [])
    place(5, [RED])
    place(50, [BLUE])
    (delivery_id,) = published
    published.run(delivery_id)
    assert Delivery.objects.get(pk=delivery_id).state == "retrying"
    place(28, [RED])
    assert list(Delivery.objects.filter(hook=hook).values_list("pk", flat=True)) == [delivery_id]

    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())
    published.run(delivery_id)
    assert Delivery.objects.get(pk=delivery_id).state == "succeeded"
    assert [r.headers["webhook-id"] for r in receiver.requests] == [Delivery.objects.get(pk=delivery_id).webhook_id] * 2


def test_skipped_deliveries_are_pruned_with_the_other_finished_ones(api, camera, receiver, loopback_ok):
    """A hook with ``cooldown_seconds``: two matching events a moment apart; the first is sent
    (succeeded), the second is recorded as ``skipped`` (within the cooldown). The daily prune runs
    31 days later.

    Used to: the succeeded delivery was pruned but the skipped one kept forever (the prune took only
    succeeded, failed and cancelled): a cooldown hook on a busy camera piled up a row per event.

    Now: a skipped delivery is finished (never to be sent) and goes after
    HOOK_DELIVERY_RETENTION_DAYS with the others.
    """
    created = api.post(
        URL,
        {"callback_url": receiver.url(), "type": "label_hit", "query": "people", "cooldown_seconds": 600},
        format="json",
    ).json()
    (sent,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
    services.delivery_attempt(delivery_id=sent.pk)
    assert services.hooks_fire_for_event(event=make_event(camera, ["people"])) == []  # skipped
    listed = api.get(f"{URL}/{created['id']}/deliveries").json()
    assert sorted(d["state"] for d in listed) == ["skipped", "succeeded"]

    services.deliveries_prune(now=timezone.now() + timedelta(days=31))

    assert api.get(f"{URL}/{created['id']}/deliveries").json() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_receiver_answering_with_a_nul_byte_gets_the_callback_once_and_it_is_recorded(
    postgresql, api, camera, receiver, loopback_ok, published
):
    """The partner's receiver answers ``200`` with a body holding a NUL byte (a binary or
    compressed answer, a C string with its terminator: receivers answer what they like).

    Used to (PostgreSQL, the production database): the POST went out, then recording the attempt
    failed (PostgreSQL text cannot hold NUL), the delivery stayed "sending" and the stuck-delivery
    sweep handed it out again after its lease: the receiver was called again and again.

    Now: "any 2xx is success": the delivery is recorded as succeeded once (the excerpt is cleaned
    of what the database cannot store).
    """
    created = api.post(URL, {"callback_url": receiver.url(), "type": "label_hit", "query": "people"}, format="json")
    receiver.script(Reply(200, body=b"ok\x00\x01binary"))
    (row,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))

    def deliver_task(delivery_id):
        # As a worker runs hooks.deliver: an error is logged and the task ends; the row stays.
        with contextlib.suppress(Exception):
            services.delivery_attempt(delivery_id=delivery_id)

    deliver_task(row.pk)
    # A minute later the row's lease is over; beat's sweep hands out what is still "sending".
    Delivery.objects.filter(pk=row.pk, state="sending").update(lease_until=timezone.now() - timedelta(seconds=1))
    if services.deliveries_requeue_stuck():
        deliver_task(row.pk)

    listed = api.get(f"{URL}/{created.json()['id']}/deliveries").json()
    assert [(d["state"], d["status_code"]) for d in listed] == [("succeeded", 200)]
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("batched", [False, True])
def test_deliveries_still_to_be_sent_when_their_camera_is_deleted_are_cancelled(
    api, user, camera, receiver, loopback_ok, batched
):
    """The front camera's callback waits for a retry (or is due, in a batch with the back camera's)
    when the owner deletes the camera (with its events).

    Used to: the delivery was sent anyway, about an event and a camera that no longer existed.

    Now: as for a deactivated account, it is cancelled ("camera deleted") and not sent; the
    deliveries of the owner's other cameras go out as before.
    """
    hook = api.post(URL, {"callback_url": receiver.url(), "type": "label_hit", "query": "people"}, format="json")
    hook_id = hook.json()["id"]
    back = Camera.objects.create(owner=user, name="back")
    if batched:
        (gone,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
    else:
        receiver.script(Reply(500), Reply(200))
        (gone,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
        services.delivery_attempt(delivery_id=gone.pk)
        assert Delivery.objects.get(pk=gone.pk).state == "retrying"
        Delivery.objects.filter(pk=gone.pk).update(next_attempt_at=timezone.now())
    (kept,) = services.hooks_fire_for_event(event=make_event(back, ["people"]))
    sent_before = len(receiver.requests)

    assert api.delete("/api/users/me/cameras/front").status_code == 204
    services.delivery_attempt(delivery_id=kept.pk)  # batched: its claim would take the other along
    services.delivery_attempt(delivery_id=gone.pk)

    states = {d["id"]: (d["state"], d["error"]) for d in api.get(f"{URL}/{hook_id}/deliveries").json()}
    assert states == {kept.webhook_id: ("succeeded", None), gone.webhook_id: ("cancelled", "camera deleted")}
    assert [r.headers["webhook-id"] for r in receiver.requests[sent_before:]] == [kept.webhook_id]


def test_the_admin_page_of_a_delivery_whose_camera_was_deleted_still_shows(admin_client, api, camera):
    """A delivery keeps its camera's id after the camera goes (its record outlives it): the admin
    page still opens, showing no camera."""
    api.post(URL, {"callback_url": "http://example.com/h", "type": "label_hit", "query": "people"}, format="json")
    (row,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
    assert api.delete("/api/users/me/cameras/front").status_code == 204

    page = admin_client.get(f"/admin/hooks/delivery/{row.pk}/change/")
    assert page.status_code == 200
    assert row.webhook_id in page.content.decode()
