"""Hooks through a real Celery worker on Redis: delivery, retries, a slow receiver, a killed worker."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cameras.models import Camera
from hooks import services
from hooks.models import Delivery, Hook
from hooks.tasks import event_labels_changed
from tests.conftest import wait_for
from tests.hooks.conftest import Receiver, Reply, make_event, spawn_worker

pytestmark = pytest.mark.worker


@pytest.fixture
def front(user):
    return Camera.objects.create(owner=user, name="front")


def test_an_event_is_delivered_by_the_worker(hooks_worker, receiver, user, front):
    Hook.objects.create(owner=user, callback_url=receiver.url(), query="front people")
    event = make_event(front, ["people", "approaching"])
    event_labels_changed.delay(event.pk)
    wait_for(lambda: Delivery.objects.filter(event=event, state="succeeded").exists(), timeout=20)
    (req,) = receiver.requests
    assert req.json()["event"]["labels"] == ["approaching", "people"]


def test_failures_are_retried_by_the_worker_with_one_webhook_id(hooks_worker, receiver, user, front):
    receiver.script(Reply(500), Reply(429, {"retry-after": "0"}), Reply(200))
    Hook.objects.create(owner=user, callback_url=receiver.url(), query="people")
    event = make_event(front, ["people"])
    event_labels_changed.delay(event.pk)
    row = wait_for(lambda: Delivery.objects.filter(event=event, state="succeeded").first(), timeout=30)
    assert row.attempt_count == 3 and len(receiver.requests) == 3
    assert {r.headers["webhook-id"] for r in receiver.requests} == {row.webhook_id}
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    assert gaps[0] >= 0.3 * 0.85 and gaps[1] >= 0.6 * 0.85  # the (test) schedule: 0.3 s, 0.6 s
    assert [a.status_code for a in row.attempts.order_by("number")] == [500, 429, 200]


def test_a_slow_receiver_does_not_hold_up_others(hooks_worker, user, front):
    slow, fast = Receiver(), Receiver()
    try:
        slow.script(Reply(200, delay=1.3))
        # One slow answer (over a second) marks the receiver slow for a while.
        Hook.objects.create(owner=user, callback_url=slow.url("/first"), query="dog")
        first = make_event(front, ["dog"])
        event_labels_changed.delay(first.pk)
        wait_for(lambda: Delivery.objects.filter(event=first, state="succeeded").exists(), timeout=20)
        # A burst: six deliveries to the slow receiver, one to another receiver, four worker threads.
        for n in range(6):
            Hook.objects.create(owner=user, callback_url=slow.url(f"/slow{n}"), query="people")
        Hook.objects.create(owner=user, callback_url=fast.url(), query="people")
        event = make_event(front, ["people"])
        sent = time.monotonic()
        event_labels_changed.delay(event.pk)
        wait_for(lambda: fast.requests, timeout=20)
        assert fast.requests[0].at - sent < 1.0  # not behind the slow sends
        burst = [r for r in slow.requests if r.path != "/first"]
        assert sum(1 for r in burst if r.at < fast.requests[0].at) <= 2  # the slow receiver's share
        wait_for(lambda: Delivery.objects.filter(event=event, state="succeeded").count() == 7, timeout=40)
        starts = sorted(r.at for r in slow.requests if r.path != "/first")
        # Never more than two at once at the slow receiver: each third one starts after one ended.
        assert all(b - a >= 1.2 for a, b in zip(starts, starts[2:], strict=False))
    finally:
        slow.close()
        fast.close()


def test_a_worker_killed_mid_delivery_loses_nothing(hooks_worker, receiver, user, front):
    receiver.script(Reply(200, delay=5), Reply(200))
    Hook.objects.create(owner=user, callback_url=receiver.url(), query="people")
    event = make_event(front, ["people"])
    event_labels_changed.delay(event.pk)
    wait_for(lambda: receiver.requests, timeout=20)
    hooks_worker.proc.kill()  # mid-delivery: the receiver holds the request
    hooks_worker.proc.wait(10)
    row = Delivery.objects.get(event=event)
    assert row.state == "sending"
    # Time passes beyond the sender's lease; the sweep (beat) hands the delivery out again.
    Delivery.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    second = spawn_worker("takeover")
    try:
        assert services.deliveries_requeue_stuck() == 1
        row = wait_for(lambda: Delivery.objects.filter(pk=row.pk, state="succeeded").first(), timeout=20)
        assert row.attempt_count == 2
        assert {r.headers["webhook-id"] for r in receiver.requests} == {row.webhook_id}
    finally:
        second.terminate()
        second.wait(15)


def test_a_burst_for_one_hook_is_delivered_once_each(hooks_worker, receiver, user, front):
    # Firing runs in the worker, whose cache is Redis: a task is queued only when no task is
    # draining the hook, which sends the hook's due deliveries in batches. Every message once.
    Hook.objects.create(owner=user, callback_url=receiver.url(), query="people")
    events = [make_event(front, ["people"]) for _ in range(40)]
    for event in events:
        event_labels_changed.delay(event.pk)
    wait_for(lambda: Delivery.objects.filter(state="succeeded").count() == 40, timeout=40)
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 40
    assert set(Delivery.objects.values_list("attempt_count", flat=True)) == {1}


def test_a_worker_killed_mid_batch_of_several_hooks_loses_nothing(hooks_worker, receiver, user, front):
    # One task claims the deliveries of four hooks of one receiver and sends them on one
    # connection; the worker dies while the receiver holds the second.
    receiver.script(Reply(200), Reply(200, delay=5), Reply(200))
    for n in range(4):
        Hook.objects.create(owner=user, callback_url=receiver.url(f"/h{n}"), query="people")
    event = make_event(front, ["people"])
    event_labels_changed.delay(event.pk)
    wait_for(lambda: len(receiver.requests) >= 2, timeout=20)
    hooks_worker.proc.kill()
    hooks_worker.proc.wait(10)
    rows = Delivery.objects.filter(event=event)
    # The batch is recorded as a whole once sent: all four are still held by the dead sender.
    assert sorted(rows.values_list("state", flat=True)) == ["sending"] * 4
    assert len(receiver.requests) == 2
    rows.update(lease_until=timezone.now() - timedelta(seconds=1))  # its lease ran out
    second = spawn_worker("takeover-batch")
    try:
        assert services.deliveries_requeue_stuck() == 4
        wait_for(lambda: rows.filter(state="succeeded").count() == 4, timeout=30)
        sent = [r.headers["webhook-id"] for r in receiver.requests]
        assert set(sent) == set(rows.values_list("webhook_id", flat=True))  # none lost
        assert len(sent) <= 6  # the two sent before the kill may come twice (at-least-once)
    finally:
        second.terminate()
        second.wait(15)
