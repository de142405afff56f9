"""Search authorized by Camio view tokens: the slice only, narrowing allowed, widening refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Guest
from search.access_tokens import item_access_check
from search.models import Camio
from tests.factories import make_token, make_user
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def share(owner, type="public", **query) -> Camio:
    base = {"cameras": [], "labels": [], "events": [], "start_date": None, "end_date": None, "sort": "desc"}
    return Camio.objects.create(owner=owner, name="shared", type=type, query=base | query)


def ids(response):
    assert response.status_code == 200, response.content
    return [b["bucket_id"] for b in response.json()["result"]["buckets"]]


@pytest.fixture
def world(user, other_user):
    """alice: front (people, car) and back (people); bob: his own front."""
    front, back = camera(user, "front"), camera(user, "back")
    return {
        "front_people": event(front, T0, labels=["people", "walkway"], items=2),
        "front_car": event(front, T0 + timedelta(minutes=1), labels=["car"], items=2),
        "back_people": event(back, T0 + timedelta(minutes=2), labels=["people"], items=2),
        "bob": event(camera(other_user, "front"), T0 + timedelta(minutes=3), labels=["people"], items=2),
    }


def test_anyone_with_a_public_token_sees_the_slice_with_access_tokens(anon, user, world):
    camio = share(user, cameras=["front"])
    response = anon.get("/api/search", {"view_tokens": camio.view_token})
    assert ids(response) == [world["front_car"].public_id, world["front_people"].public_id]
    for bucket in response.json()["result"]["buckets"]:
        for image in bucket["images"]:
            assert item_access_check(image["id"], image["access_token"])
    # The short token works the same.
    assert ids(anon.get("/api/search", {"view_tokens": camio.short_token})) == ids(response)


def test_viewers_may_narrow_the_slice(anon, user, world):
    camio = share(user, labels=["people"])
    token = camio.view_token
    assert ids(anon.get("/api/search", {"view_tokens": token})) == [
        world["back_people"].public_id,
        world["front_people"].public_id,
    ]
    assert ids(anon.get("/api/search", {"view_tokens": token, "sources": "back"})) == [world["back_people"].public_id]
    assert ids(anon.get("/api/search", {"view_tokens": token, "labels": "walkway"})) == [
        world["front_people"].public_id
    ]
    assert ids(anon.get("/api/search", {"view_tokens": token, "text": "front"})) == [world["front_people"].public_id]
    # A label outside the Camio's query narrows to nothing rather than widening.
    assert ids(anon.get("/api/search", {"view_tokens": token, "labels": "car"})) == []


def test_viewers_cannot_widen_to_other_cameras(anon, user, world):
    token = share(user, cameras=["front"]).view_token
    for params in ({"sources": "back"}, {"sources": "front,back"}):
        response = anon.get("/api/search", {"view_tokens": token, **params})
        assert response.status_code == 403, params
        assert "narrow" in response.json()["message"]
    # A camera the owner does not have is refused the same way (no probing of names).
    assert anon.get("/api/search", {"view_tokens": token, "sources": "nosuch"}).status_code == 403
    # In text, an unshared camera's name is only a word (a label): it finds nothing.
    body = anon.get("/api/search", {"view_tokens": token, "text": "back people"}).json()
    assert body["result"]["buckets"] == [] and body["query"]["parsed"]["sources"] == []


def test_private_camio_of_an_owner_without_email_stays_private(other_api, user, world):
    user.email = ""
    user.save()
    camio = share(user, type="private")
    assert other_api.get("/api/search", {"view_tokens": camio.view_token}).status_code == 403


def test_the_camios_sort_is_the_viewers_default(anon, user, world):
    camio = share(user, cameras=["front"], sort="asc")
    first = [world["front_people"].public_id, world["front_car"].public_id]
    assert ids(anon.get("/api/search", {"view_tokens": camio.view_token})) == first
    assert ids(anon.get("/api/search", {"view_tokens": camio.view_token, "sort": "desc"})) == first[::-1]


def test_the_camio_window_bounds_events_and_their_images(anon, user, world):
    # Until 12:00:00.500: front_people's first item only.
    camio = share(user, end_date="2026-11-20T12:00:00.500-0000")
    body = anon.get("/api/search", {"view_tokens": camio.view_token}).json()
    assert [b["bucket_id"] for b in body["result"]["buckets"]] == [world["front_people"].public_id]
    assert body["result"]["buckets"][0]["count"] == 1
    # A viewer's own date cannot reach past the window.
    later = anon.get("/api/search", {"view_tokens": camio.view_token, "date": "2030-01-01T00:00:00Z"})
    assert ids(later) == [world["front_people"].public_id]
    early = share(user, start_date="2026-11-20T12:01:30.000-0000")
    assert ids(anon.get("/api/search", {"view_tokens": early.view_token})) == [world["back_people"].public_id]


def test_an_events_camio_shares_exactly_those_events(anon, user, world):
    camio = share(user, events=[world["front_car"].public_id, world["back_people"].public_id])
    assert ids(anon.get("/api/search", {"view_tokens": camio.view_token})) == [
        world["back_people"].public_id,
        world["front_car"].public_id,
    ]
    # Events outside it are unknown to similarity and event_as_date.
    other = world["front_people"].public_id
    assert anon.get("/api/search", {"view_tokens": camio.view_token, "event": other}).status_code == 404
    assert anon.get("/api/search", {"view_tokens": camio.view_token, "event_as_date": other}).status_code == 404


def test_another_owners_events_never_leak_into_a_slice(anon, user, other_user, world):
    mine = share(user)
    assert world["bob"].public_id not in ids(anon.get("/api/search", {"view_tokens": mine.view_token}))
    # Two tokens of two owners: the union of the two slices, nothing more.
    theirs = share(other_user)
    both = ids(anon.get("/api/search", {"view_tokens": f"{mine.view_token},{theirs.short_token}"}))
    assert set(both) == {e.public_id for e in world.values()}


def test_private_camios_are_for_the_owner_and_signed_in_guests(anon, api, other_api, user, other_user, world):
    camio = share(user, type="private", cameras=["back"])
    response = anon.get("/api/search", {"view_tokens": camio.view_token})
    assert response.status_code == 401 and "private" in response.json()["message"]
    assert other_api.get("/api/search", {"view_tokens": camio.view_token}).status_code == 403
    Guest.objects.create(host=user, guest=other_user)
    assert ids(other_api.get("/api/search", {"view_tokens": camio.view_token})) == [world["back_people"].public_id]
    assert ids(api.get("/api/search", {"view_tokens": camio.view_token})) == [world["back_people"].public_id]


def test_a_signed_in_stranger_with_a_public_token_sees_only_the_slice(user, world):
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"token {make_token(make_user('carol'))}")
    camio = share(user, cameras=["back"])
    assert ids(stranger.get("/api/search", {"view_tokens": camio.view_token})) == [world["back_people"].public_id]


@pytest.mark.parametrize("case", ["unknown", "expired", "deleted", "one_bad_of_two"])
def test_bad_tokens_are_refused(anon, user, world, case):
    camio = share(user)
    token = camio.view_token
    if case == "unknown":
        token = "nope" + token[4:]
    elif case == "expired":
        camio.expires_at = timezone.now() - timedelta(minutes=1)
        camio.save()
    elif case == "deleted":
        camio.delete()
    else:
        token = f"{token},notatoken"
    response = anon.get("/api/search", {"view_tokens": token})
    assert response.status_code == 403
    assert "view token" in response.json()["message"]


def test_timelines_and_similarity_stay_inside_the_slice(anon, user, world):
    camio = share(user, cameras=["front"])
    hours = anon.get("/api/search", {"view_tokens": camio.view_token, "object_type": "hours"}).json()
    assert [b["count"] for b in hours["result"]["buckets"]] == [4]  # front's two events, two items each
    similar = anon.get("/api/search", {"view_tokens": camio.view_token, "event": world["front_people"].public_id})
    assert ids(similar) == [world["front_car"].public_id]


def test_object_type_camios_lists_the_tokens_camios(anon, api, user, world):
    one, two = share(user), share(user)
    body = anon.get("/api/search", {"view_tokens": one.view_token, "object_type": "camios"}).json()
    assert body["result"]["bucket_type"] == "camio"
    assert [b["bucket_id"] for b in body["result"]["buckets"]] == [one.view_token]
    own = api.get("/api/search", {"object_type": "camios"}).json()
    assert [b["bucket_id"] for b in own["result"]["buckets"]] == [two.view_token, one.view_token]
