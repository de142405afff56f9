"""Cameras API: list, get and delete as the reference writes them, and who may touch them."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import Guest
from cameras.models import Camera, Zone
from cameras.services import camera_record_upload
from cameras.storage import camera_storage_prefix

pytestmark = pytest.mark.django_db

SQUARE = [{"points": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}]}]


@pytest.fixture
def front(user) -> Camera:
    return Camera.objects.create(owner=user, name="front", camera_id="abc", tags=["porch"])


def test_list_and_get_have_the_reference_fields(api, user, front):
    listed = api.get("/api/users/me/cameras/")
    assert listed.status_code == 200
    camera = listed.json()[0]
    for field in (
        "name",
        "camera_id",
        "attribution",
        "tags",
        "refreshInterval",
        "is_online",
        "capabilities",
        "latitude",
        "longitude",
        "session_id",
        "user_id",
    ):
        assert field in camera, field
    assert (camera["name"], camera["camera_id"], camera["tags"]) == ("front", "abc", ["porch"])
    assert camera["is_online"] is False  # never seen
    assert camera["user_id"] == str(user.pk)
    assert "resolution" not in camera  # known only after an upload
    assert api.get("/api/users/me/cameras/front").json() == camera


def test_an_upload_brings_resolution_and_online(api, front):
    camera_record_upload(camera=front, at=timezone.now(), width=1280, height=720)
    camera = api.get("/api/users/me/cameras/front").json()
    assert camera["is_online"] is True
    assert camera["resolution"] == {"aspect_ratio": 1.7777778, "height": 720, "width": 1280}


def test_delete_removes_zones_content_and_bytes(api, user, front, django_capture_on_commit_callbacks):
    from uploads.models import Content

    Zone.objects.create(camera=front, name="door", polygons=SQUARE)
    key = camera_storage_prefix(owner_id=user.pk, camera_pk=front.pk) + "2026/a.jpg"
    default_storage.save(key, ContentFile(b"jpeg"))
    Content.objects.create(
        owner=user,
        camera=front,
        kind="image",
        content_type="image/jpeg",
        storage_key=key,
        size=4,
        sha256="0" * 64,
        captured_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete("/api/users/me/cameras/front").status_code == 204
    assert api.get("/api/users/me/cameras/front").status_code == 404
    assert not Zone.objects.exists() and not Content.objects.exists()
    assert not default_storage.exists(key)
    assert api.delete("/api/users/me/cameras/front").status_code == 404


def test_other_users_cannot_see_or_delete(other_api, front):
    assert other_api.get("/api/users/me/cameras").json() == []
    assert other_api.get("/api/users/me/cameras/front").status_code == 404
    assert other_api.delete("/api/users/me/cameras/front").status_code == 404
    assert Camera.objects.filter(pk=front.pk).exists()


def test_guest_reads_but_cannot_delete(other_api, user, other_user, front):
    Guest.objects.create(host=user, guest=other_user)
    assert other_api.get("/api/users/me/cameras/front", {"user": user.email}).json()["name"] == "front"
    assert other_api.delete(f"/api/users/me/cameras/front?user={user.email}").status_code == 403
    assert Camera.objects.filter(pk=front.pk).exists()
    # Nor does user= aimed at the host fall back on the guest's own camera of the same name.
    own = Camera.objects.create(owner=other_user, name="front")
    zone = {"polygons": [{"points": [{"x": 0.1, "y": 0.1}, {"x": 0.5, "y": 0.1}, {"x": 0.5, "y": 0.5}]}]}
    for host in (user.email, "nobody@example.com"):
        assert other_api.delete(f"/api/users/me/cameras/front?user={host}").status_code == 403
        assert (
            other_api.post(f"/api/users/me/cameras/front/zones/z?user={host}", zone, format="json").status_code == 403
        )
        assert other_api.delete(f"/api/users/me/cameras/front/zones/z?user={host}").status_code == 403
    assert Camera.objects.filter(pk=own.pk).exists() and not own.zones.exists()
    # user= naming the caller is the caller's own account.
    assert other_api.delete(f"/api/users/me/cameras/front?user={other_user.email}").status_code == 204


def test_unknown_host_is_403(api, front):
    response = api.get("/api/users/me/cameras", {"user": "nobody@example.com"})
    assert response.status_code == 403
    assert response.json()["message"]


def test_bad_fetch_zones_is_400(api, front):
    response = api.get("/api/users/me/cameras", {"fetch_zones": "maybe"})
    assert response.status_code == 400
    assert "fetch_zones" in response.json()["message"]
