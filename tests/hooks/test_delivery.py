"""Delivery against real loopback receivers: signing, outcomes, the retry schedule, disabling."""

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from hooks import delivery as delivery_client
from hooks import services
from hooks.models import Delivery, Hook
from hooks.ssrf import url_origin
from tests.hooks.conftest import SHORT_SCHEDULE, Reply, make_event

pytestmark = pytest.mark.django_db


def verify_standard_webhook(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> bool:
    """A receiver's check, written from the Standard Webhooks spec (not from our signer)."""
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(
        hmac.new(key, msg_id.encode() + b"." + stamp.encode() + b"." + body, hashlib.sha256).digest()
    )
    for candidate in headers["webhook-signature"].split(" "):
        version, _, sig = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), expected):
            return True
    return False


@pytest.fixture
def hook(user, camera, receiver, loopback_ok):
    return Hook.objects.create(owner=user, callback_url=receiver.url(), query="people")


@pytest.fixture
def row(hook, camera):
    (d,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
    return d


def attempt(row):
    services.delivery_attempt(delivery_id=row.pk)
    row.refresh_from_db()
    return row


def make_due(row):
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())


def test_success_is_signed_the_standard_webhooks_way(row, hook, receiver):
    attempt(row)
    assert row.state == "succeeded" and row.attempt_count == 1
    (req,) = receiver.requests
    assert req.headers["content-type"] == "application/json"
    assert req.headers["webhook-id"] == row.webhook_id
    assert req.body == row.body.encode()
    assert verify_standard_webhook(hook.secret, req.headers, req.body)
    assert not verify_standard_webhook(hook.secret, req.headers, req.body + b" ")
    assert not verify_standard_webhook("whsec_" + base64.b64encode(b"other-key").decode(), req.headers, req.body)
    assert "camhub" in req.headers["user-agent"]
    hook.refresh_from_db()
    assert hook.last_status == "200" and hook.failure_streak == 0


def test_5xx_retries_on_the_schedule_with_the_same_webhook_id(row, hook, receiver):
    receiver.script(Reply(500), Reply(503), Reply(204))
    before = timezone.now()
    attempt(row)
    assert row.state == "retrying" and row.last_status_code == 500
    wait = (row.next_attempt_at - before).total_seconds()
    assert SHORT_SCHEDULE[0] * 0.85 <= wait <= SHORT_SCHEDULE[0] * 1.15 + 1
    # An early copy of the task (not yet due) does nothing.
    attempt(row)
    assert len(receiver.requests) == 1
    make_due(row)
    attempt(row)
    make_due(row)
    attempt(row)
    assert row.state == "succeeded" and row.attempt_count == 3
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert ids == {row.webhook_id}
    assert all(verify_standard_webhook(hook.secret, r.headers, r.body) for r in receiver.requests)
    assert [a.status_code for a in row.attempts.order_by("number")] == [500, 503, 204]


def test_retries_stop_after_the_schedule(row, receiver):
    receiver.script(Reply(502))
    for _ in range(len(SHORT_SCHEDULE) + 1):
        make_due(row)
        attempt(row)
    assert row.state == "failed" and row.attempt_count == len(SHORT_SCHEDULE) + 1
    make_due(row)
    attempt(row)
    assert len(receiver.requests) == len(SHORT_SCHEDULE) + 1


def test_the_production_schedule_is_about_28_hours(settings):
    del settings.HOOK_RETRY_SCHEDULE_SECONDS
    assert services.retry_schedule() == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert 27 * 3600 < sum(services.retry_schedule()) < 28 * 3600


def test_429_honours_retry_after(row, receiver):
    receiver.script(Reply(429, {"retry-after": "120"}))
    before = timezone.now()
    attempt(row)
    assert row.state == "retrying"
    assert (row.next_attempt_at - before).total_seconds() >= 119


@pytest.mark.parametrize("value", ["\u00b2", "soon", "-5", "1e3"])
def test_a_nonsense_retry_after_falls_back_on_the_schedule(row, receiver, value):
    receiver.script(Reply(429, {"retry-after": value}))
    before = timezone.now()
    attempt(row)
    assert row.state == "retrying" and row.attempt_count == 1
    assert row.next_attempt_at > before
    assert row.attempts.count() == 1


def test_410_disables_the_hook(row, hook, receiver):
    receiver.script(Reply(410))
    attempt(row)
    hook.refresh_from_db()
    assert row.state == "failed" and hook.disabled_reason == "gone" and not hook.active


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_fail_without_retry(row, receiver, status):
    receiver.script(Reply(status))
    attempt(row)
    assert row.state == "failed" and row.last_status_code == status and row.next_attempt_at is None


