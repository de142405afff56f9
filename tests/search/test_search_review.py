"""Defects a review found in GET /api/search, timelines, Camios and per-item access tokens, fixed.

- Paging a Camio whose start_date cuts two events looped forever newest first and skipped one
  oldest first: the next-page date was clamped to the Camio's start along with the shown dates.
- Removing a guest left the per-item access tokens a private Camio gave them working.
- Seconds/hours timelines of a Camio judged cut events by the whole event, revealing the labels
  and levels of items outside the Camio.
- Similarity paging dropped events tied with the window's last one at its edge millisecond.
- Timelines of a Camio answered dates considered outside the Camio's dates (the current time).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from search.models import Camio, Event, EventLabel, ItemAnalysis
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def share(owner, type="public", **query) -> Camio:
    base = {"cameras": [], "labels": [], "events": [], "start_date": None, "end_date": None, "sort": "desc"}
    return Camio.objects.create(owner=owner, name="shared", type=type, query=base | query)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000-0000")


def page_through(client, sort: str, *, max_pages: int = 10, **params) -> list[str]:
    """Every bucket id a client gets by calling again from the date considered, as the reference's
    paging works (desc: earliest_date_considered; asc: latest_date_considered)."""
    seen: list[str] = []
    date = None
    for _ in range(max_pages):
        query = {"sort": sort, "motion_type": "all", **params}
        if date:
            query["date"] = date
        response = client.get("/api/search", query)
        assert response.status_code == 200, response.content
        result = response.json()["result"]
        seen += [b["bucket_id"] for b in result["buckets"]]
        if not result["more_results"]:
            return seen
        date = result["earliest_date_considered"] if sort == "desc" else result["latest_date_considered"]
    return [*seen, "<paging never ended>"]


# --- paging a Camio whose start_date cuts events ---------------------------------------------------


@pytest.fixture
def cut_at_start(user):
    """Three cameras; a Camio from 12:00:00. front's and back's events began before it (11:59:52
    and 11:59:55) and run into it (cut events); side's event is wholly inside (12:00:03)."""
    a = event(camera(user, "front"), T0 - timedelta(seconds=8), items=20)
    b = event(camera(user, "back"), T0 - timedelta(seconds=5), items=20)
    c = event(camera(user, "side"), T0 + timedelta(seconds=3), items=2)
    token = share(user, start_date=at(0)).view_token
    return token, [a.public_id, b.public_id, c.public_id]


def test_paging_newest_first_through_a_camio_cutting_two_events_ends_without_repeats(anon, cut_at_start):
    """A viewer pages a Camio (start_date 12:00) newest first, one event a page, calling again
    with ``date=earliest_date_considered``. Two events on two cameras began before 12:00 and run
    into the slice. Used to: the page after the first cut event answered
    ``earliest_date_considered`` = the Camio's start (the cursor was clamped to it, but read as
    one on the events' own dates), so every later call returned the same event again with
    ``more_results: true`` forever, and the other cut event was never reached. Now: a cut event
    pages at the Camio's start (both cut events share that millisecond, so one page holds both),
    each event comes exactly once, then ``more_results: false``."""
    token, expected = cut_at_start
    seen = page_through(anon, "desc", view_tokens=token, num_results=1)
    assert sorted(seen) == sorted(expected), seen


def test_paging_oldest_first_through_a_camio_cutting_two_events_skips_none(anon, cut_at_start):
    """Same Camio, oldest first (``sort=asc``), one event a page, calling again with
    ``date=latest_date_considered``. Used to: the first page's cursor (the first cut event's own
    start, 11:59:52) was clamped up to 12:00:00, so the next call started after 12:00:00 and the
    second cut event (11:59:55) was never returned. Now: all three events."""
    token, expected = cut_at_start
    seen = page_through(anon, "asc", view_tokens=token, num_results=1)
    assert sorted(seen) == sorted(expected), seen


# --- similarity paging -----------------------------------------------------------------------------


def test_similarity_paging_does_not_drop_events_tied_at_the_window_edge(api, user):
    """An owner pages a similarity search (``event=<paragon>``) newest first. Each page ranks a
    window of 500 candidates and the next call continues from ``earliest_date_considered``. When
    the 500th and 501st candidates share one millisecond, the window kept the first and the next
    page started strictly before that millisecond. Used to: the 501st event (here the paragon's
    twin, the best match there is) was in no window and never shown. Now: the window ends before
    that millisecond, which the next page ranks whole, so the twin is found."""
    cam = camera(user, "front")
    paragon = event(cam, T0 + timedelta(days=1), labels=["zebra"], items=1)
    twin = event(cam, T0, labels=["zebra"], items=1)  # created first: the lower pk, last among equals
    event(cam, T0, items=1)
    Event.objects.bulk_create(
        [
            Event(
                owner=user,
                camera=cam,
                earliest_date=T0 + timedelta(seconds=i),
                latest_date=T0 + timedelta(seconds=i),
                max_interest_level=2,
            )
            for i in range(1, 500)
        ]
    )
    seen = page_through(api, "desc", event=paragon.public_id, num_results=10)
    assert twin.public_id in seen


