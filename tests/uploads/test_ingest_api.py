"""Uploads over HTTP as cameras send them (raw bodies), and reading the stored content back."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from accounts.models import Guest
from accounts.selectors import account_settings_get
from cameras.models import Camera
from search.analysis import content_analyze
from search.models import Event
from tests.search.conftest import scene_jpeg
from tests.search.test_search_factories import T0
from tests.uploads.samples import jpeg_bytes, mp4_bytes, png_bytes
from uploads.models import Content

ISO_NAME = "2014-07-21T20:38:32.183-07:00.jpeg"


@pytest.fixture
def upload_token(user) -> str:
    return account_settings_get(user=user).upload_token


def put(client, token: str, camera: str, name: str, body: bytes, content_type="image/jpeg", query="camera_id=1234"):
    path = f"/api/users/{token}/cameras/{camera}/content/{name}"
    return client.generic("PUT", f"{path}?{query}" if query else path, body, content_type=content_type)


def stored_files(media) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()) if media.exists() else []


# --- what a camera gets for a good upload -------------------------------------------------------


def test_jpeg_upload_with_iso_name_is_stored_and_described(anon, user, upload_token, _private_media):
    body = jpeg_bytes(320, 240)
    r = put(anon, upload_token, "front", ISO_NAME, body)
    assert r.status_code == 201, r.content
    answer = r.json()
    assert answer["kept"] is True and answer["duplicate"] is False
    assert answer["camera"] == "front" and answer["camera_id"] == "1234"
    assert answer["content_type"] == "image/jpeg"
    assert answer["size"] == len(body) and (answer["width"], answer["height"]) == (320, 240)
    assert answer["date_created"] == "2014-07-22T03:38:32.183-0000"  # the name's time, in UTC
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()

    content = Content.objects.get(public_id=answer["id"])
    assert content.owner == user and content.img_type == "m" and content.upload_mode == "image"
    camera = Camera.objects.get(owner=user, name="front")
    # The first upload made the camera; its resolution was learned from the content.
    assert camera.camera_id == "1234" and (camera.resolution_width, camera.resolution_height) == (320, 240)
    assert camera.last_upload_at is not None and camera.last_seen_at is not None
    # Keys group by account, camera and capture date.
    assert content.storage_key.startswith(f"content/{user.pk}/{camera.pk}/2014/07/22/")
    with default_storage.open(content.storage_key) as f:
        assert f.read() == body


def test_video_upload_is_probed_and_gets_a_poster(anon, upload_token):
    clip = mp4_bytes(seconds=3, fps=10)
    r = anon.generic(
        "POST",
        f"/api/users/{upload_token}/cameras/front/content/?camera_id=1234&upload_mode=video&rotation=90",
        clip,
        content_type="video/mp4",
    )
    assert r.status_code == 201, r.content
    answer = r.json()
    assert answer["content_type"] == "video/mp4" and answer["upload_mode"] == "video"
    assert answer["video_length"] == pytest.approx(3.0, abs=0.15)
    assert (answer["width"], answer["height"], answer["codec"]) == (160, 120, "h264")
    assert answer["rotation"] == 90
    content = Content.objects.get(public_id=answer["id"])
    assert content.kind == "video" and content.poster_key
    with default_storage.open(content.poster_key) as f, Image.open(f) as poster:
        assert poster.format == "JPEG" and poster.size == (160, 120)


def test_video_length_given_by_the_camera_wins_over_the_probe(anon, upload_token):
    r = put(anon, upload_token, "front", "a.mp4", mp4_bytes(), "video/mp4", "camera_id=1&video_length=20.18")
    assert r.status_code == 201 and r.json()["video_length"] == 20.18


def test_png_and_quicktime_are_accepted_and_untyped_bodies_are_typed_by_their_bytes(anon, upload_token):
    assert put(anon, upload_token, "front", "p.png", png_bytes(), "image/png").json()["content_type"] == "image/png"
    mov = mp4_bytes(container="mov")
    assert put(anon, upload_token, "front", "m.mov", mov, "video/quicktime").json()["content_type"] == "video/quicktime"
    untyped = put(anon, upload_token, "front", "x.jpg", jpeg_bytes(), "application/octet-stream")
    assert untyped.status_code == 201 and untyped.json()["content_type"] == "image/jpeg"


def test_me_with_oauth_uploads_into_the_callers_account(api, user):
    r = put(api, "me", "desk", "a.jpg", jpeg_bytes())
    assert r.status_code == 201
    assert Content.objects.get(public_id=r.json()["id"]).owner == user


# --- capture time ------------------------------------------------------------------------------


def test_free_text_timestamp_is_read_only_with_parse_timestamp(anon, upload_token):
    before = timezone.now()
    plain = put(anon, upload_token, "front", "front_20140721_203831.jpg", jpeg_bytes(color=(1, 2, 3)))
    created = datetime.strptime(plain.json()["date_created"], "%Y-%m-%dT%H:%M:%S.%f-0000").replace(tzinfo=UTC)
    assert created >= before - timedelta(seconds=1)  # arrival time
    parsed = put(
        anon,
        upload_token,
        "front",
        "front_20140721_203831.jpg",
        jpeg_bytes(color=(4, 5, 6)),
        query="camera_id=1234&options=parse_timestamp",
    )
    assert parsed.json()["date_created"] == "2014-07-21T20:38:31.000-0000"
    assert parsed.json()["options"] == ["parse_timestamp"]


def test_a_capture_time_in_the_future_falls_back_to_arrival(anon, upload_token):
    future = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000-00:00") + ".jpg"
    r = put(anon, upload_token, "front", future, jpeg_bytes())
    assert r.json()["date_created"].startswith(timezone.now().strftime("%Y-%m-%d"))


# --- recording off ------------------------------------------------------------------------------


def test_recording_disabled_for_the_account_keeps_nothing(anon, user, upload_token, _private_media):
    AccountSettingsModel = account_settings_get(user=user).__class__
    AccountSettingsModel.objects.filter(user=user).update(recording_enabled=False)
    r = put(anon, upload_token, "front", ISO_NAME, jpeg_bytes())
    assert r.status_code == 200
    assert r.json()["kept"] is False and "not kept" in r.json()["message"]
    assert not Content.objects.exists() and not Camera.objects.exists()
    assert stored_files(_private_media) == []


def test_recording_disabled_for_the_camera_keeps_nothing_but_counts_as_a_sight(anon, user, upload_token):
    camera = Camera.objects.create(owner=user, name="front", recording_enabled=False)
    r = put(anon, upload_token, "front", ISO_NAME, jpeg_bytes())
    assert r.status_code == 200 and r.json()["kept"] is False
    assert not Content.objects.exists()
    camera.refresh_from_db()
    assert camera.last_seen_at is not None


def test_an_upload_from_a_known_camera_takes_one_query_and_its_insert(
    anon, upload_token, django_assert_num_queries, django_capture_on_commit_callbacks
):
    put(anon, upload_token, "front", "a.jpg", jpeg_bytes())
    # The Upload Token with its account and camera; then the row (savepoint, insert, release: the
    # test's transaction). The camera's sight was written by the first upload, seconds ago.
    with django_capture_on_commit_callbacks(execute=False), django_assert_num_queries(4):
        r = put(anon, upload_token, "front", "b.jpg", jpeg_bytes(color=(1, 1, 1)))
    assert r.status_code == 201, r.content


# --- retries ------------------------------------------------------------------------------------


def test_a_retried_upload_returns_the_same_content(anon, upload_token, _private_media):
    body = jpeg_bytes()
    first = put(anon, upload_token, "front", ISO_NAME, body)
    again = put(anon, upload_token, "front", ISO_NAME, body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["id"] == first.json()["id"]
    assert Content.objects.count() == 1
    assert len(stored_files(_private_media)) == 1  # the retry's copy of the bytes was removed again
    # The same bytes under another name are another item.
    assert put(anon, upload_token, "front", "other.jpg", body).status_code == 201


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_hash_is_checked_and_a_named_retry_is_answered_without_its_body(anon, upload_token, algorithm):
    body = jpeg_bytes()
    digest = hashlib.new(algorithm, body).hexdigest()
    first = put(anon, upload_token, "front", "a.jpg", body, query=f"camera_id=1&hash={digest.upper()}")
    assert first.status_code == 201
    # A retry whose connection broke mid-body: the hash names content already stored.
    retry = put(anon, upload_token, "front", "a.jpg", body[:10], query=f"camera_id=1&hash={digest}")
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    assert Content.objects.count() == 1


def test_a_body_that_does_not_match_its_hash_is_refused(anon, upload_token, _private_media):
    wrong = hashlib.sha256(b"something else").hexdigest()
    r = put(anon, upload_token, "front", "a.jpg", jpeg_bytes(), query=f"camera_id=1&hash={wrong}")
    assert r.status_code == 400 and "hash" in r.json()["message"]
    assert not Content.objects.exists() and stored_files(_private_media) == []


# --- alternates ---------------------------------------------------------------------------------


def test_alternate_media_points_at_the_overlapping_item(anon, api, upload_token):
    primary = put(anon, upload_token, "front", "2014-07-21T20:38:30.000-07:00.mp4", mp4_bytes(seconds=4), "video/mp4")
    elsewhere = put(anon, upload_token, "front", "2014-07-21T21:00:00.000-07:00.jpg", jpeg_bytes(color=(9, 9, 9)))
    alternate = put(
        api,
        "me",
        "front",
        "2014-07-21T20:38:32.000-07:00.mp4",
        mp4_bytes(seconds=1, width=64, height=48),
        "video/mp4",
        "camera_id=1234&options=alternate",
    )
    assert alternate.status_code == 201
    assert alternate.json()["alternate_of"] == primary.json()["id"] != elsewhere.json()["id"]
    lonely = put(
        api,
        "me",
        "front",
        "2014-07-22T08:00:00.000-07:00.jpg",
        jpeg_bytes(color=(7, 7, 7)),
        query="camera_id=1234&options=alternate",
    )
    assert lonely.json()["alternate_of"] is None


def test_an_upload_tokens_alternate_is_attached_but_its_answer_names_no_owners_item(anon, upload_token):
    """An Upload Token grants no access to content: the uploader's alternate is attached to the
    overlapping item as any other, but the answer does not say which item that is, nor the
    camera's stored camera_id in place of the one the upload sent."""
    primary = put(anon, upload_token, "front", "2014-07-21T20:38:30.000-07:00.mp4", mp4_bytes(seconds=4), "video/mp4")
    alternate = put(
        anon,
        upload_token,
        "front",
        "2014-07-21T20:38:32.000-07:00.mp4",
        mp4_bytes(seconds=1, width=64, height=48),
        "video/mp4",
        "camera_id=probe&options=alternate",
    )
    assert alternate.status_code == 201, alternate.content
    answer = alternate.json()
    assert "alternate_of" not in answer and answer["camera_id"] == "probe"
    assert primary.json()["id"] not in alternate.content.decode()
    stored = Content.objects.get(public_id=answer["id"])
    assert stored.alternate_of.public_id == primary.json()["id"]
    assert stored.camera.camera_id == "1234"