def test_a_redirect_is_a_failure_and_is_not_followed(row, receiver):
    receiver.script(Reply(301, {"location": receiver.url("/elsewhere")}))
    attempt(row)
    assert row.state == "failed" and "not followed" in row.last_error
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_a_receiver_that_hangs_times_out_and_is_retried(row, receiver):
    receiver.script(Reply(200, delay=3))
    started = time.monotonic()
    attempt(row)
    assert time.monotonic() - started < 2.5  # HOOK_TIMEOUT_SECONDS = 1
    assert row.state == "retrying" and "timeout" in row.last_error


def test_a_closed_port_is_a_network_error_retried(hook, row, receiver):
    receiver.close()
    attempt(row)
    assert row.state == "retrying" and row.last_status_code is None and row.last_error


def test_rotated_secret_signs_the_next_attempt_and_the_old_one_overlaps(row, hook, receiver):
    receiver.script(Reply(500), Reply(500), Reply(200))
    attempt(row)
    old_secret = hook.secret
    new_secret = services.hook_rotate_secret(hook=hook)
    make_due(row)
    attempt(row)
    # During the overlap both sign: a receiver still on the old secret accepts, so does one on the new.
    second = receiver.requests[1]
    assert len(second.headers["webhook-signature"].split(" ")) == 2
    assert verify_standard_webhook(new_secret, second.headers, second.body)
    assert verify_standard_webhook(old_secret, second.headers, second.body)
    # Once the overlap is over, only the new secret signs.
    Hook.objects.filter(pk=hook.pk).update(previous_secret_until=timezone.now() - timedelta(seconds=1))
    make_due(row)
    attempt(row)
    third = receiver.requests[2]
    assert verify_standard_webhook(new_secret, third.headers, third.body)
    assert not verify_standard_webhook(old_secret, third.headers, third.body)


def test_rotation_without_overlap_drops_the_old_secret_at_once(row, hook, receiver):
    old_secret = hook.secret
    new_secret = services.hook_rotate_secret(hook=hook, keep_previous_seconds=0)
    attempt(row)
    (req,) = receiver.requests
    assert verify_standard_webhook(new_secret, req.headers, req.body)
    assert not verify_standard_webhook(old_secret, req.headers, req.body)


def test_paused_hooks_cancel_their_pending_deliveries(row, hook, receiver):
    services.hook_update(hook=hook, data={"active": False})
    attempt(row)
    assert row.state == "cancelled" and receiver.requests == []


def test_redeliver_sends_again_with_the_same_id_and_a_fresh_signature(row, hook, receiver):
    attempt(row)
    services.delivery_redeliver(delivery=row)
    attempt(row)
    assert row.state == "succeeded" and row.attempt_count == 2
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == row.webhook_id
    assert verify_standard_webhook(hook.secret, second.headers, second.body)


def test_five_days_of_failures_disable_the_hook_and_email_the_owner(row, hook, receiver, user):
    receiver.script(Reply(500))
    attempt(row)
    hook.refresh_from_db()
    assert hook.failure_streak == 1 and hook.failing_since is not None
    assert services.hooks_disable_failing() == []
    Hook.objects.filter(pk=hook.pk).update(failing_since=timezone.now() - timedelta(days=5, minutes=1))
    assert [h.pk for h in services.hooks_disable_failing()] == [hook.pk]
    hook.refresh_from_db()
    assert hook.disabled_reason == "failing"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    assert receiver.url() in mail.outbox[0].body
    assert services.hooks_disable_failing() == []  # once
    make_due(row)
    attempt(row)
    assert row.state == "cancelled"


def test_a_success_clears_the_failure_streak(row, hook, receiver):
    receiver.script(Reply(500), Reply(200))
    attempt(row)
    make_due(row)
    attempt(row)
    hook.refresh_from_db()
    assert hook.failure_streak == 0 and hook.failing_since is None and hook.last_status == "200"


