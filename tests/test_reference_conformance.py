"""The Camio API reference (shared/seeds/004_c1a8024931c42393.txt), endpoint by endpoint, as a partner sees it.

Each test names the reference section it checks. Paths, parameters, response fields, timestamp
format (``2014-02-21T04:12:38.911-0000``) and documented errors (``{"message": …}`` with 400, 401,
404) are asserted; so is isolation: another user, and an Upload Token used where an OAuth token
belongs, never see the data.
"""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import Guest
from accounts.selectors import account_settings_get
from cameras.models import Camera, Zone
from search.access_tokens import item_access_token
from search.models import Camio
from tests.search.test_search_factories import T0, event
from tests.search.test_search_factories import camera as make_camera
from tests.uploads.samples import jpeg_bytes, mp4_bytes
from uploads.models import Content

pytestmark = pytest.mark.django_db

# The reference's timestamps: "2014-02-21T04:12:38.911-0000" (UTC, milliseconds, "-0000").
CAMIO_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0000$")
POLYGONS = [
    {
        "points": [
            {"x": 0.12079093470323, "y": 0.16636921918746},
            {"x": 0.45530391629449, "y": 0.1171216887084},
            {"x": 0.4, "y": 0.6},
        ]
    }
]


@pytest.fixture(autouse=True)
def _private_media_and_fast_passwords(settings, tmp_path):
    # Stored bytes in a folder of this test; users are made with passwords, so hash them cheaply.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def upload_token(user) -> str:
    return account_settings_get(user=user).upload_token


@pytest.fixture
def upload_token_as_oauth(upload_token) -> APIClient:
    """A client that presents the Upload Token where an OAuth token belongs."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"token {upload_token}")
    return client


def assert_error(response, status: int) -> None:
    """The reference's error: the status, and a JSON body ``{"message": "…"}``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("message"), str) and body["message"]


def put_upload(client, token: str, camera: str, name: str, data: bytes, content_type: str, query: str):
    """``curl -H "Content-Type: …" -X PUT -T file URL``: the raw file as the body."""
    return client.generic(
        "PUT", f"/api/users/{token}/cameras/{camera}/content/{name}?{query}", data, content_type=content_type
    )


# --- Authentication -------------------------------------------------------------------------------


def test_authorization_header_and_access_token_parameter(api, token, anon):
    assert api.get("/api/users/me/cameras").status_code == 200
    # "Alternatively, the OAuth token can be set as a access_token query parameter."
    assert anon.get(f"/api/users/me/cameras?access_token={token}").status_code == 200
    assert anon.get(f"/api/search/?access_token={token}").status_code == 200
    assert_error(anon.get("/api/users/me/cameras"), 401)
    assert_error(anon.get("/api/users/me/cameras?access_token=wrong"), 401)


# --- Cameras: List all Cameras ---------------------------------------------------------------------


def test_list_cameras_shape(api, user):
    cam = make_camera(user, "front")
    cam.camera_id = "ET22dbt2iGBzsaN4u"
    cam.capabilities = ["web_rtc", "audio", "video"]
    cam.save()
    make_camera(user, "Chrome")
    for path in ("/api/users/me/cameras/", "/api/users/me/cameras"):
        response = api.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert isinstance(body, list) and sorted(c["name"] for c in body) == ["Chrome", "front"]
        front = next(c for c in body if c["name"] == "front")
        assert front["camera_id"] == "ET22dbt2iGBzsaN4u"
        assert front["attribution"] == {} and front["tags"] == []
        assert front["is_online"] is False
        assert front["capabilities"] == ["web_rtc", "audio", "video"]
        assert isinstance(front["refreshInterval"], int)
        assert "zones" not in front


def test_list_cameras_fetch_zones(api, user):
    cam = make_camera(user, "front")
    Zone.objects.create(camera=cam, name="door", polygons=POLYGONS)
    body = api.get("/api/users/me/cameras/?fetch_zones=true").json()
    assert body[0]["zones"] == [{"name": "door", "polygons": POLYGONS}]
    assert "zones" not in api.get("/api/users/me/cameras/?fetch_zones=false").json()[0]
    assert_error(api.get("/api/users/me/cameras/?fetch_zones=maybe"), 400)


def test_list_cameras_of_a_host_with_user(api, other_api, user, other_user):
    make_camera(other_user, "garage")
    # Not (yet) a guest of bob: refused, and nothing of bob's is shown.
    response = api.get("/api/users/me/cameras/?user=bob@example.com")
    assert response.status_code in (403, 404) and "garage" not in response.content.decode()
    Guest.objects.create(host=other_user, guest=user)
    body = api.get("/api/users/me/cameras/?user=bob@example.com").json()
    assert [c["name"] for c in body] == ["garage"]
    # The user's own email (or none) is the user's own cameras.
    assert api.get("/api/users/me/cameras/?user=alice@example.com").json() == []


def test_list_cameras_is_private(api, other_api, user, upload_token, upload_token_as_oauth):
    make_camera(user, "front")
    assert other_api.get("/api/users/me/cameras").json() == []
    # "An Upload Token permits only the uploading of content": neither in the path nor as OAuth.
    response = api.get(f"/api/users/{upload_token}/cameras")
    assert_error(response, 404)
    assert "front" not in response.content.decode()
    assert_error(upload_token_as_oauth.get("/api/users/me/cameras"), 401)


