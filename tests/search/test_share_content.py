"""POST /api/content (items by per-item access token) and GET /api/content/:id (their bytes)."""

from __future__ import annotations

import base64
import io
import time

import pytest
from django.core import signing
from PIL import Image

from search.access_tokens import item_access_token
from tests.search.test_share_helpers import jpeg_bytes, make_camera, make_content

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(user):
    cam = make_camera(user, "front")
    return [make_content(user, cam, size=(640, 480)) for _ in range(3)]


def own_token(content) -> str:
    """The token the owner's own search hands out for ``content``."""
    return item_access_token(content.public_id, viewer=(content.owner_id, content.owner_id))


def pairs(contents, tokens=None):
    return [
        {"id": c.public_id, "access_token": (tokens[i] if tokens else own_token(c))}
        for i, c in enumerate(contents)
    ]


def decode(item) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(item["image_bytes"])))


def test_items_come_back_in_the_order_asked_without_sign_in(anon, items):
    wanted = [items[2], items[0]]
    resp = anon.post("/api/content", pairs(wanted), format="json")
    assert resp.status_code == 200
    body = resp.json()
    assert [i["id"] for i in body] == [items[2].public_id, items[0].public_id]
    first = body[0]
    assert first["content_type"] == "image/jpeg"
    assert first["source"] == "front"
    assert first["date_created"].endswith("-0000")
    # Without resize: the full image.
    assert decode(first).size == (640, 480)


def test_resize_fits_the_box_and_honours_quality(anon, items):
    resp = anon.post("/api/content?resize=true&w=160&h=160&quality=30", pairs(items[:1]), format="json")
    img = decode(resp.json()[0])
    assert img.format == "JPEG"
    assert img.size == (160, 120)  # 4:3 kept, inside 160x160
    low = len(base64.b64decode(resp.json()[0]["image_bytes"]))
    high = anon.post("/api/content?resize=true&w=160&h=160&quality=95", pairs(items[:1]), format="json")
    assert len(base64.b64decode(high.json()[0]["image_bytes"])) > low


def test_resize_defaults_to_the_reference_thumbnail_box(anon, items):
    resp = anon.post("/api/content?resize=true", pairs(items[:1]), format="json")
    assert decode(resp.json()[0]).size == (149, 112)  # inside 150x112


def test_wrong_forged_swapped_and_expired_tokens_get_nothing(anon, items, settings, monkeypatch):
    a, b, c = items
    good = own_token(a)
    # b's token presented for c, a forged token, and a token signed long ago.
    settings.CONTENT_ACCESS_TOKEN_SECONDS = 60
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 3600)
    expired = own_token(b)
    monkeypatch.setattr(signing.time, "time", real_time)
    body = [
        {"id": a.public_id, "access_token": good},
        {"id": c.public_id, "access_token": own_token(b)},
        {"id": b.public_id, "access_token": good[:-2] + "xx"},
        {"id": b.public_id, "access_token": expired},
        {"id": "no-such-id", "access_token": item_access_token("no-such-id", viewer=(a.owner_id, a.owner_id))},
    ]
    resp = anon.post("/api/content", body, format="json")
    assert resp.status_code == 200
    assert [i["id"] for i in resp.json()] == [a.public_id]


def test_another_accounts_item_is_not_reachable_without_its_token(other_api, items):
    # Signed in as someone else, with no access token: nothing.
    resp = other_api.post("/api/content", [{"id": items[0].public_id, "access_token": "x"}], format="json")
    assert resp.status_code == 200 and resp.json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"id": "a", "access_token": "b"},
        "text",
        [1, 2],
        [{"id": "a"}],
        [{"id": 5, "access_token": "b"}],
        [{"id": "a", "access_token": ""}],
        [{"id": "a", "access_token": "b"}] * 101,
    ],
)
def test_malformed_bodies_are_400_with_a_message(anon, body):
    resp = anon.post("/api/content", body, format="json")
    assert resp.status_code == 400
    assert resp.json()["message"]


@pytest.mark.parametrize("query", ["w=0", "w=abc", "h=99999", "quality=0", "quality=101", "resize=maybe"])
def test_bad_rendition_parameters_are_400(anon, items, query):
    resp = anon.post(f"/api/content?resize=true&{query}", pairs(items[:1]), format="json")
    assert resp.status_code == 400
    assert resp.json()["message"]


def test_repeated_ids_come_back_once(anon, items):
    resp = anon.post("/api/content", pairs([items[0], items[0]]), format="json")
    assert len(resp.json()) == 1


def test_media_url_serves_the_original_bytes(anon, user):
    cam = make_camera(user)
    data = jpeg_bytes(color=(1, 2, 3))
    content = make_content(user, cam, data=data)
    item = anon.post("/api/content", pairs([content]), format="json").json()[0]
    resp = anon.get(item["url"])
    assert resp.status_code == 200
    assert resp["Content-Type"] == "image/jpeg"
    assert b"".join(resp.streaming_content) == data


def test_media_url_serves_ranges_for_seeking(anon, user):
    cam = make_camera(user)
    data = jpeg_bytes(color=(9, 9, 9))
    content = make_content(user, cam, data=data)
    url = anon.post("/api/content", pairs([content]), format="json").json()[0]["url"]
    resp = anon.get(url, HTTP_RANGE="bytes=10-19")
    assert resp.status_code == 206
    assert b"".join(resp.streaming_content) == data[10:20]
    assert resp["Content-Range"] == f"bytes 10-19/{len(data)}"


def test_media_url_refuses_a_wrong_token_with_json(anon, user, items):
    other_token = own_token(items[1])
    resp = anon.get(f"/api/content/{items[0].public_id}?access_token={other_token}")
    assert resp.status_code == 404
    assert resp.json()["message"]
    assert anon.get(f"/api/content/{items[0].public_id}").status_code == 404


def test_media_url_ignores_an_oauth_header(api, items):
    # The query's access_token is the item's, never taken for an OAuth token.
    token = own_token(items[0])
    resp = api.get(f"/api/content/{items[0].public_id}?access_token={token}")
    assert resp.status_code == 200


def test_get_on_the_collection_is_405(anon):
    assert anon.get("/api/content").status_code in (401, 405)


def test_query_count_does_not_grow_with_the_items(anon, user, django_assert_num_queries):
    cam = make_camera(user, "many")
    contents = [make_content(user, cam, size=(32, 24)) for _ in range(20)]
    anon.post("/api/content?resize=true", pairs(contents[:2]), format="json")  # warm the renditions
    with django_assert_num_queries(2):  # the accounts the tokens name; the rows with their cameras
        resp = anon.post("/api/content?resize=true", pairs(contents), format="json")
    assert len(resp.json()) == 20


def test_item_tokens_of_a_signed_in_search_die_with_the_viewers_access(api, user, other_user):
    """Tokens a search hands a guest stop working when the host removes the guest, and an owner's
    own tokens when the owner's account is deactivated."""
    from accounts.models import Guest
    from search.access_tokens import item_access_check

    item = "abcdefghijklmnop"
    Guest.objects.create(host=user, guest=other_user)
    guest_token = item_access_token(item, viewer=(other_user.pk, user.pk))
    own_token = item_access_token(item, viewer=(user.pk, user.pk))
    assert item_access_check(item, guest_token) and item_access_check(item, own_token)
    assert not item_access_check("another-item-id1", guest_token)  # bound to its item
    Guest.objects.filter(host=user, guest=other_user).delete()
    assert not item_access_check(item, guest_token) and item_access_check(item, own_token)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert not item_access_check(item, own_token)
