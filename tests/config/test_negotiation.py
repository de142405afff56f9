"""What the API answers for each Accept header: JSON, as DRF would negotiate it."""

import pytest

pytestmark = pytest.mark.django_db
PATH = "/api/users/me/cameras"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", " application/json "])
def test_the_usual_accept_headers_get_json(api, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = api.get(PATH, **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == b"[]"


def test_other_acceptable_headers_are_negotiated_as_drf_does(api, user):
    from cameras.models import Camera

    Camera.objects.create(owner=user, name="front")
    indented = api.get(PATH, HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200
    assert indented.content.startswith(b'[\n  {\n    "name": "front"')
    assert api.get(PATH, HTTP_ACCEPT="text/html, application/json;q=0.9").json()[0]["name"] == "front"
    assert api.get(PATH, {"format": "json"}, HTTP_ACCEPT="*/*").json()[0]["name"] == "front"


def test_an_unacceptable_type_is_a_json_406(api):
    response = api.get(PATH, HTTP_ACCEPT="text/csv")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"]


def test_the_schema_still_answers_in_its_first_format(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="*/*")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
