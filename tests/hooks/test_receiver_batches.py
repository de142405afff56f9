"""Deliveries batched across hooks: a task sends the due deliveries of every hook of its receiver
(scheme, host, port) on one connection, each signed with its own hook's secret."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hooks import services
from hooks.models import Delivery, Hook
from hooks.ssrf import url_origin
from tests.hooks.conftest import Receiver, Reply, make_event
from tests.hooks.test_delivery import verify_standard_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(loopback_ok):
    r = Receiver()
    yield r
    r.close()


def hooks_at(user, receiver, *paths):
    return [Hook.objects.create(owner=user, callback_url=receiver.url(p), query="people") for p in paths]


def fire(camera) -> dict[int, Delivery]:
    """One event every hook matches: its deliveries by hook id."""
    return {d.hook_id: d for d in services.hooks_fire_for_event(event=make_event(camera, ["people"]))}


def test_one_task_sends_the_due_deliveries_of_every_hook_of_its_receiver(user, camera, receiver, other):
    a, b, c = hooks_at(user, receiver, "/a", "/b", "/c")
    (elsewhere,) = hooks_at(user, other, "/x")
    rows = fire(camera)
    services.delivery_attempt(delivery_id=rows[b.pk].pk)
    # Its own delivery first, then the receiver's others, oldest first; the other receiver's is left.
    assert [r.path for r in receiver.requests] == ["/b", "/a", "/c"]
    assert len({r.peer for r in receiver.requests}) == 1  # one keep-alive connection
    for req, hook in zip(receiver.requests, (b, a, c), strict=True):
        assert req.headers["webhook-id"] == rows[hook.pk].webhook_id
        assert req.body == rows[hook.pk].body.encode()
        assert verify_standard_webhook(hook.secret, req.headers, req.body)  # each with its own hook's secret
        assert not verify_standard_webhook(a.secret if hook != a else c.secret, req.headers, req.body)
    states = dict(Delivery.objects.values_list("hook_id", "state"))
    assert states == {a.pk: "succeeded", b.pk: "succeeded", c.pk: "succeeded", elsewhere.pk: "pending"}
    assert other.requests == []
    for hook in (a, b, c):
        hook.refresh_from_db()
        assert hook.last_status == "200" and hook.last_attempt_at is not None
        (attempt,) = rows[hook.pk].attempts.all()
        assert attempt.url == hook.callback_url and attempt.succeeded and attempt.number == 1


def test_firing_queues_one_task_per_receiver(
    user, camera, receiver, other, shared_cache, published, django_capture_on_commit_callbacks
):
    hooks_at(user, receiver, "/a", "/b", "/c")
    hooks_at(user, other, "/x", "/y")
    with django_capture_on_commit_callbacks(execute=True):
        rows = fire(camera)
    assert len(published) == 2
    assert {published.kwargs[pk]["receiver"] for pk in published} == {
        f"http://127.0.0.1:{receiver.port}",
        f"http://127.0.0.1:{other.port}",
    }
    for pk in list(published):
        published.run(pk)
    assert sorted(r.path for r in receiver.requests) == ["/a", "/b", "/c"]
    assert sorted(r.path for r in other.requests) == ["/x", "/y"]
    assert set(Delivery.objects.filter(pk__in=[d.pk for d in rows.values()]).values_list("state", flat=True)) == {
        "succeeded"
    }
    # Both drains are over: nothing more was queued, and the next event queues again.
    assert len(published) == 2
    with django_capture_on_commit_callbacks(execute=True):
        fire(camera)
    assert len(published) == 4


def test_without_a_shared_cache_every_delivery_gets_its_own_task(
    user, camera, receiver, loopback_ok, published, django_capture_on_commit_callbacks
):
    # No drain slots without a cache every process sees (the embedded default's in-process one):
    # no drain end would pick up a delivery left over (e.g. by a slow receiver's claim of one).
    hooks_at(user, receiver, "/a", "/b", "/c")
    with django_capture_on_commit_callbacks(execute=True):
        rows = fire(camera)
    assert sorted(published) == sorted(d.pk for d in rows.values())
    assert all(kwargs == {} for kwargs in published.kwargs.values())


def test_a_hook_with_its_own_receiver_is_not_batched_with_another(user, camera, receiver, other):
    (a,) = hooks_at(user, receiver, "/a")
    (x,) = hooks_at(user, other, "/x")
    rows = fire(camera)
    # Same host, another port: another receiver.
    assert rows[a.pk].receiver != rows[x.pk].receiver
    services.delivery_attempt(delivery_id=rows[a.pk].pk)
    assert [r.path for r in receiver.requests] == ["/a"] and other.requests == []


def test_a_hook_moved_to_another_receiver_moves_its_deliveries(user, camera, receiver, other):
    a, b = hooks_at(user, receiver, "/a", "/b")
    rows = fire(camera)
    services.hook_update(hook=b, data={"callback_url": other.url("/b")})
    assert Delivery.objects.get(pk=rows[b.pk].pk).receiver == f"http://127.0.0.1:{other.port}"
    assert Delivery.objects.get(pk=rows[a.pk].pk).receiver == f"http://127.0.0.1:{receiver.port}"
    services.delivery_attempt(delivery_id=rows[a.pk].pk)
    assert [r.path for r in receiver.requests] == ["/a"]
    services.delivery_attempt(delivery_id=rows[b.pk].pk)
    assert [r.path for r in other.requests] == ["/b"]


def test_a_drain_goes_on_across_hooks_batch_after_batch(user, camera, receiver, loopback_ok, settings):
    settings.HOOK_BATCH_SIZE = 3
    hooks = hooks_at(user, receiver, "/a", "/b", "/c", "/d")
    first = fire(camera)
    fire(camera)
    services.delivery_attempt(delivery_id=first[hooks[0].pk].pk)
    assert len(receiver.requests) == 8
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 8
    assert Delivery.objects.filter(state="succeeded").count() == 8
    assert set(Delivery.objects.values_list("attempt_count", flat=True)) == {1}


def test_a_receiver_at_its_cap_waits_whatever_the_hook(
    user, camera, receiver, loopback_ok, settings, published, django_capture_on_commit_callbacks
):
    settings.HOOK_MAX_IN_FLIGHT_PER_RECEIVER = 1
    a, b = hooks_at(user, receiver, "/a", "/b")
    rows = fire(camera)
    # Another sender holds the receiver's one connection, with a delivery of hook a.
    now = timezone.now()
    Delivery.objects.filter(pk=rows[a.pk].pk).update(
        state="sending", origin=url_origin(a.callback_url), lease_until=now + timedelta(seconds=60), attempt_count=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.delivery_attempt(delivery_id=rows[b.pk].pk) is None
    assert receiver.requests == []
    row = Delivery.objects.get(pk=rows[b.pk].pk)
    assert row.state == "pending" and row.attempt_count == 0 and row.next_attempt_at > now
    assert published == [row.pk] and 0 < published.countdowns[row.pk] < 1  # back shortly
    # Nor does a drain start another batch while the receiver is at its cap.
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert services._claim_more(origin=url_origin(a.callback_url), now=timezone.now()) == []
    assert Delivery.objects.get(pk=row.pk).state == "pending"
    # Once the connection is free, one batch (one connection) sends both hooks' deliveries.
    Delivery.objects.filter(pk=rows[a.pk].pk).update(state="pending", origin="", lease_until=None, attempt_count=0)
    services.delivery_attempt(delivery_id=row.pk)
    assert [r.path for r in receiver.requests] == ["/b", "/a"]


def test_a_failure_in_the_middle_of_a_batch_of_several_hooks_concerns_its_hook_alone(
    user, camera, receiver, loopback_ok, django_capture_on_commit_callbacks
):
    receiver.script(Reply(200), Reply(500), Reply(404), Reply(200))
    a, b, c, d = hooks_at(user, receiver, "/a", "/b", "/c", "/d")
    Hook.objects.filter(pk=d.pk).update(failure_streak=3, failing_since=timezone.now() - timedelta(days=1))
    rows = fire(camera)
    before = timezone.now()
    with django_capture_on_commit_callbacks() as callbacks:
        services.delivery_attempt(delivery_id=rows[a.pk].pk)
    assert [r.path for r in receiver.requests] == ["/a", "/b", "/c", "/d"]
    state = {h: Delivery.objects.get(pk=rows[h.pk].pk) for h in (a, b, c, d)}
    assert (state[a].state, state[a].last_status_code) == ("succeeded", 200)
    assert (state[b].state, state[b].last_status_code, state[b].retry_index) == ("retrying", 500, 1)
    assert state[b].next_attempt_at > before
    assert (state[c].state, state[c].last_status_code, state[c].next_attempt_at) == ("failed", 404, None)
    assert (state[d].state, state[d].last_status_code) == ("succeeded", 200)
    assert len(callbacks) == 1  # b's retry
    health = {h.pk: h for h in Hook.objects.all()}
    assert (health[a.pk].last_status, health[a.pk].failure_streak, health[a.pk].failing_since) == ("200", 0, None)
    assert (health[b.pk].last_status, health[b.pk].failure_streak) == ("500", 1)
    assert health[b.pk].failing_since is not None
    assert (health[c.pk].last_status, health[c.pk].failure_streak) == ("404", 1)
    assert (health[d.pk].last_status, health[d.pk].failure_streak, health[d.pk].failing_since) == ("200", 0, None)
    assert all(h.active for h in health.values())


def test_a_410_in_a_batch_stops_that_hook_and_the_others_go_on(
    user, camera, receiver, loopback_ok, django_capture_on_commit_callbacks
):
    receiver.script(Reply(200), Reply(410), Reply(200))
    a, b, _c = hooks_at(user, receiver, "/a", "/b", "/c")
    first, second = fire(camera), fire(camera)
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_attempt(delivery_id=first[a.pk].pk)
    # a, b (410: gone), c, a again, c again; b's second delivery is not sent: cancelled by its task.
    assert [r.path for r in receiver.requests] == ["/a", "/b", "/c", "/a", "/c"]
    b.refresh_from_db()
    assert b.disabled_reason == "gone" and not b.active
    assert Delivery.objects.get(pk=first[b.pk].pk).state == "failed"
    assert Delivery.objects.get(pk=second[b.pk].pk).state == "cancelled"
    assert set(Delivery.objects.exclude(hook=b).values_list("state", flat=True)) == {"succeeded"}


def test_a_paused_hook_is_not_sent_with_its_receivers_batch(user, camera, receiver, loopback_ok):
    a, b = hooks_at(user, receiver, "/a", "/b")
    rows = fire(camera)
    services.hook_update(hook=b, data={"active": False})
    services.delivery_attempt(delivery_id=rows[a.pk].pk)
    assert [r.path for r in receiver.requests] == ["/a"]
    assert Delivery.objects.get(pk=rows[b.pk].pk).state == "pending"
    services.delivery_attempt(delivery_id=rows[b.pk].pk)  # its own task
    assert Delivery.objects.get(pk=rows[b.pk].pk).state == "cancelled"
    assert len(receiver.requests) == 1


def test_an_unreachable_receiver_gives_every_hooks_rest_back(
    user, camera, receiver, loopback_ok, django_capture_on_commit_callbacks
):
    a, b, c = hooks_at(user, receiver, "/a", "/b", "/c")
    rows = fire(camera)
    receiver.close()
    with django_capture_on_commit_callbacks() as callbacks:
        services.delivery_attempt(delivery_id=rows[a.pk].pk)
    assert Delivery.objects.get(pk=rows[a.pk].pk).state == "retrying"
    rest = Delivery.objects.filter(pk__in=[rows[b.pk].pk, rows[c.pk].pk])
    assert sorted(rest.values_list("state", "attempt_count", "lease_until")) == [("pending", 0, None)] * 2
    assert len(callbacks) == 3  # a's retry and the two given back
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.failure_streak == 1 and b.failure_streak == 0  # b was not tried


def test_rotation_co_signs_within_a_batch_of_several_hooks(user, camera, receiver, loopback_ok):
    a, b = hooks_at(user, receiver, "/a", "/b")
    old_secret = a.secret
    new_secret = services.hook_rotate_secret(hook=a)
    rows = fire(camera)
    services.delivery_attempt(delivery_id=rows[a.pk].pk)
    first, second = receiver.requests
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert verify_standard_webhook(new_secret, first.headers, first.body)
    assert verify_standard_webhook(old_secret, first.headers, first.body)
    assert len(second.headers["webhook-signature"].split(" ")) == 1  # b was not rotated
    assert verify_standard_webhook(b.secret, second.headers, second.body)


def test_https_posts_of_a_batch_share_one_client_per_host_name():
    from hooks import delivery as client
    from hooks.ssrf import CheckedTarget

    one = CheckedTarget("https", "hooks.example.com", 443, ("203.0.113.7",))
    same = CheckedTarget("https", "hooks.example.com", 443, ("203.0.113.8",))
    other = CheckedTarget("https", "other.example.com", 443, ("203.0.113.7",))  # same address
    alone, close_after = client._client_for(one)
    assert close_after  # outside a batch: a fresh connection per post, as before
    alone.close()
    with client.receiver_session():
        first, close_first = client._client_for(one)
        assert (first, close_first) == client._client_for(same)  # kept alive across the batch
        assert not close_first
        # Never a TLS connection made for one host name reused for another, even at one address.
        assert client._client_for(other)[0] is not first
    assert first.closed
