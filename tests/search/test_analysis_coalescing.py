"""Ingest sends one analysis message per camera while one is pending: the task takes the camera's
backlog, then goes on with what its batch did not cover. Messages are read back from a real Redis
broker (no worker: the test runs each message's task itself, as a worker would)."""

from __future__ import annotations

import base64
import json

import pytest
import redis

from accounts.selectors import account_settings_get
from search.models import Event, ItemAnalysis
from tests.conftest import _fresh_publisher
from tests.search.conftest import RED_RECT, scene_jpeg
from uploads.models import Content

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture
def broker(redis_url):
    """Tasks published for real to Redis (not run eagerly); the analysis messages read back as
    (task, args, kwargs) (hand-offs to hooks, also published, are left out)."""
    from config.celery import app

    previous = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = redis_url
    _fresh_publisher(app)
    client = redis.Redis.from_url(redis_url)

    def take() -> list[tuple[str, list, dict]]:
        messages = []
        while (raw := client.rpop("celery")) is not None:
            message = json.loads(raw)
            args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            if message["headers"]["task"] == "search.analyze_content":
                messages.append((message["headers"]["task"], args, kwargs))
        return messages

    yield take
    app.conf.task_always_eager, app.conf.broker_url = previous
    _fresh_publisher(app)


def _upload(client, user, camera: str, second: int, body: bytes):
    token = account_settings_get(user=user).upload_token
    name = f"2026-11-30T10:00:{second:02d}.000Z.jpg"
    response = client.generic(
        "PUT", f"/api/users/{token}/cameras/{camera}/content/{name}?camera_id={camera}", body, content_type="image/jpeg"
    )
    assert response.status_code == 201, response.content
    return Content.objects.get(public_id=response.json()["id"])


def _run(message) -> None:
    """What a worker does with a message: call the task with its arguments."""
    from search.tasks.analysis import analyze_content

    task, args, kwargs = message
    assert task == "search.analyze_content"
    analyze_content(*args, **kwargs)


def test_one_message_per_camera_while_pending_and_the_task_takes_the_backlog(anon, user, broker):
    front = [_upload(anon, user, "front", s, scene_jpeg([RED_RECT] if s else [])) for s in (0, 2, 4)]
    side = _upload(anon, user, "side", 1, scene_jpeg())
    messages = broker()
    assert [(args, kwargs) for _task, args, kwargs in messages] == [
        ([front[0].pk], {"coalesced": f"analysis:camera:{front[0].camera_id}"}),
        ([side.pk], {"coalesced": f"analysis:camera:{side.camera_id}"}),
    ]
    _run(messages[0])
    done = ItemAnalysis.objects.filter(status=ItemAnalysis.Status.DONE)
    assert set(done.values_list("pk", flat=True)) == {c.pk for c in front}  # the whole backlog, one task
    assert Event.objects.get(camera_id=front[0].camera_id).item_count == 3
    assert broker() == []  # nothing left for the camera: no follow-up

    # The key was let go when the task started: the next upload sends a message again.
    later = _upload(anon, user, "front", 30, scene_jpeg())
    assert [args for _task, args, _kwargs in broker()] == [[later.pk]]


def test_what_the_batch_did_not_cover_is_followed_up(anon, user, broker):
    first = _upload(anon, user, "front", 20, scene_jpeg())
    earlier = _upload(anon, user, "front", 5, scene_jpeg([RED_RECT]))  # captured before: not in the batch
    [message] = broker()
    _run(message)
    assert ItemAnalysis.objects.filter(pk=first.pk).exists()
    assert not ItemAnalysis.objects.filter(pk=earlier.pk).exists()
    [follow_up] = broker()
    assert follow_up[1] == [earlier.pk] and follow_up[2] == message[2]
    _run(follow_up)
    assert ItemAnalysis.objects.filter(pk=earlier.pk, status=ItemAnalysis.Status.DONE).exists()
    assert broker() == []


def test_a_message_that_could_not_be_sent_does_not_hold_the_camera(anon, user, broker, monkeypatch):
    from search.tasks.analysis import analyze_content

    real = analyze_content.apply_async
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            from kombu.exceptions import OperationalError

            raise OperationalError("broker unreachable")
        return real(*args, **kwargs)

    monkeypatch.setattr(analyze_content, "apply_async", flaky)
    lost = _upload(anon, user, "front", 0, scene_jpeg())  # stored; its message failed
    sent = _upload(anon, user, "front", 2, scene_jpeg())  # not held back by the failed one
    assert [args for _task, args, _kwargs in broker()] == [[sent.pk]]
    assert not ItemAnalysis.objects.filter(pk=lost.pk).exists()


def test_a_camera_has_at_most_one_pending_message(anon, user, broker, monkeypatch):
    from search.tasks import analysis as tasks

    _upload(anon, user, "front", 20, scene_jpeg())
    earlier = _upload(anon, user, "front", 5, scene_jpeg([RED_RECT]))  # left for a follow-up
    [message] = broker()
    meanwhile = []
    real = tasks.content_backlog_analyze

    def with_an_upload_meanwhile(**kwargs):
        outcome = real(**kwargs)
        meanwhile.append(_upload(anon, user, "front", 40, scene_jpeg()))  # its message is now pending
        return outcome

    monkeypatch.setattr(tasks, "content_backlog_analyze", with_an_upload_meanwhile)
    _run(message)
    monkeypatch.undo()
    pending = broker()
    assert [args for _task, args, _kwargs in pending] == [[meanwhile[0].pk]]  # no follow-up beside it
    _run(pending[0])  # that task follows the camera's backlog: the earlier item next
    [follow_up] = broker()
    assert follow_up[1] == [earlier.pk]
    _run(follow_up)
    assert ItemAnalysis.objects.filter(status=ItemAnalysis.Status.DONE).count() == 3
    assert broker() == []
