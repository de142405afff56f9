"""What one successful delivery costs in database round trips, pinned so it cannot silently grow back.

Inside a test every ``transaction.atomic`` becomes a savepoint, which the capture logs: the counts
below therefore include the equivalent of BEGIN/COMMIT round trips of production.

Batching across the hooks of a receiver (2026-12-01, 22:50) left the counts of one delivery and of
a burst of one hook as they were: the claim statement selects by receiver instead of by hook, the
record statement writes the health of each hook of the batch, in the same round trips.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hooks import services
from hooks.models import Delivery, DeliveryAttempt, Hook
from tests.hooks.conftest import make_event

pytestmark = pytest.mark.django_db


def test_one_successful_delivery_costs_a_pinned_number_of_queries(user, camera, receiver, loopback_ok):
    hook = Hook.objects.create(owner=user, callback_url=receiver.url(), query="people")
    (row,) = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
    with CaptureQueriesContext(connection) as ctx:
        services.delivery_attempt(delivery_id=row.pk)
    row.refresh_from_db()
    assert row.state == Delivery.State.SUCCEEDED and row.attempt_count == 1 and row.last_status_code == 200
    assert DeliveryAttempt.objects.filter(delivery=row, succeeded=True, number=1).count() == 1
    hook.refresh_from_db()
    assert hook.last_status == "200" and hook.last_attempt_at is not None
    assert len(receiver.requests) == 1
    # PostgreSQL: the read of the row with its hook; BEGIN, the receiver's advisory lock, the claim
    # (one UPDATE ... RETURNING), COMMIT; the record (one statement). It was 13 before 2026-12-01.
    # Elsewhere (SQLite) the portable path: the read; a claim transaction of 5 (lock the row, count
    # the receiver's sends in flight, lock followers, update); a record transaction of 6 (the
    # deliveries still there locked first: a hook deleted meanwhile took its delivery along).
    expected = 6 if connection.vendor == "postgresql" else 13
    assert len(ctx.captured_queries) == expected, [q["sql"][:120] for q in ctx.captured_queries]


def test_a_burst_of_one_hook_goes_out_in_one_claim_and_one_record(user, camera, receiver, loopback_ok):
    Hook.objects.create(owner=user, callback_url=receiver.url(), query="people")
    rows = [services.hooks_fire_for_event(event=make_event(camera, ["people"]))[0] for _ in range(5)]
    with CaptureQueriesContext(connection) as ctx:
        services.delivery_attempt(delivery_id=rows[0].pk)
    assert len(receiver.requests) == 5
    assert [r.headers["webhook-id"] for r in receiver.requests] == [r.webhook_id for r in rows]
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.SUCCEEDED}
    assert DeliveryAttempt.objects.filter(succeeded=True).count() == 5
    # PostgreSQL: the same statements as for one delivery, the batch is claimed and recorded as a
    # whole; the portable path marks the followers in a second UPDATE.
    expected = 6 if connection.vendor == "postgresql" else 14
    assert len(ctx.captured_queries) == expected, [q["sql"][:120] for q in ctx.captured_queries]


def test_deliveries_of_several_hooks_to_one_receiver_go_out_in_one_claim_and_one_record(
    user, camera, receiver, loopback_ok
):
    hooks = [Hook.objects.create(owner=user, callback_url=receiver.url(f"/h{i}"), query="people") for i in range(5)]
    rows = services.hooks_fire_for_event(event=make_event(camera, ["people"]))
    assert len(rows) == 5
    seed = min(rows, key=lambda r: r.pk)
    with CaptureQueriesContext(connection) as ctx:
        services.delivery_attempt(delivery_id=seed.pk)
    assert sorted(r.path for r in receiver.requests) == [f"/h{i}" for i in range(5)]
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.SUCCEEDED}
    assert set(Hook.objects.values_list("last_status", flat=True)) == {"200"}
    assert len(hooks) == 5
    # PostgreSQL: the same 6 statements as for one delivery: the claim takes the due deliveries of
    # every active hook of the receiver, and the record writes every hook's health in its one
    # statement. The portable path writes each hook's health in an UPDATE of its own (here 5).
    expected = 6 if connection.vendor == "postgresql" else 18
    assert len(ctx.captured_queries) == expected, [q["sql"][:120] for q in ctx.captured_queries]