# --- every bad input ------------------------------------------------------------------------------


def test_an_unknown_upload_token_is_refused(anon, db):
    r = put(anon, "not-a-token", "front", "a.jpg", jpeg_bytes())
    assert r.status_code == 401 and r.json()["message"] == "Unknown Upload Token"
    assert not Camera.objects.exists()


def test_me_without_oauth_is_refused(anon, db):
    assert put(anon, "me", "front", "a.jpg", jpeg_bytes()).status_code == 401


@pytest.mark.parametrize(
    "query, word",
    [
        ("", "camera_id"),
        ("camera_id=1&upload_mode=audio", "upload_mode"),
        ("camera_id=1&img_type=x", "img_type"),
        ("camera_id=1&rotation=45", "rotation"),
        ("camera_id=1&video_length=0", "video_length"),
        ("camera_id=1&video_length=-2", "video_length"),
        ("camera_id=1&video_length=abc", "video_length"),
        ("camera_id=1&video_length=nan", "video_length"),
        ("camera_id=1&options=alternate,sideways", "options"),
        ("camera_id=1&hash=1234", "hash"),
        ("camera_id=1&hash=" + "z" * 40, "hash"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(anon, upload_token, query, word, _private_media):
    r = put(anon, upload_token, "front", "a.jpg", jpeg_bytes(), query=query)
    assert r.status_code == 400, r.content
    assert word in r.json()["message"]
    assert not Content.objects.exists() and not Camera.objects.exists()
    assert stored_files(_private_media) == []


@pytest.mark.parametrize("content_type", ["image/gif", "text/plain", "application/json", "video/x-msvideo"])
def test_other_media_types_are_415(anon, upload_token, content_type):
    r = put(anon, upload_token, "front", "a.bin", b"GIF89a....", content_type)
    assert r.status_code == 415 and "Content-Type" in r.json()["message"]


def test_an_untyped_body_that_is_no_accepted_media_is_415(anon, upload_token):
    r = put(anon, upload_token, "front", "a.bin", b"GIF89a" + b"\0" * 100, "application/octet-stream")
    assert r.status_code == 415


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"not a jpeg at all" * 10, "image/jpeg"),
        (jpeg_bytes()[:60], "image/jpeg"),  # truncated
        (b"\xff\xd8\xff\xe0" + b"\0" * 200, "image/jpeg"),  # a JPEG header and nothing after
        (png_bytes(), "image/jpeg"),  # a PNG that says it is a JPEG
        (jpeg_bytes(), "image/png"),
        (jpeg_bytes(), "video/mp4"),
        (b"\0\0\0\x18ftypmp42" + b"\0" * 300, "video/mp4"),  # an MP4 header, no movie
        (mp4_bytes()[:200], "video/mp4"),
        (b"", "image/jpeg"),
    ],
)
def test_bytes_that_are_not_what_they_claim_are_400(anon, upload_token, body, content_type, _private_media):
    r = put(anon, upload_token, "front", "a", body, content_type)
    assert r.status_code == 400, r.content
    assert r.json()["message"]
    assert not Content.objects.exists() and stored_files(_private_media) == []


