"""Camio dates that cut an event: the event shows its in-slice items, with a summary made of them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from search.models import Camio, Event, EventLabel, ItemAnalysis
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


def share(owner, **query) -> Camio:
    base = {"cameras": [], "labels": [], "events": [], "start_date": None, "end_date": None, "sort": "desc"}
    return Camio.objects.create(owner=owner, name="shared", query=base | query)


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000-0000")


def buckets(client, **params) -> list[dict]:
    response = client.get("/api/search", {"motion_type": "all", **params})
    assert response.status_code == 200, response.content
    return response.json()["result"]["buckets"]


@pytest.fixture
def burst(user):
    """front: 8 images 12:00:00-12:00:07 in one event. The 12:00:06 image is the cover (level 3,
    labelled people); the others are level 1 with walkway; the event also carries ``approaching``,
    a direction label no single item has."""
    ev = event(camera(user, "front"), T0, labels=["walkway"], level=1, items=8, stored=True)
    items = list(ItemAnalysis.objects.filter(event=ev).order_by("content__captured_at"))
    items[6].interest_level, items[6].labels = 3, ["people", "walkway"]
    items[6].save()
    Event.objects.filter(pk=ev.pk).update(
        labels=["approaching", "people", "walkway"], max_interest_level=3, cover=items[6].content
    )
    EventLabel.objects.bulk_create(
        [EventLabel(event=ev, owner=user, label=label) for label in ("approaching", "people")]
    )
    ev.refresh_from_db()
    return ev


def test_start_date_inside_an_event_shows_its_later_images(anon, user, burst):
    token = share(user, cameras=["front"], start_date=at(3)).view_token
    [bucket] = buckets(anon, view_tokens=token)
    assert bucket["bucket_id"] == burst.public_id
    assert [i["date_created"] for i in bucket["images"]] == [at(s) for s in range(3, 8)]
    assert (bucket["earliest_date"], bucket["latest_date"]) == (at(3), at(7))
    seconds = buckets(anon, view_tokens=token, object_type="seconds")
    assert sorted(b["bucket_id"] for b in seconds) == [at(s) for s in range(3, 8)]
    assert [b["count"] for b in buckets(anon, view_tokens=token, object_type="hours")] == [5]


def test_end_date_inside_an_event_summarizes_only_the_slice(anon, user, burst):
    token = share(user, cameras=["front"], end_date=at(4)).view_token
    [bucket] = buckets(anon, view_tokens=token, fetch_cover_thumbnails="true")
    images = bucket["images"]
    assert [i["date_created"] for i in images] == [at(s) for s in range(5)]
    assert (bucket["earliest_date"], bucket["latest_date"]) == (at(0), at(4))
    # All in-slice images are level 1: the cover is the best score among them (the last, 0.65).
    assert bucket["cover_image_id"] == images[4]["id"]
    assert [i["id"] for i in images if "image_bytes" in i] == [images[4]["id"]]
    assert bucket["max_interest_level"] == 1
    assert bucket["labels"] == ["walkway"]  # not people (12:00:06) nor approaching (the whole event)
    assert [b["count"] for b in buckets(anon, view_tokens=token, object_type="hours")] == [5]


def test_the_cover_is_the_most_interesting_in_slice_image(anon, user, burst):
    token = share(user, start_date=at(5), end_date=at(6)).view_token
    [bucket] = buckets(anon, view_tokens=token)
    assert bucket["cover_image_id"] == bucket["images"][1]["id"]  # 12:00:06, level 3
    assert bucket["max_interest_level"] == 3
    assert bucket["labels"] == ["people", "walkway"]


def test_filters_judge_a_cut_event_by_its_in_slice_items(anon, user, burst):
    token = share(user, cameras=["front"], end_date=at(4)).view_token
    # Its people and its level 3 are outside the slice: asking for them finds nothing.
    assert buckets(anon, view_tokens=token, labels="people") == []
    assert buckets(anon, view_tokens=token, motion_type="lmo") == []
    assert buckets(anon, view_tokens=token, text="people") == []
    # Excluding a label only outside the slice keeps the event.
    assert [b["bucket_id"] for b in buckets(anon, view_tokens=token, text="not people")] == [burst.public_id]
    assert buckets(anon, view_tokens=token, text="not walkway") == []
    assert len(buckets(anon, view_tokens=token, labels="walkway", motion_type="smo")) == 1
    # A slice holding the labelled image finds it by its label.
    later = share(user, cameras=["front"], start_date=at(6)).view_token
    [bucket] = buckets(anon, view_tokens=later, labels="people", motion_type="lmo")
    assert [i["date_created"] for i in bucket["images"]] == [at(6), at(7)]


def test_events_held_whole_keep_their_own_summary(api, anon, user, burst):
    token = share(user, start_date=at(0), end_date=at(7)).view_token
    [bucket] = buckets(anon, view_tokens=token)
    assert bucket["labels"] == ["approaching", "people", "walkway"]
    assert bucket["cover_image_id"] == bucket["images"][6]["id"]
    # The owner's own search shows the whole event, as before.
    [own] = buckets(api)
    assert (own["labels"], own["latest_date"], own["count"]) == (bucket["labels"], at(7), 8)


def test_an_event_spanning_the_slice_with_no_item_in_it_is_not_shown(anon, user):
    event(camera(user, "front"), T0, items=2, spacing=timedelta(seconds=10))
    token = share(user, start_date=at(3), end_date=at(7)).view_token
    assert buckets(anon, view_tokens=token) == []
    assert buckets(anon, view_tokens=token, object_type="seconds") == []


def test_two_camios_cut_each_by_its_own_dates(anon, user, other_user, burst):
    back = event(camera(user, "back"), T0, labels=["car"], items=4)
    bob = event(camera(other_user, "front"), T0, labels=["walkway"], items=8)
    front_late = share(user, cameras=["front"], start_date=at(6)).view_token
    back_early = share(user, cameras=["back"], end_date=at(1)).view_token
    bob_all = share(other_user).view_token
    found = {b["bucket_id"]: b for b in buckets(anon, view_tokens=f"{front_late},{back_early},{bob_all}")}
    assert set(found) == {burst.public_id, back.public_id, bob.public_id}
    assert [i["date_created"] for i in found[burst.public_id]["images"]] == [at(6), at(7)]
    assert [i["date_created"] for i in found[back.public_id]["images"]] == [at(0), at(1)]
    assert found[bob.public_id]["count"] == 8  # bob's whole event, untouched by alice's dates
    # One Camio holding the event whole is enough for the whole summary.
    both = f"{front_late},{share(user, cameras=['front']).view_token}"
    [bucket] = buckets(anon, view_tokens=both)
    assert (bucket["count"], bucket["labels"]) == (8, ["approaching", "people", "walkway"])