# --- per-item access tokens ------------------------------------------------------------------------


def test_removing_a_guest_revokes_the_item_tokens_a_private_camio_gave_them(api, other_api, user, other_user):
    """alice shares a private Camio with her guest bob; bob searches it with ``view_tokens`` and
    gets per-item ``access_token``s. alice then removes bob as a guest (DELETE
    /api/users/me/guests/bob@example.com): his view-token search is refused (403). Used to: the
    item tokens he kept still fetched her content through ``POST /api/content`` (for up to a
    day). Now: a private Camio's tokens name the searcher it let in, checked against the owner's
    guests when redeemed, so removing the guest revokes them at once."""
    event(camera(user, "front"), T0, items=2, stored=True)
    assert api.post("/api/users/me/guests", {"email": "bob@example.com"}, format="json").status_code == 201
    camio = share(user, type="private")
    response = other_api.get("/api/search", {"view_tokens": camio.view_token})
    assert response.status_code == 200, response.content
    images = response.json()["result"]["buckets"][0]["images"]
    pairs = [{"id": i["id"], "access_token": i["access_token"]} for i in images]
    assert len(APIClient().post("/api/content", pairs, format="json").json()) == 2

    assert api.delete("/api/users/me/guests/bob@example.com").status_code == 204
    assert other_api.get("/api/search", {"view_tokens": camio.view_token}).status_code == 403
    assert APIClient().post("/api/content", pairs, format="json").json() == []


# --- timelines in a Camio --------------------------------------------------------------------------


@pytest.fixture
def cut_at_end(user):
    """front: 8 images 12:00:00-12:00:07 in one event; only the 12:00:06 one is labelled people
    at level 3 (lmo), the rest are level 1. A Camio ending at 12:00:04 shares the first five."""
    ev = event(camera(user, "front"), T0, labels=["walkway"], level=1, items=8)
    items = list(ItemAnalysis.objects.filter(event=ev).order_by("content__captured_at"))
    items[6].interest_level, items[6].labels = 3, ["people", "walkway"]
    items[6].save()
    Event.objects.filter(pk=ev.pk).update(labels=["people", "walkway"], max_interest_level=3)
    EventLabel.objects.create(event=ev, owner=user, label="people")
    return share(user, end_date=at(4)).view_token


@pytest.mark.parametrize("object_type", ["seconds", "hours"])
@pytest.mark.parametrize("narrowing", [{"labels": "people"}, {"motion_type": "lmo"}])
def test_camio_timelines_do_not_reveal_labels_or_levels_of_unshared_items(anon, cut_at_end, object_type, narrowing):
    """A viewer of the Camio (ending 12:00:04) narrows with ``labels=people`` or
    ``motion_type=lmo``. The events search rightly finds nothing: no shared image is people or
    lmo. Used to: the seconds/hours timelines counted the five shared images, because they judged
    items by their whole event, whose people label and level 3 come from the unshared 12:00:06
    image; so the viewer learnt what happens outside the Camio. Now: an event the Camio cuts is
    judged by its shared items, as the events search judges it: no bucket."""
    params = {"view_tokens": cut_at_end, "motion_type": "all", **narrowing}
    events = anon.get("/api/search", params).json()["result"]["buckets"]
    assert events == []
    timeline = anon.get("/api/search", {**params, "object_type": object_type}).json()["result"]["buckets"]
    assert timeline == []


@pytest.mark.parametrize("object_type", ["seconds", "hours"])
@pytest.mark.parametrize("sort", ["desc", "asc"])
def test_camio_timelines_keep_the_dates_considered_inside_the_camio(anon, user, object_type, sort):
    """A viewer asks a Camio shared from 11:00 to 12:01 for its hours or seconds timeline. The
    events search answers ``latest_date_considered`` 12:01 (the Camio's end). Used to: the
    timelines answered the current time (weeks after the Camio's end) as the date considered.
    Now: the dates considered stay inside the Camio's dates, as for events."""
    event(camera(user, "front"), T0, items=3)
    token = share(user, start_date=at(-3600), end_date=at(60)).view_token
    events = anon.get("/api/search", {"view_tokens": token, "sort": sort}).json()["result"]
    assert events["latest_date_considered"] == at(60)
    result = anon.get("/api/search", {"view_tokens": token, "sort": sort, "object_type": object_type}).json()["result"]
    assert result["count"] >= 1
    assert at(-3600) <= result["earliest_date_considered"] <= at(60)
    assert at(-3600) <= result["latest_date_considered"] <= at(60)