def test_size_limits_are_413(anon, upload_token, settings, _private_media):
    settings.UPLOAD_MAX_IMAGE_BYTES = 2048
    settings.UPLOAD_MAX_VIDEO_BYTES = 4096
    big_image = jpeg_bytes(64, 64, pad_to=3000)
    r = put(anon, upload_token, "front", "a.jpg", big_image)
    assert r.status_code == 413 and "2048" in r.json()["message"]
    clip = mp4_bytes(seconds=6, fps=10, width=320, height=240)
    assert len(clip) > 4096
    assert put(anon, upload_token, "front", "a.mp4", clip, "video/mp4").status_code == 413
    # An untyped body is held to its type's limit once its bytes show it.
    assert put(anon, upload_token, "front", "b.jpg", big_image, "application/octet-stream").status_code == 413
    assert not Content.objects.exists() and stored_files(_private_media) == []


def test_a_camera_id_of_another_camera_is_400(anon, user, upload_token):
    Camera.objects.create(owner=user, name="back", camera_id="1234")
    r = put(anon, upload_token, "front", "a.jpg", jpeg_bytes())
    assert r.status_code == 400 and "camera_id" in r.json()["message"]


def test_an_overlong_name_is_400(anon, upload_token):
    assert put(anon, upload_token, "front", "a" * 300 + ".jpg", jpeg_bytes()).status_code == 400


