"""Zones API: list, get, create-or-replace, delete, validation, and who may touch them."""

import pytest

from accounts.models import Guest
from accounts.selectors import account_settings_get
from cameras.models import Camera, Zone

pytestmark = pytest.mark.django_db

DOOR = {
    "name": "door",
    "polygons": [{"points": [{"x": 0.1, "y": 0.1}, {"x": 0.5, "y": 0.1}, {"x": 0.5, "y": 0.6}]}],
}
URL = "/api/users/me/cameras/front/zones"


@pytest.fixture
def camera(user):
    return Camera.objects.create(owner=user, name="front")


def test_create_then_get_and_list(api, camera):
    created = api.post(f"{URL}/door", DOOR, format="json")
    assert created.status_code == 201
    assert created.json() == DOOR
    assert api.get(f"{URL}/door").json() == DOOR
    assert api.get(URL).json() == [DOOR]
    assert api.get(f"{URL}/door/").status_code == 200  # the reference's trailing slash


def test_post_replaces_an_existing_zone(api, camera):
    api.post(f"{URL}/door", DOOR, format="json")
    square = [{"points": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}, {"x": 0, "y": 1}]}]
    replaced = api.post(f"{URL}/door", {"polygons": square}, format="json")
    assert replaced.status_code == 200
    assert api.get(f"{URL}/door").json()["polygons"] == [
        {"points": [{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 0.0}, {"x": 1.0, "y": 1.0}, {"x": 0.0, "y": 1.0}]}
    ]
    assert Zone.objects.count() == 1


def test_delete(api, camera):
    api.post(f"{URL}/door", DOOR, format="json")
    assert api.delete(f"{URL}/door").status_code == 204
    assert api.get(f"{URL}/door").status_code == 404
    assert api.delete(f"{URL}/door").status_code == 404


def test_negative_zone_names_are_allowed(api, camera):
    response = api.post(f"{URL}/-street", {**DOOR, "name": "-street"}, format="json")
    assert response.status_code == 201
    assert Zone.objects.get(name="-street").is_negative


def test_fetch_zones_on_camera_list(api, camera):
    api.post(f"{URL}/door", DOOR, format="json")
    cameras = api.get("/api/users/me/cameras?fetch_zones=true").json()
    assert cameras[0]["zones"] == [DOOR]
    assert "zones" not in api.get("/api/users/me/cameras").json()[0]


def _poly(*points):
    return {"polygons": [{"points": [{"x": x, "y": y} for x, y in points]}]}


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({}, "polygons"),
        ({"polygons": []}, "at least one polygon"),
        ({"polygons": "square"}, "polygons"),
        ({"polygons": [{"points": [{"x": 0.1, "y": 0.1}, {"x": 0.2, "y": 0.2}]}]}, "at least 3"),
        ({"polygons": [{}]}, "points"),
        ({"polygons": [[0.1, 0.2]]}, "points"),
        (_poly((0.1, 0.1), (0.5, 0.1), (1.5, 0.5)), "between 0 and 1"),
        (_poly((0.1, 0.1), (0.5, 0.1), (-0.1, 0.5)), "between 0 and 1"),
        (_poly((0.1, 0.1), (0.5, 0.1), ("0.5", 0.5)), "must be a number"),
        (_poly((0.1, 0.1), (0.5, 0.1), (True, 0.5)), "must be a number"),
        (_poly((0.1, 0.1), (0.5, 0.1), (None, 0.5)), "must be a number"),
        (_poly((0.1, 0.1), (0.5, 0.1), (10**400, 0.5)), "must be a number"),  # too large for a float
        (_poly((0.1, 0.1), (0.2, 0.2), (0.3, 0.3)), "no area"),
        (_poly((0.1, 0.1), (0.1, 0.1), (0.1, 0.1)), "no area"),
        ({"polygons": [{"points": [{"x": 0.1}, {"x": 0.5, "y": 0.1}, {"x": 0.5, "y": 0.6}]}]}, "x and y"),
        ({**DOOR, "name": "window"}, "must match"),
        ([1, 2, 3], "JSON object"),
    ],
)
def test_invalid_zones_are_400_with_a_message(api, camera, body, fragment):
    response = api.post(f"{URL}/door", body, format="json")
    assert response.status_code == 400, response.json()
    assert fragment in response.json()["message"]
    assert not Zone.objects.exists()


def test_bad_zone_names(api, camera):
    long_name = "z" * 65
    assert api.post(f"{URL}/{long_name}", {"polygons": DOOR["polygons"]}, format="json").status_code == 400
    assert api.post(f"{URL}/%20door", {"polygons": DOOR["polygons"]}, format="json").status_code == 400
    assert api.post(f"{URL}/do%07or", {"polygons": DOOR["polygons"]}, format="json").status_code == 400


def test_malformed_json_is_400(api, camera):
    response = api.generic("POST", f"{URL}/door", '{"polygons": [', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("Malformed request body")


def test_non_json_body_is_415(api, camera):
    response = api.generic("POST", f"{URL}/door", "polygons=1", content_type="text/plain")
    assert response.status_code == 415
    assert "message" in response.json()


def test_unknown_camera_is_404(api, camera):
    assert api.get("/api/users/me/cameras/back/zones").status_code == 404
    assert api.post("/api/users/me/cameras/back/zones/door", DOOR, format="json").status_code == 404


def test_other_users_cannot_see_or_touch_zones(api, other_api, camera):
    api.post(f"{URL}/door", DOOR, format="json")
    assert other_api.get(URL).status_code == 404
    assert other_api.get(f"{URL}/door").status_code == 404
    assert other_api.post(f"{URL}/door", DOOR, format="json").status_code == 404
    assert other_api.delete(f"{URL}/door").status_code == 404
    assert Zone.objects.get().polygons == DOOR["polygons"]


def test_a_host_email_gives_nothing_to_a_non_guest(other_api, camera):
    assert other_api.get(f"{URL}?user=alice@example.com").status_code == 403


def test_guests_read_but_do_not_write(api, other_api, user, other_user, camera):
    api.post(f"{URL}/door", DOOR, format="json")
    Guest.objects.create(host=user, guest=other_user)
    assert other_api.get(f"{URL}?user=alice@example.com").json() == [DOOR]
    assert other_api.get(f"{URL}/door?user=alice@example.com").json() == DOOR
    # Guests only read: a write naming the host is refused.
    assert other_api.post(f"{URL}/door?user=alice@example.com", DOOR, format="json").status_code == 403
    assert other_api.delete(f"{URL}/door?user=alice@example.com").status_code == 403
    assert api.get(f"{URL}/door").json() == DOOR


def test_an_upload_token_grants_nothing_here(anon, user, camera):
    upload_token = account_settings_get(user=user).upload_token
    assert anon.get(URL, HTTP_AUTHORIZATION=f"token {upload_token}").status_code == 401
    assert anon.get(f"/api/users/{upload_token}/cameras/front/zones").status_code == 401
    assert anon.post(f"/api/users/{upload_token}/cameras/front/zones/door", DOOR, format="json").status_code == 401
