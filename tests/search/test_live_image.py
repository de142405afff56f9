"""GET /api/content/live/:camera/: owner, guests (user=), and view_tokens of a live Camio."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from tests.search.test_share_helpers import (
    hours_ago,
    jpeg_bytes,
    make_camera,
    make_camio,
    make_content,
    make_guest,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def east(user):
    cam = make_camera(user, "east")
    make_content(user, cam, at=hours_ago(3), data=jpeg_bytes(color=(0, 0, 255), size=(640, 360)), size=(640, 360))
    newest = make_content(
        user, cam, at=hours_ago(1), data=jpeg_bytes(color=(255, 0, 0), size=(640, 360)), size=(640, 360)
    )
    return cam, newest


def image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def red(img: Image.Image) -> bool:
    r, g, b = img.convert("RGB").getpixel((img.width // 2, img.height // 2))
    return r > 200 and g < 60 and b < 60


def test_owner_gets_the_newest_image_as_json(api, east):
    _cam, newest = east
    resp = api.get("/api/content/live/east/")
    assert resp.status_code == 200
    body = resp.json()
    assert body["id"] == newest.public_id
    assert body["source"] == "east"
    assert body["content_type"] == "image/jpeg"
    img = image(base64.b64decode(body["image_bytes"]))
    assert img.size == (640, 360) and red(img)


def test_output_jpeg_resized_to_the_box(api, east):
    resp = api.get("/api/content/live/east?output=jpeg&w=320&h=180&quality=50")
    assert resp.status_code == 200
    assert resp["Content-Type"] == "image/jpeg"
    img = image(resp.content)
    assert img.size == (320, 180) and red(img)


def test_access_token_query_parameter_works_for_get(anon, token, east):
    assert anon.get(f"/api/content/live/east?access_token={token}").status_code == 200


def test_anonymous_without_view_tokens_is_401(anon, east):
    resp = anon.get("/api/content/live/east")
    assert resp.status_code == 401
    assert resp.json()["message"]


def test_another_account_cannot_read_it(other_api, east):
    assert other_api.get("/api/content/live/east").status_code == 404


def test_guest_reads_the_hosts_camera_with_user(user, other_user, other_api, east):
    assert other_api.get("/api/content/live/east?user=alice@example.com").status_code == 403
    make_guest(user, other_user)
    resp = other_api.get("/api/content/live/east?user=alice@example.com&output=jpeg")
    assert resp.status_code == 200 and red(image(resp.content))


def test_camera_without_images_is_404(api, user):
    make_camera(user, "empty")
    assert api.get("/api/content/live/empty").status_code == 404
    assert api.get("/api/content/live/nosuch").status_code == 404


@pytest.mark.parametrize("query", ["output=png", "w=0", "h=x", "quality=500"])
def test_bad_parameters_are_400(api, east, query):
    resp = api.get(f"/api/content/live/east?{query}")
    assert resp.status_code == 400
    assert resp.json()["message"]


def test_live_camio_view_token_opens_it_without_sign_in(anon, user, east):
    camio = make_camio(user, cameras=["east"], start=hours_ago(24))
    for tok in (camio.view_token, camio.short_token):
        resp = anon.get(f"/api/content/live/east?view_tokens={tok}&output=jpeg&w=320&h=180")
        assert resp.status_code == 200
        assert image(resp.content).size == (320, 180)


def test_a_camio_without_any_date_shares_the_live_image(anon, user, east):
    """The reference: Camios "shared without any end date (so that they extend to all FUTURE
    dates)"; one with no start date either shares all of the camera's time, the future too."""
    camio = make_camio(user, cameras=["east"], start=None)
    resp = anon.get(f"/api/content/live/east?view_tokens={camio.view_token}&output=jpeg&w=320&h=180")
    assert resp.status_code == 200
    assert image(resp.content).size == (320, 180)


def test_one_fitting_token_among_several_is_enough(anon, user, east):
    wrong = make_camio(user, cameras=["east"], start=hours_ago(24), end=hours_ago(2))
    right = make_camio(user, cameras=["east"], start=hours_ago(24))
    resp = anon.get(f"/api/content/live/east?view_tokens=nonsense,{wrong.view_token},{right.short_token}")
    assert resp.status_code == 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cameras": ["east"], "end": "past"},  # has an end date
        {"cameras": ["east", "west"]},  # more than one camera
        {"cameras": []},  # every camera
        {"cameras": ["west"]},  # another camera
        {"cameras": ["east"], "labels": ["people"]},  # narrowed by labels
        {"cameras": ["east"], "expires_at": "past"},  # expired
    ],
)
def test_tokens_of_camios_that_do_not_share_the_live_image_are_refused(anon, user, east, kwargs):
    make_camera(user, "west")
    kwargs = dict(kwargs)
    kwargs.setdefault("start", hours_ago(24))
    if kwargs.get("end") == "past":
        kwargs["end"] = hours_ago(2)
    if kwargs.get("expires_at") == "past":
        kwargs["expires_at"] = timezone.now() - timedelta(minutes=1)
    camio = make_camio(user, **kwargs)
    resp = anon.get(f"/api/content/live/east?view_tokens={camio.view_token}")
    assert resp.status_code == 404
    assert resp.json()["message"]


def test_deleted_camio_revokes_at_once(anon, user, east):
    camio = make_camio(user, cameras=["east"], start=hours_ago(24))
    url = f"/api/content/live/east?view_tokens={camio.view_token}"
    assert anon.get(url).status_code == 200
    camio.delete()
    assert anon.get(url).status_code == 404


def test_image_older_than_the_shared_start_is_not_shown(anon, user, east):
    camio = make_camio(user, cameras=["east"], start=timezone.now() - timedelta(minutes=5))
    assert anon.get(f"/api/content/live/east?view_tokens={camio.view_token}").status_code == 404


def test_token_of_one_account_does_not_open_another_accounts_camera(anon, user, other_user, east):
    # Bob has a camera named "east" too and shares it live; his token shows his camera only.
    bob_cam = make_camera(other_user, "east")
    bob_img = make_content(other_user, bob_cam, at=hours_ago(0.5))
    camio = make_camio(other_user, cameras=["east"], start=hours_ago(24))
    body = anon.get(f"/api/content/live/east?view_tokens={camio.view_token}").json()
    assert body["id"] == bob_img.public_id


def test_private_live_camio_needs_a_signed_in_guest(anon, user, other_user, other_api, east):
    camio = make_camio(user, cameras=["east"], start=hours_ago(24), type="private")
    url = f"/api/content/live/east?view_tokens={camio.view_token}"
    assert anon.get(url).status_code == 404
    assert other_api.get(url).status_code == 404
    make_guest(user, other_user)
    assert other_api.get(url).status_code == 200


def test_empty_view_tokens_is_400(anon, east):
    assert anon.get("/api/content/live/east?view_tokens=,,").status_code == 400