# --- across accounts ------------------------------------------------------------------------------


def test_an_upload_token_writes_only_into_its_own_account(anon, user, other_user, upload_token):
    other_token = account_settings_get(user=other_user).upload_token
    put(anon, upload_token, "front", "a.jpg", jpeg_bytes(color=(1, 1, 1)))
    put(anon, other_token, "front", "a.jpg", jpeg_bytes(color=(2, 2, 2)))
    assert Content.objects.filter(owner=user).count() == 1
    assert Content.objects.filter(owner=other_user).count() == 1
    assert Camera.objects.get(owner=user, name="front") != Camera.objects.get(owner=other_user, name="front")


def test_an_upload_token_reads_nothing(anon, upload_token):
    content_id = put(anon, upload_token, "front", "a.jpg", jpeg_bytes()).json()["id"]
    assert anon.get(f"/api/users/{upload_token}/cameras/front/content/{content_id}").status_code == 404
    anon.credentials(HTTP_AUTHORIZATION=f"token {upload_token}")
    assert anon.get(f"/api/users/me/cameras/front/content/{content_id}").status_code == 401


def test_oauth_user_b_cannot_read_or_find_content_of_a(anon, api, other_api, upload_token):
    content_id = put(anon, upload_token, "front", "a.jpg", jpeg_bytes()).json()["id"]
    url = f"/api/users/me/cameras/front/content/{content_id}"
    assert api.get(url).status_code == 200
    mine = other_api.get(url)
    assert mine.status_code == 404 and mine.json() == {"message": "No such content"}
    assert other_api.get(url + "?user=alice@example.com").status_code == 403
    assert anon.get(url).status_code == 401


