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
    [follow_up] = broker()  # the chain goes on with it, still holding the camera
    assert follow_up[1] == [earlier.pk] and follow_up[2]["coalesced"] == message[2]["coalesced"]
    assert follow_up[2]["since"] < first.created_at.timestamp()
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


def test_uploads_while_a_chain_runs_are_taken_by_it(anon, user, broker, monkeypatch):
    from search.tasks import analysis as tasks

    first = _upload(anon, user, "front", 20, scene_jpeg())
    [message] = broker()
    meanwhile = []
    real = tasks.content_backlog_analyze

    def with_uploads_meanwhile(**kwargs):
        outcome = real(**kwargs)
        # Committed after the task's last look at the backlog, while the chain still holds the
        # camera: no message of their own.
        meanwhile.append(_upload(anon, user, "front", 40, scene_jpeg()))
        meanwhile.append(_upload(anon, user, "front", 30, scene_jpeg([RED_RECT])))
        return outcome

    monkeypatch.setattr(tasks, "content_backlog_analyze", with_uploads_meanwhile)
    _run(message)
    monkeypatch.undo()
    # Done with what it saw, the chain let the camera go and looked once more: one message, for
    # the earliest captured of the late uploads.
    [late] = broker()
    assert late[1] == [meanwhile[1].pk] and late[2]["coalesced"] == message[2]["coalesced"]
    _run(late)
    done = ItemAnalysis.objects.filter(status=ItemAnalysis.Status.DONE)
    assert set(done.values_list("pk", flat=True)) == {first.pk, *(c.pk for c in meanwhile)}
    assert broker() == []


def test_an_item_that_fails_for_good_does_not_hold_up_the_rest(unreachable_storage, user, broker):
    from cameras.services import camera_for_upload
    from search.tasks.analysis import MAX_RETRIES, analyze_content

    camera = camera_for_upload(owner=user, name="front")
    first, later = (
        Content.objects.create(
            owner=user,
            camera=camera,
            kind="image",
            content_type="image/jpeg",
            storage_key=f"x/{name}.jpg",
            size=10,
            sha256=f"{n}" * 64,
            captured_at=f"2026-11-20T12:{n}0:00Z",  # 10 minutes apart: not one batch
        )
        for n, name in ((1, "first"), (2, "later"))
    )
    key = f"analysis:camera:{camera.pk}"
    analyze_content.apply(args=(first.pk,), kwargs={"coalesced": key}, retries=MAX_RETRIES, throw=True)
    assert ItemAnalysis.objects.get(pk=first.pk).status == ItemAnalysis.Status.FAILED
    [(_task, args, kwargs)] = broker()
    assert args == [later.pk] and kwargs["coalesced"] == key
