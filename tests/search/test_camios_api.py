"""The Camios API (/api/users/me/camios): list, create, get, delete, expiry; the slice selectors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from search.models import Camio
from search.selectors import camio_content_queryset, camio_event_queryset, camio_for_view_token
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def create(client, body, status=201):
    response = client.post("/api/users/me/camios", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def test_create_returns_the_reference_fields_and_tokens(api, user):
    camera(user, "front")
    body = create(api, {"name": "My Camio", "type": "public", "query": {"cameras": ["front"], "labels": ["People"]}})
    assert body["name"] == "My Camio" and body["type"] == "public"
    assert len(body["view_token"]) >= 43 and len(body["short_token"]) == 12
    assert body["date_created"].endswith("-0000") and body["expires_at"] is None
    assert body["query"] == {
        "cameras": ["front"],
        "labels": ["people"],
        "events": [],
        "start_date": None,
        "end_date": None,
        "sort": "desc",
    }
    assert Camio.objects.get(view_token=body["view_token"]).owner == user


def test_name_defaults_to_the_query_description(api, user):
    camera(user, "Front")
    ev = event(camera(user, "gate"), T0)
    assert create(api, {"query": {"cameras": ["front"], "labels": ["people"]}})["name"] == "Front people"
    assert create(api, {"query": {}})["name"] == "everything"
    dated = create(api, {"query": {"start_date": "2026-11-20T10:00:00.000-0000", "end_date": "2026-11-20T12:00:00Z"}})
    assert dated["name"] == "from 2026-11-20 10:00 to 2026-11-20 12:00"
    assert dated["query"]["start_date"] == "2026-11-20T10:00:00.000-0000"
    assert create(api, {"query": {"events": [ev.public_id]}})["name"] == "1 event"
    assert create(api, {"name": "  ", "query": {"cameras": ["gate"]}})["name"] == "gate"


def test_camera_names_are_matched_case_insensitively_and_stored_canonical(api, user):
    camera(user, "Back Yard")
    assert create(api, {"query": {"cameras": ["back yard"]}})["query"]["cameras"] == ["Back Yard"]


@pytest.mark.parametrize(
    "body, words",
    [
        ({"type": "secret"}, "type"),
        ({"name": "x" * 201}, "name"),
        ({"query": {"cameras": ["nosuch"]}}, "Unknown camera"),
        ({"query": {"cameras": "front"}}, "cameras"),
        ({"query": {"events": ["nosuchevent"]}}, "Unknown event"),
        ({"query": {"sort": "sideways"}}, "sort"),
        ({"query": {"start_date": "soon"}}, "start_date"),
        ({"query": {"start_date": "2026-11-20T12:00:00Z", "end_date": "2026-11-20T11:00:00Z"}}, "before"),
        ({"query": {"zones": ["x"]}}, "unknown member"),
        ({"colour": "red"}, "unknown member"),
        ({"query": {}, "expires_at": "2001-01-01T00:00:00Z"}, "future"),
        ({"query": {}, "expiry": 10}, "expiry"),
        ({"query": {}, "expiry": 3600, "expires_at": "2099-01-01T00:00:00Z"}, "either"),
        ({"name": "no query"}, "query"),
        ({"query": []}, "query"),
    ],
)
def test_invalid_bodies_are_400(api, user, body, words):
    camera(user, "front")
    response = api.post("/api/users/me/camios", body, format="json")
    assert response.status_code == 400, response.content
    assert words in response.json()["message"]
    assert not Camio.objects.exists()


def test_a_camio_without_a_query_is_400_not_a_share_of_everything(api, user):
    """The reference lists query without "Optional" (name and type are): a body that forgot it
    must not publicly share all the account's content; ``"query": {}`` says so explicitly."""
    for body in ({}, {"name": "Porch", "type": "public"}):
        response = api.post("/api/users/me/camios", body, format="json")
        assert response.status_code == 400
        assert response.json()["message"].startswith("query")
    assert not Camio.objects.exists()