def test_a_guest_reads_the_hosts_content_with_user(anon, user, other_user, other_api, upload_token):
    Guest.objects.create(host=user, guest=other_user)
    content_id = put(anon, upload_token, "front", "a.jpg", jpeg_bytes()).json()["id"]
    r = other_api.get(f"/api/users/me/cameras/front/content/{content_id}?user=alice@example.com")
    assert r.status_code == 200


# --- reading content ------------------------------------------------------------------------------


def test_get_content_returns_the_bytes_with_their_type(anon, api, upload_token):
    png = png_bytes(80, 60)
    content_id = put(anon, upload_token, "front", "a.png", png, "image/png").json()["id"]
    r = api.get(f"/api/users/me/cameras/front/content/{content_id}")
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    assert b"".join(r.streaming_content) == png
    resized = api.get(f"/api/users/me/cameras/front/content/{content_id}?w=40&h=40&quality=50")
    assert resized.status_code == 200 and resized["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(resized.content)) as img:
        assert img.size == (40, 30)
    for bad in ("w=0", "h=abc", "quality=101", "w=99999"):
        bad_answer = api.get(f"/api/users/me/cameras/front/content/{content_id}?{bad}")
        assert bad_answer.status_code == 400 and bad_answer.json()["message"]


def test_a_client_holding_the_current_copy_gets_304(anon, api, upload_token, monkeypatch):
    """``If-None-Match`` with the ETag the client was given: 304, no body, no storage read; each
    rendition has its own tag, so a resized copy never stands in for the original."""
    content_id = put(anon, upload_token, "front", "a.png", png_bytes(80, 60), "image/png").json()["id"]
    url = f"/api/users/me/cameras/front/content/{content_id}"
    original = api.get(url)
    small = api.get(f"{url}?w=40&h=40&quality=50")
    assert original["ETag"] != small["ETag"]

    import uploads.views

    def unread(*args, **kwargs):
        raise AssertionError("the stored bytes were read for a 304")

    monkeypatch.setattr(uploads.views, "stored_chunks", unread)
    monkeypatch.setattr(uploads.views, "content_image_bytes", unread)
    for path, tag in ((url, original["ETag"]), (f"{url}?w=40&h=40&quality=50", small["ETag"])):
        for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
            again = api.get(path, HTTP_IF_NONE_MATCH=sent)
            assert again.status_code == 304 and again.content == b"" and again["ETag"] == tag, sent
    monkeypatch.undo()
    stale = api.get(url, HTTP_IF_NONE_MATCH=small["ETag"])
    assert stale.status_code == 200 and b"".join(stale.streaming_content) == png_bytes(80, 60)


def test_video_is_served_with_ranges(anon, api, upload_token):
    clip = mp4_bytes()
    content_id = put(anon, upload_token, "front", "a.mp4", clip, "video/mp4").json()["id"]
    url = f"/api/users/me/cameras/front/content/{content_id}"
    whole = api.get(url)
    assert whole["Accept-Ranges"] == "bytes" and b"".join(whole.streaming_content) == clip
    part = api.get(url, HTTP_RANGE="bytes=10-99")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 10-99/{len(clip)}"
    assert b"".join(part.streaming_content) == clip[10:100]
    tail = api.get(url, HTTP_RANGE="bytes=-50")
    assert b"".join(tail.streaming_content) == clip[-50:]
    assert api.get(url, HTTP_RANGE=f"bytes={len(clip) + 5}-").status_code == 416
    poster = api.get(url + "?w=80")
    assert poster["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(poster.content)) as img:
        assert img.size == (80, 60)


def test_get_content_of_an_unknown_camera_or_id_is_404(anon, api, upload_token):
    content_id = put(anon, upload_token, "front", "a.jpg", jpeg_bytes()).json()["id"]
    assert api.get(f"/api/users/me/cameras/back/content/{content_id}").status_code == 404
    assert api.get("/api/users/me/cameras/front/content/nope").status_code == 404


def test_uploads_are_throttled_per_token_and_camera(anon, upload_token, settings, throttle_clock):
    settings.API_RATE_LIMIT = "2/minute"
    for i in range(2):
        assert put(anon, upload_token, "front", f"{i}.jpg", jpeg_bytes(color=(i, 0, 0))).status_code == 201
    refused = put(anon, upload_token, "front", "2.jpg", jpeg_bytes(color=(2, 0, 0)))
    assert refused.status_code == 429 and refused.json()["message"] and refused["Retry-After"]
    # Another camera of the same site has its own budget.
    assert put(anon, upload_token, "back", "0.jpg", jpeg_bytes(), query="camera_id=99").status_code == 201


def test_content_whose_bytes_are_gone_is_503_not_500(anon, api, upload_token):
    answer = put(anon, upload_token, "front", "a.jpg", jpeg_bytes()).json()
    default_storage.delete(Content.objects.get(public_id=answer["id"]).storage_key)
    gone = api.get(answer["url"])
    assert gone.status_code == 503 and gone.json()["message"]
    assert api.get(answer["url"] + "?w=10").status_code == 503


# A still has no length: a video_length on one would stretch its event over later captures.
RED = (0.40, 0.35, 0.10, 0.30, "red")
BLUE = (0.10, 0.10, 0.10, 0.20, "blue")


def test_video_length_on_a_still_does_not_stretch_its_event(anon, user, settings):
    settings.EVENT_GAP_SECONDS = 30
    token = account_settings_get(user=user).upload_token
    base = f"/api/users/{token}/cameras/front/content"
    first = anon.generic(
        "POST",
        f"{base}/2026-11-20T12:00:00.000Z.jpg?camera_id=1&video_length=600",
        scene_jpeg([RED]),
        content_type="image/jpeg",
    )
    if first.status_code == 400:
        assert "video_length" in first.json()["message"]
        return  # refused: fixed
    assert first.status_code == 201, first.content
    assert first.json()["video_length"] is None, "a JPEG has no video length"
    later = anon.generic(
        "POST", f"{base}/2026-11-20T12:05:00.000Z.jpg?camera_id=1", scene_jpeg([BLUE]), content_type="image/jpeg"
    )
    assert later.status_code == 201, later.content
    a = content_analyze(content_id=Content.objects.get(public_id=first.json()["id"]).pk)
    b = content_analyze(content_id=Content.objects.get(public_id=later.json()["id"]).pk)
    # Five minutes apart with a 30 s gap: two events, the first one a single instant.
    assert a.event_id != b.event_id
    assert Event.objects.get(pk=a.event_id).latest_date == T0