# --- Cameras: Get Camera ---------------------------------------------------------------------------


def test_get_camera_shape(api, user, upload_token, anon):
    # "The resolution of the camera is known only after the camera has uploaded content."
    cam = make_camera(user, "Door")
    body = api.get("/api/users/me/cameras/Door").json()
    assert "resolution" not in body
    response = put_upload(
        anon,
        upload_token,
        "Door",
        "2014-07-21T20:38:32.183-07:00.jpeg",
        jpeg_bytes(1280, 720),
        "image/jpeg",
        "camera_id=1234",
    )
    assert response.status_code in (200, 201), response.content
    response = api.get("/api/users/me/cameras/Door")
    assert response.status_code == 200
    body = response.json()
    for name in (
        "camera_id",
        "attribution",
        "capabilities",
        "is_online",
        "latitude",
        "longitude",
        "name",
        "resolution",
        "session_id",
        "tags",
        "user_id",
    ):
        assert name in body, name
    assert body["name"] == "Door"
    assert body["is_online"] is True  # "takes into account … recent uploads"
    assert isinstance(body["latitude"], float) and isinstance(body["longitude"], float)
    assert body["resolution"] == {"aspect_ratio": pytest.approx(1.7777778), "height": 720, "width": 1280}
    assert isinstance(body["session_id"], str) and isinstance(body["user_id"], str)
    assert body["user_id"] == str(cam.owner_id)


def test_get_camera_unknown_or_another_users_is_404(api, other_api, user, upload_token_as_oauth):
    make_camera(user, "front")
    assert_error(api.get("/api/users/me/cameras/nope"), 404)
    response = other_api.get("/api/users/me/cameras/front")
    assert_error(response, 404)
    assert_error(upload_token_as_oauth.get("/api/users/me/cameras/front"), 401)


# --- Cameras: Delete Camera ------------------------------------------------------------------------


def test_delete_camera(api, other_api, user, other_user, upload_token_as_oauth):
    make_camera(user, "front")
    assert_error(other_api.delete("/api/users/me/cameras/front"), 404)
    assert_error(upload_token_as_oauth.delete("/api/users/me/cameras/front"), 401)
    # A guest reads a host's cameras but deletes none of them.
    Guest.objects.create(host=user, guest=other_user)
    response = other_api.delete("/api/users/me/cameras/front?user=alice@example.com")
    assert response.status_code in (403, 404)
    assert Camera.objects.filter(owner=user, name="front").exists()
    response = api.delete("/api/users/me/cameras/front")
    assert response.status_code == 204 and response.content == b""
    assert not Camera.objects.filter(owner=user, name="front").exists()
    assert_error(api.delete("/api/users/me/cameras/front"), 404)


# --- Get Camera Configuration ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put"])
@pytest.mark.parametrize("mac", ["12:34:56:78:90:12", "123456789012"])
def test_get_camera_configuration(anon, method, mac):
    path = f"/api/cameras/{mac}?ip_address_local=192.168.1.51&maker=Sharx&model=SCNC3904"
    response = getattr(anon, method)(path, HTTP_USER_AGENT="Wget")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"commands", "ip_address", "mac_address", "maker", "model", "user_agent"}
    assert body["mac_address"] == "123456789012"
    assert (body["maker"], body["model"], body["user_agent"]) == ("Sharx", "SCNC3904", "Wget")
    assert body["commands"], "an unclaimed camera is told at least how to keep polling"
    for command in body["commands"]:
        assert set(command) == {"date_updated", "id", "is_auth_required", "method", "path", "regex_response"}
        assert CAMIO_DATE.match(command["date_updated"])


@pytest.mark.parametrize("query", ["model=SCNC3904", "maker=Sharx", ""])
def test_get_camera_configuration_needs_maker_and_model(anon, query):
    assert_error(anon.get(f"/api/cameras/123456789012?{query}"), 400)


def test_get_camera_configuration_with_a_final_slash(anon):
    # The reference's ping command polls "…/api/cameras/$(hwaddr)/?maker=…" (a final slash).
    response = anon.get("/api/cameras/123456789012/?maker=Sharx&model=SCNC3904&ip_address_local=192.168.1.51")
    assert response.status_code == 200 and response.json()["mac_address"] == "123456789012"


# --- Zones -----------------------------------------------------------------------------------------


