"""Similarity search (``event=``): visual descriptor cosine plus label overlap, best first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from search.similarity import event_similarity, label_overlap, rank_by_similarity, visual_similarity
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_scores():
    assert visual_similarity([1, 0, 0], [2, 0, 0]) == pytest.approx(1.0)
    assert visual_similarity([1, 0], [0, 1]) == pytest.approx(0.0)
    assert visual_similarity([1, 0], [1, 0, 0]) is None  # different lengths are not comparable
    assert visual_similarity([], [1]) is None
    assert visual_similarity([0, 0], [1, 1]) is None  # no direction
    assert label_overlap(["People", "car"], ["people"]) == pytest.approx(0.5)
    assert label_overlap([], []) == 0.0
    assert event_similarity([1, 0], ["a"], [1, 0], ["a"]) == pytest.approx(1.0)
    assert event_similarity([1, 0], ["a"], [0, 1], ["a"]) == pytest.approx(0.3)
    # A candidate without a comparable descriptor is visually 0; a paragon without one: labels alone.
    assert event_similarity([1, 0], ["a", "b"], [], ["a"]) == pytest.approx(0.15)
    assert event_similarity([], ["a", "b"], [1, 0], ["a"]) == pytest.approx(0.5)


def test_rank_is_stable_and_vectorised_scores_match_the_scalar_ones():
    paragon = ([0.5, 0.5, 0.0], ["people"])
    candidates = [
        (1, [0.0, 0.0, 1.0], ["people"]),
        (2, [0.5, 0.4, 0.1], ["people"]),
        (3, [0.5, 0.4, 0.1], ["people"]),  # same as 2: keeps its date order after it
        (4, "garbage", ["people"]),
        (5, [1.0, 1.0, 0.0], []),
    ]
    ranked = rank_by_similarity(*paragon, candidates)
    assert [pk for pk, _ in ranked] == [2, 3, 5, 1, 4]  # 1 and 4 tie at 0.3: date order
    for pk, score in ranked:
        _, descriptor, labels = next(c for c in candidates if c[0] == pk)
        d = descriptor if isinstance(descriptor, list) else []
        assert score == pytest.approx(event_similarity(*paragon, d, labels), abs=1e-6)


def test_search_orders_events_by_similarity_to_the_paragon(api, user):
    front, back = camera(user, "front"), camera(user, "back")
    red = [0.9, 0.1, 0.0, 0.0]
    paragon = event(front, T0, labels=["people", "walkway"], descriptor=red)
    twin = event(back, T0 + timedelta(minutes=1), labels=["people", "walkway"], descriptor=[0.88, 0.12, 0.0, 0.0])
    same_look = event(front, T0 + timedelta(minutes=2), labels=["car"], descriptor=[0.9, 0.1, 0.0, 0.0])
    same_labels = event(front, T0 + timedelta(minutes=3), labels=["people", "walkway"], descriptor=[0, 0, 0.1, 0.9])
    unrelated = event(front, T0 + timedelta(minutes=4), labels=["dog"], descriptor=[0, 0, 1.0, 0.0])
    body = api.get("/api/search", {"event": paragon.public_id}).json()
    buckets = body["result"]["buckets"]
    assert [b["bucket_id"] for b in buckets] == [
        twin.public_id,
        same_look.public_id,
        same_labels.public_id,
        unrelated.public_id,
    ]
    scores = [b["similarity"] for b in buckets]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 0.95 and scores[-1] < 0.05
    assert body["query"]["event"] == paragon.public_id
    # Other filters still apply: the candidates are the search's events.
    narrowed = api.get("/api/search", {"event": paragon.public_id, "sources": "back"}).json()
    assert [b["bucket_id"] for b in narrowed["result"]["buckets"]] == [twin.public_id]
    top = api.get("/api/search", {"event": paragon.public_id, "num_results": 2}).json()["result"]
    assert [b["bucket_id"] for b in top["buckets"]] == [twin.public_id, same_look.public_id]
    assert top["more_results"] is False  # the whole candidate window was ranked


def test_similarity_of_another_accounts_event_is_404(api, other_user):
    theirs = event(camera(other_user, "front"), T0, descriptor=[1, 0])
    response = api.get("/api/search", {"event": theirs.public_id})
    assert response.status_code == 404
    assert "unknown event" in response.json()["message"]


def _analysis_descriptor(layout_value: float, colour: int) -> list[float]:
    shares = [0.0] * 13
    shares[colour] = 1.0
    return [layout_value] * 48 + shares


def test_analysis_descriptors_use_its_layout_distance():
    red_bright = _analysis_descriptor(0.8, 0)
    assert visual_similarity(red_bright, red_bright) == pytest.approx(1.0)
    # Layout differs by 0.2 everywhere, same colour: distance (0.2 + 0) / 2.
    assert visual_similarity(red_bright, _analysis_descriptor(0.6, 0)) == pytest.approx(0.9)
    # Same layout, another colour: colour shares differ by 2 (L1), halved: (0 + 1) / 2.
    assert visual_similarity(red_bright, _analysis_descriptor(0.8, 5)) == pytest.approx(0.5)
    ranked = rank_by_similarity(
        red_bright,
        [],
        [(1, _analysis_descriptor(0.8, 5), []), (2, _analysis_descriptor(0.7, 0), []), (3, [], [])],
    )
    assert [pk for pk, _ in ranked] == [2, 1, 3]
    assert ranked[0][1] == pytest.approx(0.7 * 0.95)


def test_similarity_pages_through_candidate_windows_without_gaps_or_repeats(api, user, monkeypatch):
    monkeypatch.setattr("search.selectors.CANDIDATE_WINDOW", 3)
    front = camera(user, "front")
    paragon = event(front, T0, labels=["people"], descriptor=[1.0, 0.0])
    later = [event(front, T0 + timedelta(minutes=m), descriptor=[1.0, 0.1 * m]) for m in range(1, 8)]
    seen: list[str] = []
    params = {"event": paragon.public_id}
    for _ in range(4):
        result = api.get("/api/search", params).json()["result"]
        page = [b["bucket_id"] for b in result["buckets"]]
        assert len(page) <= 3
        seen += page
        if not result["more_results"]:
            break
        # The window's oldest candidate bounds the next call (descending).
        params = {"event": paragon.public_id, "date": result["earliest_date_considered"]}
    assert sorted(seen) == sorted(e.public_id for e in later)
    assert len(seen) == len(set(seen))