# --- around the fixes ------------------------------------------------------------------------------


def test_similarity_paging_takes_a_window_wholly_inside_one_millisecond_whole(api, user):
    """More than a window's worth of candidates share one millisecond: the page ranks all of
    them (the paragon's twin, the lowest id, is past the 501st) and says no more follow."""
    cam = camera(user, "front")
    paragon = event(cam, T0 + timedelta(days=1), labels=["zebra"], items=1)
    twin = event(cam, T0, labels=["zebra"], items=1)
    Event.objects.bulk_create(
        [Event(owner=user, camera=cam, earliest_date=T0, latest_date=T0, max_interest_level=2) for _ in range(501)]
    )
    result = api.get("/api/search", {"event": paragon.public_id, "motion_type": "all", "num_results": 10}).json()
    assert result["result"]["buckets"][0]["bucket_id"] == twin.public_id
    assert result["result"]["more_results"] is False


def test_paging_a_camio_cutting_events_by_two_keeps_every_event_once(anon, user, cut_at_start):
    """The same Camio paged two events a page, both ways: every event once, none outside it."""
    token, expected = cut_at_start
    for sort in ("desc", "asc"):
        seen = page_through(anon, sort, view_tokens=token, num_results=2)
        assert sorted(seen) == sorted(expected), (sort, seen)


def test_a_public_camios_item_tokens_outlive_the_guest_who_searched_it(api, other_api, user, other_user):
    """Tokens of a public Camio name no holder: anyone holding them may fetch, guest or not; the
    owner's own tokens of a private Camio work too; a private Camio's token naming no holder
    (never issued) opens nothing."""
    from search.access_tokens import item_access_token

    event(camera(user, "front"), T0, items=2, stored=True)
    assert api.post("/api/users/me/guests", {"email": "bob@example.com"}, format="json").status_code == 201
    public, private = share(user), share(user, type="private")
    images = other_api.get("/api/search", {"view_tokens": public.view_token}).json()["result"]["buckets"][0]["images"]
    pairs = [{"id": i["id"], "access_token": i["access_token"]} for i in images]
    assert api.delete("/api/users/me/guests/bob@example.com").status_code == 204
    assert len(APIClient().post("/api/content", pairs, format="json").json()) == 2

    own = api.get("/api/search", {"view_tokens": private.view_token}).json()["result"]["buckets"][0]["images"]
    own_pairs = [{"id": i["id"], "access_token": i["access_token"]} for i in own]
    assert len(APIClient().post("/api/content", own_pairs, format="json").json()) == 2
    unnamed = [{"id": i["id"], "access_token": item_access_token(i["id"], camio_id=private.pk)} for i in own]
    assert APIClient().post("/api/content", unnamed, format="json").json() == []


@pytest.mark.parametrize("object_type", ["seconds", "hours"])
@pytest.mark.parametrize("narrowing", [{"labels": "walkway"}, {"text": "not people"}])
def test_camio_timelines_count_what_the_events_search_shows_of_a_cut_event(anon, cut_at_end, object_type, narrowing):
    """Narrowing by a label the shared items carry, or excluding one only an unshared item
    carries, shows the cut event's five shared images; the timeline counts those five."""
    params = {"view_tokens": cut_at_end, "motion_type": "all", **narrowing}
    [bucket] = anon.get("/api/search", params).json()["result"]["buckets"]
    assert bucket["count"] == 5
    timeline = anon.get("/api/search", {**params, "object_type": object_type}).json()["result"]["buckets"]
    assert sum(b["count"] for b in timeline) == 5


def test_similarity_paging_through_a_camio_cutting_events_shows_each_once(anon, user):
    """A Camio from 12:00 holds 500 candidates wholly inside it and three events its start cuts
    (the best matches). The first window's edge falls among the cut events, which page at the
    Camio's start: the window leaves all three to the next page, which shows each once."""
    cam = camera(user, "front")
    paragon = event(cam, T0 + timedelta(days=1), labels=["zebra"], items=1)
    cut = [event(cam, T0 - timedelta(seconds=30 - i), labels=["zebra"], items=40).public_id for i in range(3)]
    Event.objects.bulk_create(
        [
            Event(
                owner=user,
                camera=cam,
                earliest_date=T0 + timedelta(minutes=1, seconds=i),
                latest_date=T0 + timedelta(minutes=1, seconds=i),
                max_interest_level=2,
            )
            for i in range(499)
        ]
    )
    token = share(user, start_date=at(0)).view_token
    seen = page_through(anon, "desc", view_tokens=token, event=paragon.public_id, num_results=3)
    assert sorted(b for b in seen if b in cut) == sorted(cut), seen
