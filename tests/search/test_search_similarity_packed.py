"""Similarity reads descriptors as float64 bytes (``Event.descriptor_f64``): the same ranking and
the same scores as the JSON descriptors, and every write of an event keeps the two in step."""

from __future__ import annotations

import importlib
import struct
from datetime import timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from django.apps import apps
from django.db import connection

from search.analysis import content_analyze
from search.models import Event
from search.similarity import descriptor_pack, rank_by_similarity, rank_packed
from search.tasks.analysis import analyze_content
from tests.search.conftest import scene_jpeg
from tests.search.test_search_factories import T0, camera, event

RED = (0.40, 0.35, 0.10, 0.30, "red")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _packed(event: Event) -> bytes:
    return bytes(Event.objects.values_list("descriptor_f64", flat=True).get(pk=event.pk))


def test_a_descriptor_packs_as_its_own_floats():
    values = [0.123, 1, 0.0, 0.999]
    assert descriptor_pack(values) == struct.pack("<4d", *values)
    assert descriptor_pack((0.5, True)) == struct.pack("<2d", 0.5, 1.0)


@pytest.mark.parametrize(
    "value",
    [[], None, "garbage", {"a": 1}, [[0.1, 0.2]], ["x", 0.1], [float("nan"), 0.1], [float("inf")], [10**400]],
)
def test_what_cannot_be_compared_packs_empty(value):
    assert descriptor_pack(value) == b""


def test_packed_ranking_is_the_json_ranking_to_the_bit():
    rng = np.random.default_rng(5)
    vocabulary = ["people", "car", "Dog", "_color_red", "left", "walkway"]
    for length in (61, 4):
        paragon = np.round(rng.random(length), 3).tolist()
        candidates = []
        for pk in range(300):
            descriptor = np.round(rng.random(length), 3).tolist()
            if pk % 37 == 0:
                descriptor = paragon  # exact ties keep date order
            elif pk % 41 == 0:
                descriptor = descriptor[:-1]  # another length: visual 0
            elif pk % 43 == 0:
                descriptor = []
            labels = list(rng.choice(vocabulary, size=int(rng.integers(0, 4)), replace=False))
            candidates.append((pk, descriptor, labels if pk % 47 else None))
        for paragon_descriptor in (paragon, []):
            for paragon_labels in (["people", "dog"], []):
                expected = rank_by_similarity(paragon_descriptor, paragon_labels, candidates)
                packed = [(pk, descriptor_pack(d), labels) for pk, d, labels in candidates]
                assert rank_packed(descriptor_pack(paragon_descriptor), paragon_labels, packed) == expected


@pytest.mark.django_db
def test_events_made_and_changed_by_analysis_carry_the_packed_descriptor(store_content, user, settings):
    settings.EVENT_GAP_SECONDS = 30
    one = camera(user, "one")
    # Item by item, then a camera's backlog as one batch (search.events.item_place / items_place).
    for seconds, rects in ((0, []), (2, [RED]), (60, [RED])):
        content_analyze(content_id=store_content(one, scene_jpeg(rects), at=seconds).pk)
    batched = camera(user, "batch")
    backlog = [store_content(batched, scene_jpeg(rects), at=s) for s, rects in ((0, []), (2, [RED]), (60, []))]
    analyze_content.delay(backlog[0].pk)  # one message: the whole backlog
    events = list(Event.objects.filter(owner=user))
    assert len(events) == 4
    for e in events:
        assert len(e.descriptor) == 61
        assert _packed(e) == descriptor_pack(e.descriptor) != b""


@pytest.mark.django_db
def test_saving_an_event_repacks_its_descriptor(user):
    e = event(camera(user, "front"), T0, descriptor=[0.1, 0.2])
    assert _packed(e) == descriptor_pack([0.1, 0.2])
    e.descriptor = [0.3, 0.4, 0.5]
    e.save(update_fields=["descriptor", "descriptor_f64"])
    assert _packed(e) == descriptor_pack([0.3, 0.4, 0.5])
    e.descriptor = []
    e.save()
    assert _packed(e) == b""


@pytest.mark.django_db
def test_the_migration_fills_events_written_before_the_column(user):
    cam = camera(user, "front")
    written = [event(cam, T0 + timedelta(minutes=m), descriptor=[0.1 * m, 0.5]) for m in range(3)]
    blank = event(cam, T0 + timedelta(minutes=5), descriptor=[])
    Event.objects.update(descriptor_f64=b"")
    fill = importlib.import_module("search.migrations.0004_event_descriptor_f64_fill").fill
    fill(apps, SimpleNamespace(connection=connection))
    for e in written:
        assert _packed(e) == descriptor_pack(e.descriptor) != b""
    assert _packed(blank) == b""


@pytest.mark.django_db
def test_search_scores_incomparable_descriptors_as_no_look_alike(api, user):
    front = camera(user, "front")
    paragon = event(front, T0, labels=["people"], descriptor=[1.0, 0.0])
    look_alike = event(front, T0 + timedelta(minutes=1), labels=["car"], descriptor=[1.0, 0.0])
    other_length = event(front, T0 + timedelta(minutes=2), labels=["car"], descriptor=[1.0, 0.0, 0.0])
    same_labels = event(front, T0 + timedelta(minutes=3), labels=["people"], descriptor=[])
    buckets = api.get("/api/search", {"event": paragon.public_id}).json()["result"]["buckets"]
    assert [(b["bucket_id"], b["similarity"]) for b in buckets] == [
        (look_alike.public_id, 0.7),
        (same_labels.public_id, 0.3),
        (other_length.public_id, 0.0),
    ]
    # A paragon without a descriptor: the label overlap alone.
    bare = event(front, T0 + timedelta(minutes=4), labels=["people"], descriptor=[])
    buckets = api.get("/api/search", {"event": bare.public_id}).json()["result"]["buckets"]
    assert buckets[0]["bucket_id"] in (paragon.public_id, same_labels.public_id)
    assert buckets[0]["similarity"] == 1.0
