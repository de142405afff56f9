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

from hooks import services
from hooks.models import Delivery, Hook
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


def test_rotated_secret_signs_the_next_attempt(row, hook, receiver):
    receiver.script(Reply(500), Reply(200))
    attempt(row)
    new_secret = services.hook_rotate_secret(hook=hook)
    make_due(row)
    attempt(row)
    assert verify_standard_webhook(new_secret, receiver.requests[1].headers, receiver.requests[1].body)


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