def test_a_sender_that_died_leaves_a_lease_the_sweep_hands_out(row, receiver, django_capture_on_commit_callbacks):
    Delivery.objects.filter(pk=row.pk).update(state="sending", lease_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliveries_requeue_stuck() == 1
    row.refresh_from_db()
    assert row.state == "succeeded" and len(receiver.requests) == 1


def test_payload_json_round_trips(row, receiver):
    attempt(row)
    assert json.loads(receiver.requests[0].body)["hook_id"] == str(row.hook_id)


class DripReceiver:
    """A raw TCP receiver that reads the request, then answers a byte at a time (a slow drip)."""

    def __init__(self, answer: bytes, *, every: float = 0.2) -> None:
        import socket
        import threading

        self.answer, self.every = answer, every
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                conn.recv(65536)
                for byte in self.answer:
                    conn.sendall(bytes([byte]))
                    time.sleep(self.every)
            except OSError:
                pass
            finally:
                conn.close()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.sock.close()


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_total_timeout(loopback_ok):
    # Every read succeeds within the per-read timeout, but the attempt as a whole must stop at 1 s.
    drip = DripReceiver(b"HTTP/1.1 200 OK\r\n" + b"x-pad: " + b"a" * 200 + b"\r\n\r\n", every=0.05)
    try:
        started = time.monotonic()
        result = delivery_client.post(url=drip.url(), secrets=["whsec_QUFBQQ=="], msg_id="msg_drip", body="{}")
        took = time.monotonic() - started
    finally:
        drip.close()
    assert took < 1.6, took  # HOOK_TIMEOUT_SECONDS = 1, not 1 s per byte
    assert not result.ok and result.retry and result.error.startswith("timeout")


def test_a_2xx_whose_body_stalls_is_still_a_success(loopback_ok):
    drip = DripReceiver(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + b"b" * 100, every=0.02)
    try:
        started = time.monotonic()
        result = delivery_client.post(url=drip.url(), secrets=["whsec_QUFBQQ=="], msg_id="msg_drip", body="{}")
    finally:
        drip.close()
    assert time.monotonic() - started < 1.6
    assert result.ok and result.status_code == 200


def test_the_reference_library_verifies_our_signatures(row, hook, receiver):
    """The Standard Webhooks project's own verifier (PyPI ``standardwebhooks``) accepts our requests,
    before and during a rotation's overlap; skipped where the package is not installed."""
    webhooks = pytest.importorskip("standardwebhooks.webhooks")
    receiver.script(Reply(500), Reply(200))
    attempt(row)
    old_secret = hook.secret
    new_secret = services.hook_rotate_secret(hook=hook)
    make_due(row)
    attempt(row)
    first, second = receiver.requests
    assert webhooks.Webhook(old_secret).verify(first.body, first.headers) == json.loads(row.body)
    for secret in (old_secret, new_secret):
        assert webhooks.Webhook(secret).verify(second.body, second.headers) == json.loads(row.body)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.Webhook(new_secret).verify(first.body, first.headers)


def burst(hook, camera, n):
    """N due deliveries of one hook, as a burst of events leaves them."""
    rows = []
    for _ in range(n):
        (d,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
        rows.append(d)
    return rows


def test_a_burst_for_one_hook_goes_out_in_one_batch(hook, camera, receiver, django_assert_max_num_queries):
    rows = burst(hook, camera, 5)
    with django_assert_max_num_queries(14):  # not ~10 per message
        services.delivery_attempt(delivery_id=rows[2].pk)
    assert len(receiver.requests) == 5
    assert receiver.requests[0].headers["webhook-id"] == rows[2].webhook_id  # its own first
    assert {r.headers["webhook-id"] for r in receiver.requests} == {d.webhook_id for d in rows}
    assert all(verify_standard_webhook(hook.secret, r.headers, r.body) for r in receiver.requests)
    for d in rows:
        d.refresh_from_db()
        assert (d.state, d.attempt_count, d.attempts.count()) == ("succeeded", 1, 1)
    # The other rows' own tasks then find nothing to do.
    for d in rows:
        assert services.delivery_attempt(delivery_id=d.pk) is None
    assert len(receiver.requests) == 5


def test_only_the_first_row_of_a_batch_counts_as_a_connection_in_flight(hook, camera, receiver, monkeypatch):
    rows = burst(hook, camera, 3)
    seen = []
    real_post = delivery_client.post

    def post(**kwargs):
        seen.append(list(Delivery.objects.filter(state="sending").exclude(origin="").values_list("pk", flat=True)))
        return real_post(**kwargs)

    monkeypatch.setattr(delivery_client, "post", post)
    services.delivery_attempt(delivery_id=rows[0].pk)
    assert seen == [[rows[0].pk]] * 3


def test_a_batch_stops_at_an_unreachable_receiver_and_gives_the_rest_back(
    hook, camera, receiver, django_capture_on_commit_callbacks
):
    rows = burst(hook, camera, 4)
    receiver.close()
    with django_capture_on_commit_callbacks() as callbacks:
        services.delivery_attempt(delivery_id=rows[0].pk)
    first = Delivery.objects.get(pk=rows[0].pk)
    assert first.state == "retrying" and first.attempt_count == 1
    rest = Delivery.objects.filter(pk__in=[d.pk for d in rows[1:]])
    # Not tried, not counted, due now, each with a task of its own again.
    assert sorted(rest.values_list("state", "attempt_count", "lease_until")) == [("pending", 0, None)] * 3
    assert len(callbacks) == 4  # the first's retry and the three given back


def test_a_batch_stops_after_a_slow_send(hook, camera, receiver, settings):
    settings.HOOK_TIMEOUT_SECONDS = 3
    receiver.script(Reply(200, delay=1.2), Reply(200))
    rows = burst(hook, camera, 3)
    services.delivery_attempt(delivery_id=rows[0].pk)
    assert len(receiver.requests) == 1
    states = dict(Delivery.objects.filter(pk__in=[d.pk for d in rows]).values_list("pk", "state"))
    assert states == {rows[0].pk: "succeeded", rows[1].pk: "pending", rows[2].pk: "pending"}


def test_a_failure_after_a_success_in_a_batch_restarts_the_streak(hook, camera, receiver):
    Hook.objects.filter(pk=hook.pk).update(failure_streak=7, failing_since=timezone.now() - timedelta(days=1))
    receiver.script(Reply(200), Reply(404))
    rows = burst(hook, camera, 2)
    services.delivery_attempt(delivery_id=rows[0].pk)
    hook.refresh_from_db()
    assert hook.failure_streak == 1 and hook.last_status == "404"
    assert timezone.now() - hook.failing_since < timedelta(minutes=1)


def test_batching_can_be_turned_off(hook, camera, receiver, settings):
    settings.HOOK_BATCH_SIZE = 1
    rows = burst(hook, camera, 3)
    services.delivery_attempt(delivery_id=rows[0].pk)
    assert len(receiver.requests) == 1


def test_a_burst_queues_one_task_while_its_receiver_is_drained(
    hook, camera, receiver, shared_cache, published, settings, django_capture_on_commit_callbacks
):
    settings.HOOK_DRAINS_PER_RECEIVER = 1
    with django_capture_on_commit_callbacks(execute=True):
        rows = burst(hook, camera, 5)
    assert published == [rows[0].pk]  # the others are left to the task draining the receiver
    assert published.kwargs[rows[0].pk] == {"receiver": url_origin(hook.callback_url), "drain_slot": 0}
    published.run(rows[0].pk)
    assert len(receiver.requests) == 5
    assert set(Delivery.objects.values_list("state", flat=True)) == {"succeeded"}
    # The drain is over: the next event queues a task of its own again.
    with django_capture_on_commit_callbacks(execute=True):
        (late,) = burst(hook, camera, 1)
    assert published == [rows[0].pk, late.pk]


def test_a_burst_queues_at_most_one_task_per_drain_slot(
    hook, camera, receiver, shared_cache, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rows = burst(hook, camera, 7)
    slots = services.drains_per_receiver()
    assert published == [r.pk for r in rows[:slots]]
    assert sorted(published.kwargs[pk]["drain_slot"] for pk in published) == list(range(slots))


def test_a_delivery_fired_while_its_receiver_is_drained_is_picked_up_when_the_drain_ends(
    hook, camera, receiver, shared_cache, published, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    for slot in range(services.drains_per_receiver()):  # other tasks are draining the receiver
        cache.add(services._drain_key(url_origin(hook.callback_url), slot), 1, 30)
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = burst(hook, camera, 1)
    assert published == []
    # One of them lets go of its slot, then finds the new delivery and queues it (taking the slot).
    services._drain_end(url_origin(hook.callback_url), 2, timezone.now())
    assert published == [row.pk]
    assert published.kwargs[row.pk] == {"receiver": url_origin(hook.callback_url), "drain_slot": 2}


def test_a_drain_sends_batch_after_batch(hook, camera, receiver, settings):
    settings.HOOK_BATCH_SIZE = 3
    rows = burst(hook, camera, 8)
    services.delivery_attempt(delivery_id=rows[0].pk)
    assert len(receiver.requests) == 8
    assert Delivery.objects.filter(state="succeeded").count() == 8


def test_a_drain_stops_when_the_hook_is_paused(hook, camera, receiver, settings, monkeypatch):
    settings.HOOK_BATCH_SIZE = 2
    rows = burst(hook, camera, 6)
    real_post = delivery_client.post

    def post(**kwargs):
        if len(receiver.requests) == 1:
            Hook.objects.filter(pk=hook.pk).update(paused=True)
        return real_post(**kwargs)

    monkeypatch.setattr(delivery_client, "post", post)
    services.delivery_attempt(delivery_id=rows[0].pk)
    assert len(receiver.requests) == 2  # the batch under way ends; no further batch starts