def test_zones_create_list_get_delete(api, user):
    make_camera(user, "front")
    base = "/api/users/me/cameras/front/zones"
    response = api.post(f"{base}/door", {"name": "door", "polygons": POLYGONS}, format="json")
    assert response.status_code in (200, 201)
    assert response.json() == {"name": "door", "polygons": POLYGONS}
    # "Create or Edit": the same POST replaces.
    edited = [{"points": [{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 0.0}, {"x": 1.0, "y": 1.0}]}]
    assert api.post(f"{base}/door", {"name": "door", "polygons": edited}, format="json").status_code == 200
    api.post(f"{base}/entrance", {"name": "entrance", "polygons": POLYGONS}, format="json")
    for path in (base, f"{base}/"):
        listed = api.get(path).json()
        assert sorted(z["name"] for z in listed) == ["door", "entrance"]
        assert all(set(z) == {"name", "polygons"} for z in listed)
    assert api.get(f"{base}/door").json() == {"name": "door", "polygons": edited}
    response = api.delete(f"{base}/door")
    assert response.status_code == 204 and response.content == b""
    assert_error(api.get(f"{base}/door"), 404)
    assert_error(api.delete(f"{base}/door"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "door"},
        {"name": "door", "polygons": []},
        {"name": "door", "polygons": [{"points": [{"x": 0.1, "y": 0.1}]}]},
        {"name": "door", "polygons": [{"points": [{"x": "a", "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}]}]},
        {"name": "window", "polygons": POLYGONS},
    ],
)
def test_zone_bad_body_is_400_and_writes_nothing(api, user, body):
    make_camera(user, "front")
    assert_error(api.post("/api/users/me/cameras/front/zones/door", body, format="json"), 400)
    assert not Zone.objects.exists()


def test_zones_are_private(api, other_api, user, upload_token, upload_token_as_oauth):
    cam = make_camera(user, "front")
    Zone.objects.create(camera=cam, name="door", polygons=POLYGONS)
    base = "/api/users/me/cameras/front/zones"
    for client in (other_api,):
        assert_error(client.get(base), 404)
        assert_error(client.get(f"{base}/door"), 404)
        assert_error(client.post(f"{base}/door", {"name": "door", "polygons": POLYGONS}, format="json"), 404)
        assert_error(client.delete(f"{base}/door"), 404)
    for method in ("get", "delete"):
        assert_error(getattr(upload_token_as_oauth, method)(f"{base}/door"), 401)
    assert_error(api.get(f"/api/users/{upload_token}/cameras/front/zones"), 404)
    assert Zone.objects.get(camera=cam, name="door").polygons == POLYGONS


# --- Search ----------------------------------------------------------------------------------------


def test_search_response_shape(api, user):
    front = make_camera(user, "frontDoor")
    ev = event(front, T0, labels=["walkway"], level=2, items=3, stored=True)
    response = api.get("/api/search/", {"fetch_all_thumbnails": "true", "fetch_access_tokens": "true"})
    assert response.status_code == 200
    body = response.json()
    query = body["query"]
    assert {"date", "sort", "motion_type", "object_type", "content_type"} <= set(query)
    assert (query["sort"], query["motion_type"], query["object_type"], query["content_type"]) == (
        "desc",
        "imo",
        "events",
        "image",
    )
    assert query["date"] is None or CAMIO_DATE.match(query["date"])
    result = body["result"]
    assert result["bucket_type"] == "event"
    assert isinstance(result["count"], int) and isinstance(result["more_results"], bool)
    assert CAMIO_DATE.match(result["earliest_date_considered"])
    assert CAMIO_DATE.match(result["latest_date_considered"])
    bucket = result["buckets"][0]
    for name in (
        "bucket_id",
        "source",
        "labels",
        "earliest_date",
        "latest_date",
        "max_interest_level",
        "cover_image_id",
        "annotations",
        "images",
        "count",
    ):
        assert name in bucket, name
    assert bucket["bucket_id"] == ev.public_id and bucket["source"] == "frontDoor"
    assert bucket["labels"] == ["walkway"]
    assert bucket["earliest_date"] == "2026-11-20T12:00:00.000-0000"
    assert bucket["latest_date"] == "2026-11-20T12:00:02.000-0000"
    assert bucket["max_interest_level"] == 2 and bucket["count"] == 3
    assert isinstance(bucket["annotations"], list)
    image = bucket["images"][0]
    for name in (
        "id",
        "content_type",
        "date_created",
        "labels",
        "interest_level",
        "interest_score",
        "image_bytes",
        "access_token",
    ):
        assert name in image, name
    assert image["content_type"] == "image/jpeg" and CAMIO_DATE.match(image["date_created"])
    assert isinstance(image["interest_level"], int) and isinstance(image["interest_score"], float)
    # The default thumbnail box is 150 x 112.
    thumb = Image.open(io.BytesIO(base64.b64decode(image["image_bytes"])))
    assert thumb.width <= 150 and thumb.height <= 112
    assert bucket["cover_image_id"] in {i["id"] for i in bucket["images"]}


def test_search_parameters_are_accepted(api, user):
    front = make_camera(user, "Front")
    ev = event(front, T0, labels=["walkway"], level=3, items=1)
    params = {
        "object_type": "events",
        "date": "2026-11-21T11:27:40.929-0000",
        "sort": "desc",
        "sources": "Front",
        "labels": "Walkway",
        "content_type": "image",
        "motion_type": "imo",
        "num_results": "100",
        "fetch_motion_boxes": "true",
        "fetch_cover_thumbnails": "false",
        "fetch_all_thumbnails": "false",
        "fetch_access_tokens": "false",
        "w": "150",
        "h": "112",
        "quality": "85",
    }
    body = api.get("/api/search", params).json()
    assert [b["bucket_id"] for b in body["result"]["buckets"]] == [ev.public_id]
    assert body["query"]["date"] == "2026-11-21T11:27:40.929-0000"
    for object_type, bucket_type in (("seconds", None), ("hours", None), ("camios", "camio")):
        response = api.get("/api/search", {"object_type": object_type})
        assert response.status_code == 200, response.content
        if bucket_type:
            assert response.json()["result"]["bucket_type"] == bucket_type
    assert api.get("/api/search", {"event_as_date": ev.public_id}).status_code == 200
    assert api.get("/api/search", {"event": ev.public_id}).status_code == 200
    assert api.get("/api/search", {"sort": "asc"}).status_code == 200
    for motion in ("all", "smo", "imo", "lmo"):
        assert api.get("/api/search", {"motion_type": motion}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"object_type": "images"},
        {"sort": "up"},
        {"content_type": "audio"},
        {"motion_type": "xmo"},
        {"num_results": "101"},
        {"num_results": "0"},
        {"date": "yesterday at noon-ish"},
        {"quality": "0"},
        {"quality": "101"},
        {"fetch_all_thumbnails": "perhaps"},
    ],
)
def test_search_bad_parameter_is_400(api, params):
    assert_error(api.get("/api/search", params), 400)


def test_search_is_private(api, other_api, user, other_user, anon, upload_token_as_oauth):
    front = make_camera(user, "front")
    ev = event(front, T0, labels=["walkway"], items=1)
    assert other_api.get("/api/search").json()["result"]["buckets"] == []
    assert other_api.get("/api/search", {"sources": "front"}).status_code in (200, 400, 404)
    assert ev.public_id not in other_api.get("/api/search", {"sources": "front"}).content.decode()
    response = other_api.get("/api/search", {"user": "alice@example.com"})
    assert response.status_code in (403, 404) and ev.public_id not in response.content.decode()
    for client in (other_api,):
        for params in ({"event": ev.public_id}, {"event_as_date": ev.public_id}):
            response = client.get("/api/search", params)
            assert response.status_code in (400, 404) and ev.public_id not in response.json().get("result", "")
    assert_error(anon.get("/api/search"), 401)
    assert_error(upload_token_as_oauth.get("/api/search"), 401)
    assert_error(anon.get("/api/search", {"view_tokens": "not-a-view-token"}), 403)
    # A host's guest searches with user=.
    Guest.objects.create(host=user, guest=other_user)
    body = other_api.get("/api/search", {"user": "alice@example.com"}).json()
    assert [b["bucket_id"] for b in body["result"]["buckets"]] == [ev.public_id]


def test_search_with_view_tokens_hands_out_access_tokens(anon, user):
    front = make_camera(user, "front")
    event(front, T0, labels=["walkway"], items=2)
    camio = Camio.objects.create(owner=user, name="share", type="public", query={"cameras": ["front"]})
    body = anon.get("/api/search", {"view_tokens": camio.view_token}).json()
    images = body["result"]["buckets"][0]["images"]
    assert images and all(isinstance(i["access_token"], str) and i["access_token"] for i in images)


# --- Content: Get Content (authenticated) ----------------------------------------------------------


def test_get_content_authenticated(api, other_api, anon, user, upload_token, upload_token_as_oauth):
    data = jpeg_bytes(320, 180)
    put_upload(anon, upload_token, "front", "2014-07-21T20:38:32.183-07:00.jpeg", data, "image/jpeg", "camera_id=1")
    content = Content.objects.get(owner=user)
    path = f"/api/users/me/cameras/front/content/{content.public_id}"
    response = api.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == data
    for client, status in ((other_api, 404), (anon, 401), (upload_token_as_oauth, 401)):
        assert_error(client.get(path), status)
    assert_error(api.get(f"/api/users/{upload_token}/cameras/front/content/{content.public_id}"), 404)
    assert_error(api.get("/api/users/me/cameras/front/content/unknown-id"), 404)
    assert_error(api.get(f"/api/users/me/cameras/back/content/{content.public_id}"), 404)


# --- Content: Get Content (with access_token) ------------------------------------------------------


def test_post_content_with_access_tokens(anon, user):
    front = make_camera(user, "front")
    ev = event(front, T0, items=2, stored=True)
    items = list(Content.objects.filter(owner=user).order_by("captured_at"))
    own = (user.pk, user.pk)  # the owner's own search hands these out
    payload = [{"id": c.public_id, "access_token": item_access_token(c.public_id, viewer=own)} for c in items]
    response = anon.post("/api/content", payload, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [i["id"] for i in body] == [c.public_id for c in items]
    for item in body:
        assert item["content_type"] == "image/jpeg" and CAMIO_DATE.match(item["date_created"])
        full = Image.open(io.BytesIO(base64.b64decode(item["image_bytes"])))
        assert full.size == (640, 480)  # resize defaults to false
    # resize=true fits the image in w x h (defaults 150 x 112).
    body = anon.post("/api/content?resize=true", payload, format="json").json()
    thumb = Image.open(io.BytesIO(base64.b64decode(body[0]["image_bytes"])))
    assert thumb.width <= 150 and thumb.height <= 112
    body = anon.post("/api/content?resize=true&w=64&h=64&quality=50", payload, format="json").json()
    thumb = Image.open(io.BytesIO(base64.b64decode(body[0]["image_bytes"])))
    assert thumb.width <= 64 and thumb.height <= 64
    assert ev.public_id  # the event stays the items' bucket


def test_post_content_wrong_access_token_reveals_nothing(anon, user):
    front = make_camera(user, "front")
    event(front, T0, items=2, stored=True)
    a, b = Content.objects.filter(owner=user).order_by("captured_at")
    # b's token does not open a.
    body = anon.post(
        "/api/content",
        [{"id": a.public_id, "access_token": item_access_token(b.public_id, viewer=(user.pk, user.pk))}],
        format="json",
    )
    assert body.status_code == 200 and body.json() == []
    for bad in ({"id": a.public_id}, "not a list", [{"access_token": "x"}], [{"id": 1, "access_token": "x"}]):
        assert_error(anon.post("/api/content", bad, format="json"), 400)
    assert_error(anon.post("/api/content?quality=101", [], format="json"), 400)


# --- Get Latest Live Image -------------------------------------------------------------------------


def test_live_image_json_and_jpeg(api, anon, user, upload_token):
    put_upload(
        anon,
        upload_token,
        "front",
        "2026-12-01T10:00:00.000-00:00.jpeg",
        jpeg_bytes(640, 360),
        "image/jpeg",
        "camera_id=1&img_type=h",
    )
    newest = Content.objects.get(owner=user)
    for path in ("/api/content/live/front/", "/api/content/live/front"):
        response = api.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"  # "When omitted, the default is json."
        body = response.json()
        assert body["id"] == newest.public_id and CAMIO_DATE.match(body["date_created"])
        assert Image.open(io.BytesIO(base64.b64decode(body["image_bytes"]))).size == (640, 360)
    response = api.get("/api/content/live/front/?output=jpeg&w=320&h=180&quality=50")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (320, 180)
    assert_error(api.get("/api/content/live/front/?output=gif"), 400)
    assert_error(api.get("/api/content/live/front/?quality=0"), 400)
    assert_error(api.get("/api/content/live/back/"), 404)


def test_live_image_with_view_tokens_and_user(anon, other_api, user, other_user, upload_token, upload_token_as_oauth):
    put_upload(
        anon,
        upload_token,
        "east",
        "2026-12-01T10:00:00.000-00:00.jpeg",
        jpeg_bytes(640, 360),
        "image/jpeg",
        "camera_id=1",
    )
    start = "2026-01-01T00:00:00.000-0000"
    # "create a Camio with a query object with only one camera in cameras, start_date without an
    # end_date, and sort of asc" (through the API, as the reference says).
    owner_api = APIClient()
    owner_api.force_authenticate(user)
    created = owner_api.post(
        "/api/users/me/camios",
        {"name": "live", "query": {"cameras": ["east"], "start_date": start, "sort": "asc"}},
        format="json",
    )
    assert created.status_code in (200, 201), created.content
    view_token = created.json()["view_token"]
    response = anon.get(f"/api/content/live/east?view_tokens={view_token}&output=jpeg&w=320&h=180")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    # A Camio with an end date does not open the live image.
    ended = Camio.objects.create(
        owner=user,
        name="ended",
        type="public",
        query={"cameras": ["east"], "start_date": start, "end_date": "2026-02-01T00:00:00.000-0000"},
    )
    assert_error(anon.get(f"/api/content/live/east?view_tokens={ended.view_token}"), 404)
    # Others: not without sign-in, not another account, not an Upload Token as OAuth.
    assert_error(anon.get("/api/content/live/east"), 401)
    response = other_api.get("/api/content/live/east")
    assert_error(response, 404)
    assert_error(other_api.get("/api/content/live/east?user=alice@example.com"), 403)
    assert_error(upload_token_as_oauth.get("/api/content/live/east"), 401)
    Guest.objects.create(host=user, guest=other_user)
    assert other_api.get("/api/content/live/east?user=alice@example.com").status_code == 200


# --- Upload Content --------------------------------------------------------------------------------


def test_upload_with_the_references_put_commands(anon, user, upload_token):
    # curl -H "Content-Type: video/mp4" -X PUT -T "2014-07-21T20:38:31.000-07:00.mp4" \
    #   …/api/users/51r6kndapc/cameras/front/content/2014-07-21T20:38:31.000-07:00.mp4?camera_id=1234&upload_mode=video
    response = put_upload(
        anon,
        upload_token,
        "front",
        "2014-07-21T20:38:31.000-07:00.mp4",
        mp4_bytes(seconds=1),
        "video/mp4",
        "camera_id=1234&upload_mode=video",
    )
    assert response.status_code in (200, 201), response.content
    # curl -H "Content-Type: image/jpeg" -X PUT -T "2014-07-21T20:38:32.183-07:00.jpeg" …?camera_id=1234
    response = put_upload(
        anon,
        upload_token,
        "front",
        "2014-07-21T20:38:32.183-07:00.jpeg",
        jpeg_bytes(320, 180),
        "image/jpeg",
        "camera_id=1234",
    )
    assert response.status_code in (200, 201), response.content
    video, image = Content.objects.filter(owner=user).order_by("captured_at")
    assert video.content_type == "video/mp4" and video.upload_mode == "video"
    assert image.content_type == "image/jpeg"
    # The timestamp in the name dates the content (-07:00 → UTC).
    assert image.captured_at.isoformat().startswith("2014-07-22T03:38:32.183")
    assert Camera.objects.get(owner=user, name="front").camera_id == "1234"


def test_upload_with_the_references_post_commands(anon, api, user, upload_token):
    # curl -H "Content-Type:video/mp4" -X POST -T "filename.mp4" "…/content/?camera_id=1234&upload_mode=video"
    response = anon.generic(
        "POST",
        f"/api/users/{upload_token}/cameras/front/content/?camera_id=1234&upload_mode=video",
        mp4_bytes(seconds=1),
        content_type="video/mp4",
    )
    assert response.status_code in (200, 201), response.content
    response = anon.generic(
        "POST",
        f"/api/users/{upload_token}/cameras/front/content/2014-07-21T20:38:32.183-07:00.jpeg?camera_id=1234",
        jpeg_bytes(),
        content_type="image/jpeg",
    )
    assert response.status_code in (200, 201), response.content
    # ":token — The token me for the current user or an upload token."
    response = api.generic(
        "POST",
        "/api/users/me/cameras/front/content/x.jpeg?camera_id=1234",
        jpeg_bytes(color=(1, 2, 3)),
        content_type="image/jpeg",
    )
    assert response.status_code in (200, 201), response.content
    assert Content.objects.filter(owner=user).count() == 3


@pytest.mark.parametrize(
    "query",
    [
        "camera_id=1&upload_mode=audio",
        "camera_id=1&rotation=45",
        "camera_id=1&video_length=-1",
        "camera_id=1&img_type=z",
        "camera_id=1&options=bogus",
    ],
)
def test_upload_bad_parameter_is_400_and_stores_nothing(anon, upload_token, query):
    response = put_upload(anon, upload_token, "front", "a.jpeg", jpeg_bytes(), "image/jpeg", query)
    assert_error(response, 400)
    assert not Content.objects.exists()


def test_upload_parameters_are_accepted(anon, user, upload_token):
    query = "camera_id=cam123&img_type=h&rotation=90&options=parse_timestamp"
    response = put_upload(
        anon, upload_token, "front", "2014-07-21T20:38:32.183-07:00.jpeg", jpeg_bytes(), "image/jpeg", query
    )
    assert response.status_code in (200, 201), response.content
    content = Content.objects.get(owner=user)
    assert content.img_type == "h" and content.rotation == 90
    response = put_upload(
        anon,
        upload_token,
        "front",
        "clip.mp4",
        mp4_bytes(seconds=1),
        "video/mp4",
        "camera_id=cam123&upload_mode=video&video_length=20.18",
    )
    assert response.status_code in (200, 201), response.content
    assert Content.objects.get(owner=user, kind="video").duration == pytest.approx(20.18)


def test_upload_needs_a_valid_token(anon, api, user, other_user, upload_token):
    assert_error(put_upload(anon, "not-a-token", "front", "a.jpeg", jpeg_bytes(), "image/jpeg", "camera_id=1"), 401)
    assert_error(put_upload(anon, "me", "front", "a.jpeg", jpeg_bytes(), "image/jpeg", "camera_id=1"), 401)
    assert not Content.objects.exists()
    # Uploads with one account's token land in that account only.
    put_upload(anon, upload_token, "front", "a.jpeg", jpeg_bytes(), "image/jpeg", "camera_id=1")
    assert set(Content.objects.values_list("owner_id", flat=True)) == {user.pk}


# --- User Camios -----------------------------------------------------------------------------------


def test_camios_create_and_list(api, other_api, user, upload_token_as_oauth):
    front = make_camera(user, "front")
    events = [event(front, T0 + timedelta(minutes=i), items=1).public_id for i in range(3)]
    body = {"name": "My Camio", "type": "public", "query": {"cameras": [], "labels": [], "events": events}}
    response = api.post("/api/users/me/camios", body, format="json")
    assert response.status_code in (200, 201), response.content
    created = response.json()
    assert {"view_token", "name", "date_created", "type"} <= set(created)
    assert created["name"] == "My Camio" and created["type"] == "public"
    assert CAMIO_DATE.match(created["date_created"])
    listed = api.get("/api/users/me/camios").json()
    assert [c["view_token"] for c in listed] == [created["view_token"]]
    assert {"view_token", "name", "date_created", "type"} <= set(listed[0])
    # Defaults: name is the query's description, type is public.
    default = api.post("/api/users/me/camios", {"query": {"cameras": ["front"]}}, format="json").json()
    assert default["type"] == "public" and default["name"]
    assert_error(api.post("/api/users/me/camios", {"type": "secret"}, format="json"), 400)
    # Others see none of them.
    assert other_api.get("/api/users/me/camios").json() == []
    assert_error(upload_token_as_oauth.get("/api/users/me/camios"), 401)
    # Another account cannot share alice's events.
    response = other_api.post("/api/users/me/camios", body, format="json")
    assert_error(response, 400)


# --- Camios: Create Camio Download -----------------------------------------------------------------


def test_camio_download_needs_oauth(api, anon, user):
    camio = Camio.objects.create(owner=user, name="share", type="public", query={})
    assert_error(anon.post(f"/api/camios/{camio.view_token}/downloads"), 401)
    response = api.post(f"/api/camios/{camio.view_token}/downloads", {"ignored": True}, format="json")
    assert response.status_code == 200, response.content
    assert_error(api.post("/api/camios/not-a-camio/downloads"), 404)


# --- Settings --------------------------------------------------------------------------------------


def test_settings_get_shape(api, user, upload_token):
    response = api.get("/api/users/me/settings")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"notifications", "upload_token", "recording_enabled"}
    assert set(body["notifications"]) == {
        "motion_alerts",
        "camera_diagnostics",
        "announcements",
        "newsletters",
        "camio_daily",
    }
    for preference in body["notifications"].values():
        assert set(preference) == {"state", "method", "options"}
        assert preference["state"] in ("ON", "OFF") and preference["method"] in ("EMAIL", "PUSH")
        assert isinstance(preference["options"], str)
    assert body["upload_token"] == upload_token
    assert body["recording_enabled"] is True


def test_settings_update(api, user, upload_token):
    payload = {
        "notifications": {"motion_alerts": {"state": "ON", "method": "PUSH", "options": "mute street,window"}},
        "recording_enabled": False,
        "upload_token": "ABQR123",  # "When present in a POST/PUT/PATCH, this value is ignored."
    }
    response = api.post("/api/users/me/settings", payload, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["notifications"]["motion_alerts"] == payload["notifications"]["motion_alerts"]
    assert body["recording_enabled"] is False
    assert body["upload_token"] == upload_token
    assert api.get("/api/users/me/settings").json() == body


@pytest.mark.parametrize(
    "payload",
    [
        {"recording_enabled": "no"},
        {"notifications": {"motion_alerts": {"state": "MAYBE"}}},
        {"notifications": {"motion_alerts": {"method": "SMS"}}},
        {"notifications": {"fax": {"state": "ON"}}},
    ],
)
def test_settings_bad_update_is_400_and_writes_nothing(api, user, payload):
    before = api.get("/api/users/me/settings").json()
    assert_error(api.post("/api/users/me/settings", payload, format="json"), 400)
    assert api.get("/api/users/me/settings").json() == before


def test_settings_are_private(api, other_api, anon, user, upload_token, upload_token_as_oauth):
    assert other_api.get("/api/users/me/settings").json()["upload_token"] != upload_token
    assert_error(anon.get("/api/users/me/settings"), 401)
    assert_error(upload_token_as_oauth.get("/api/users/me/settings"), 401)
    assert_error(api.get(f"/api/users/{upload_token}/settings"), 404)
    assert_error(anon.post("/api/users/me/settings", {"recording_enabled": False}, format="json"), 401)


# --- Upload Token ----------------------------------------------------------------------------------


def test_get_upload_token_is_a_json_string(api, other_api, anon, upload_token, upload_token_as_oauth):
    response = api.get("/api/users/me/tokens/upload")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.content.decode() == f'"{upload_token}"'
    assert other_api.get("/api/users/me/tokens/upload").json() != upload_token
    assert_error(anon.get("/api/users/me/tokens/upload"), 401)
    assert_error(upload_token_as_oauth.get("/api/users/me/tokens/upload"), 401)
    assert_error(api.get(f"/api/users/{upload_token}/tokens/upload"), 404)


def test_upload_token_hint(anon, upload_token):
    for method in (anon.get, anon.post):
        response = method(f"/api/tokens/{upload_token}/hint")
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        body = response.json()
        assert set(body) == {"email"}
        # "a portion of the email address": recognisable, never the whole address.
        assert body["email"].endswith("@...") and body["email"].startswith("al")
        assert "example.com" not in body["email"]
    assert_error(anon.get("/api/tokens/not-a-token/hint"), 404)


# --- Errors ----------------------------------------------------------------------------------------


def test_unknown_api_path_is_json_404(api):
    assert_error(api.get("/api/users/me/nothing-here"), 404)


def test_rate_limit_is_429_with_a_message(api, settings, throttle_clock):
    settings.API_RATE_LIMIT = "2/minute"
    assert [api.get("/api/users/me/cameras").status_code for _ in range(2)] == [200, 200]
    assert_error(api.get("/api/users/me/cameras"), 429)


# --- Defaults and authorization details ------------------------------------------------------------


def test_search_defaults_num_results_10_and_motion_type_imo(api, user):
    front = make_camera(user, "front")
    for i in range(11):
        event(front, T0 + timedelta(minutes=i), level=2, items=1)
    quiet = event(front, T0 + timedelta(hours=1), level=1, items=1)  # significant motion only
    body = api.get("/api/search").json()
    assert len(body["result"]["buckets"]) == 10 and body["result"]["more_results"] is True
    assert quiet.public_id not in [b["bucket_id"] for b in body["result"]["buckets"]]
    # sort defaults to desc: newest first.
    dates = [b["earliest_date"] for b in body["result"]["buckets"]]
    assert dates == sorted(dates, reverse=True)
    smo = api.get("/api/search", {"motion_type": "smo"}).json()
    assert smo["result"]["buckets"][0]["bucket_id"] == quiet.public_id


def test_search_images_carry_no_access_token_or_bytes_unless_asked(api, user):
    front = make_camera(user, "front")
    event(front, T0, items=2, stored=True)
    image = api.get("/api/search").json()["result"]["buckets"][0]["images"][0]
    assert "access_token" not in image and "image_bytes" not in image and "motion_boxes" not in image
    bucket = api.get("/api/search", {"fetch_cover_thumbnails": "true"}).json()["result"]["buckets"][0]
    with_bytes = [i["id"] for i in bucket["images"] if "image_bytes" in i]
    assert with_bytes == [bucket["cover_image_id"]]


def test_access_token_parameter_is_for_get_only(anon, token):
    # "you must supply the access token in the HTTP Authorization header for POST/PUT/PATCH commands"
    response = anon.post(f"/api/users/me/settings?access_token={token}", {"recording_enabled": False}, format="json")
    assert_error(response, 401)


def test_upload_token_never_authenticates_as_oauth(anon, upload_token, upload_token_as_oauth):
    assert_error(anon.get(f"/api/users/me/cameras?access_token={upload_token}"), 401)
    assert_error(anon.get(f"/api/search?access_token={upload_token}"), 401)
    # Not to upload as "me" either: the Upload Token goes in the path.
    response = put_upload(upload_token_as_oauth, "me", "front", "a.jpeg", jpeg_bytes(), "image/jpeg", "camera_id=1")
    assert_error(response, 401)
    assert not Content.objects.exists()


def test_get_content_of_a_host_needs_to_be_its_guest(api, other_api, anon, user, other_user, upload_token):
    put_upload(anon, upload_token, "front", "a.jpeg", jpeg_bytes(), "image/jpeg", "camera_id=1")
    content = Content.objects.get(owner=user)
    path = f"/api/users/me/cameras/front/content/{content.public_id}?user=alice@example.com"
    response = other_api.get(path)
    assert response.status_code in (403, 404)
    Guest.objects.create(host=user, guest=other_user)
    assert other_api.get(path).status_code == 200


def test_zones_of_a_host_read_by_a_guest_but_not_edited(api, other_api, user, other_user):
    cam = make_camera(user, "front")
    Zone.objects.create(camera=cam, name="door", polygons=POLYGONS)
    Guest.objects.create(host=user, guest=other_user)
    base = "/api/users/me/cameras/front/zones"
    assert other_api.get(f"{base}?user=alice@example.com").json() == [{"name": "door", "polygons": POLYGONS}]
    assert other_api.get(f"{base}/door?user=alice@example.com").status_code == 200
    edit = {"name": "door", "polygons": [{"points": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}]}]}
    assert other_api.post(f"{base}/door?user=alice@example.com", edit, format="json").status_code in (403, 404)
    assert other_api.delete(f"{base}/door?user=alice@example.com").status_code in (403, 404)
    assert Zone.objects.get(camera=cam, name="door").polygons == POLYGONS


def test_upload_defaults(anon, user, upload_token):
    # upload_mode default image, img_type default m, rotation default 0, no options.
    response = put_upload(anon, upload_token, "front", "a.jpeg", jpeg_bytes(), "image/jpeg", "camera_id=1")
    assert response.status_code in (200, 201), response.content
    content = Content.objects.get(owner=user)
    assert (content.upload_mode, content.img_type, content.rotation) == ("image", "m", 0)
    assert list(content.options or []) == []
    # camera_id is "string, required".
    assert_error(put_upload(anon, upload_token, "front", "b.jpeg", jpeg_bytes(color=(9, 9, 9)), "image/jpeg", ""), 400)


def test_unknown_camera_or_zone_is_404(api, user):
    make_camera(user, "front")
    assert_error(api.get("/api/users/me/cameras/back/zones"), 404)
    assert_error(api.get("/api/users/me/cameras/back/zones/door"), 404)
    assert_error(api.post("/api/users/me/cameras/back/zones/door", {"polygons": POLYGONS}, format="json"), 404)
    assert_error(api.delete("/api/users/me/cameras/back"), 404)


def test_camios_of_another_user_are_404(api, other_api, user, upload_token_as_oauth):
    view_token = api.post("/api/users/me/camios", {"name": "mine", "query": {}}, format="json").json()["view_token"]
    assert_error(other_api.get(f"/api/users/me/camios/{view_token}"), 404)
    assert_error(other_api.delete(f"/api/users/me/camios/{view_token}"), 404)
    assert_error(upload_token_as_oauth.delete(f"/api/users/me/camios/{view_token}"), 401)
    assert Camio.objects.filter(view_token=view_token).exists()
