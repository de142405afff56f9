"""Admin: hooks with their health, deliveries with request, response excerpt, latency, redeliver."""

import pytest
from django.utils import timezone

from hooks.models import Delivery, Hook
from tests.hooks.conftest import make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing(user, camera):
    hook = Hook.objects.create(
        owner=user,
        callback_url="http://example.com/cb",
        query="people",
        last_status="503",
        failure_streak=4,
        failing_since=timezone.now(),
    )
    row = Delivery.objects.create(
        hook=hook, event=make_event(camera, ["people"]), body='{"hook_id":"1"}', state="failed", attempt_count=1
    )
    row.attempts.create(
        number=1,
        started_at=timezone.now(),
        url=hook.callback_url,
        request_headers={"webhook-id": row.webhook_id, "webhook-signature": "v1,abc"},
        status_code=503,
        response_excerpt="upstream overloaded",
        latency_ms=1234,
        error="HTTP 503",
    )
    return hook, row


def test_hook_list_shows_last_status_and_failure_streak(admin_client, failing):
    page = admin_client.get("/admin/hooks/hook/").content.decode()
    assert "503" in page and "failure streak" in page.lower()
    assert ">4<" in page


def test_delivery_page_shows_request_response_and_latency(admin_client, failing):
    _hook, row = failing
    page = admin_client.get(f"/admin/hooks/delivery/{row.pk}/change/").content.decode()
    assert "v1,abc" in page and "upstream overloaded" in page and "1234" in page


def test_redeliver_action_queues_the_delivery_again(admin_client, failing, django_capture_on_commit_callbacks):
    _hook, row = failing
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            "/admin/hooks/delivery/", {"action": "redeliver", "_selected_action": [row.pk]}, follow=True
        )
    assert response.status_code == 200 and "queued again" in response.content.decode()
    row.refresh_from_db()
    assert row.state == "pending" and len(callbacks) == 1


def test_redeliver_action_of_a_paused_hook_warns(admin_client, failing):
    hook, row = failing
    Hook.objects.filter(pk=hook.pk).update(paused=True)
    response = admin_client.post(
        "/admin/hooks/delivery/", {"action": "redeliver", "_selected_action": [row.pk]}, follow=True
    )
    assert "resume it" in response.content.decode()
    row.refresh_from_db()
    assert row.state == "failed"


def test_the_signing_secret_is_not_shown_in_admin(admin_client, failing):
    hook, _row = failing
    page = admin_client.get(f"/admin/hooks/hook/{hook.pk}/change/").content.decode()
    assert page.count("whsec_") == 0 and hook.secret not in page


def test_admin_refuses_a_callback_url_no_delivery_could_use(admin_client, user):
    page = admin_client.post(
        "/admin/hooks/hook/add/",
        {
            "owner": user.pk,
            "type": "label_hit",
            "callback_url": "http://example.com/cb\x01x",
            "query": "people",
            "cooldown_seconds": 0,
        },
    )
    assert page.status_code == 200  # the form again, with the error
    assert "cannot be sent to" in page.content.decode()
    assert not Hook.objects.exists()