def test_a_body_that_is_not_an_object_is_400(api):
    response = api.post("/api/users/me/camios", [1, 2], format="json")
    assert response.status_code == 400
    assert "object" in response.json()["message"]
    response = api.post("/api/users/me/camios", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_events_of_another_account_cannot_be_shared(api, user, other_user):
    theirs = event(camera(other_user, "front"), T0)
    response = api.post("/api/users/me/camios", {"query": {"events": [theirs.public_id]}}, format="json")
    assert response.status_code == 400
    assert "Unknown event" in response.json()["message"]


def test_list_is_the_callers_own_newest_first(api, other_api, user, other_user):
    first = create(api, {"name": "one", "query": {}})
    second = create(api, {"name": "two", "type": "private", "query": {}})
    create(other_api, {"name": "theirs", "query": {}})
    listed = api.get("/api/users/me/camios").json()
    assert [c["name"] for c in listed] == ["two", "one"]
    assert listed[0] == second and listed[1] == first
    assert set(listed[0]) >= {"view_token", "name", "date_created", "type"}
    assert [c["name"] for c in other_api.get("/api/users/me/camios/").json()] == ["theirs"]


def test_get_and_delete_by_view_or_short_token(api, other_api, user):
    body = create(api, {"name": "mine", "query": {}})
    assert api.get(f"/api/users/me/camios/{body['short_token']}").json()["name"] == "mine"
    assert api.get(f"/api/users/me/camios/{body['view_token']}").json()["name"] == "mine"
    # Other accounts can neither read nor delete it.
    assert other_api.get(f"/api/users/me/camios/{body['view_token']}").status_code == 404
    assert other_api.delete(f"/api/users/me/camios/{body['view_token']}").status_code == 404
    assert api.delete(f"/api/users/me/camios/{body['short_token']}").status_code == 204
    assert api.get(f"/api/users/me/camios/{body['view_token']}").status_code == 404
    assert api.delete(f"/api/users/me/camios/{body['view_token']}").status_code == 404


def test_deleting_revokes_the_view_token_at_once(api, anon, user):
    event(camera(user, "front"), T0)
    body = create(api, {"query": {"cameras": ["front"]}})
    assert anon.get("/api/search", {"view_tokens": body["view_token"]}).status_code == 200
    api.delete(f"/api/users/me/camios/{body['view_token']}")
    response = anon.get("/api/search", {"view_tokens": body["view_token"]})
    assert response.status_code == 403
    assert "view token" in response.json()["message"]
    assert camio_for_view_token(body["view_token"]) is None


def test_expiry_in_seconds_or_as_a_date(api, anon, user):
    event(camera(user, "front"), T0)
    soon = create(api, {"expiry": 3600, "query": {}})
    expires = timezone.now() + timedelta(hours=1)
    row = Camio.objects.get(view_token=soon["view_token"])
    assert abs((row.expires_at - expires).total_seconds()) < 60
    assert soon["expires_at"] is not None
    dated = create(api, {"expires_at": "2099-01-01T00:00:00.000-0000", "query": {}})
    assert dated["expires_at"] == "2099-01-01T00:00:00.000-0000"
    # Once past its expiry the Camio opens nothing, though its owner still lists it.
    Camio.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert anon.get("/api/search", {"view_tokens": soon["view_token"]}).status_code == 403
    assert anon.get("/api/search", {"view_tokens": soon["short_token"]}).status_code == 403
    assert camio_for_view_token(soon["view_token"]) is None
    row.refresh_from_db()
    assert not camio_content_queryset(row).exists()
    assert soon["view_token"] in [c["view_token"] for c in api.get("/api/users/me/camios").json()]


def test_camios_need_oauth_and_the_me_token(anon, api):
    assert anon.get("/api/users/me/camios").status_code == 401
    assert anon.post("/api/users/me/camios", {}, format="json").status_code == 401
    assert api.get("/api/users/alice/camios").status_code == 404


# --- selectors: the slice ------------------------------------------------------------------------


def _camio(owner, **query):
    base = {"cameras": [], "labels": [], "events": [], "start_date": None, "end_date": None, "sort": "desc"}
    return Camio.objects.create(owner=owner, name="t", query=base | query)


def test_content_slice_by_camera_label_event_and_dates(user, other_user):
    front, gate = camera(user, "front"), camera(user, "gate")
    a = event(front, T0, labels=["people"], items=2)
    b = event(gate, T0 + timedelta(hours=1), labels=["car"], items=2)
    event(camera(other_user, "front"), T0, labels=["people"], items=2)

    def slice_of(camio):
        return set(camio_content_queryset(camio).values_list("analysis__event_id", flat=True))

    assert slice_of(_camio(user)) == {a.pk, b.pk}
    assert slice_of(_camio(user, cameras=["gate"])) == {b.pk}
    assert slice_of(_camio(user, labels=["people"])) == {a.pk}
    assert slice_of(_camio(user, events=[b.public_id])) == {b.pk}
    assert slice_of(_camio(user, start_date="2026-11-20T12:30:00.000-0000")) == {b.pk}
    assert slice_of(_camio(user, end_date="2026-11-20T12:30:00.000-0000")) == {a.pk}
    # Bounds are inclusive and apply to each item: only the first item of a at 12:00:00.
    edge = _camio(user, end_date="2026-11-20T12:00:00.000-0000")
    assert camio_content_queryset(edge).count() == 1
    assert set(camio_event_queryset(_camio(user, cameras=["front"])).values_list("pk", flat=True)) == {a.pk}


def test_view_token_lookup_long_short_unknown(user):
    camio = _camio(user)
    assert camio_for_view_token(camio.view_token) == camio
    assert camio_for_view_token(camio.short_token) == camio
    assert camio_for_view_token(camio.short_token.upper()) is None
    assert camio_for_view_token("") is None
    assert camio_for_view_token("x" * 500) is None
    user.is_active = False
    user.save()
    assert camio_for_view_token(camio.view_token) is None


def test_listing_costs_the_same_queries_for_1_or_20_camios(api, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for total in (1, 20):
        while Camio.objects.filter(owner=user).count() < total:
            _camio(user)
        with CaptureQueriesContext(connection) as ctx:
            assert len(api.get("/api/users/me/camios").json()) == total
        counts.append(len(ctx.captured_queries))
    assert counts == [2, 2]  # the token, the Camios
