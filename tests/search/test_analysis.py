"""Analysis of real synthetic scenes: motion, zones, negative zones, colour, direction, levels."""

from __future__ import annotations

import pytest

from cameras.models import Zone
from search.analysis import content_analyze
from search.models import Event, InterestLevel, ItemAnalysis
from tests.search.conftest import person_jpeg, scene_jpeg

pytestmark = pytest.mark.django_db

RED = (0.40, 0.35, 0.10, 0.30, "red")


def square(points):
    x0, y0, x1, y1 = points
    return [{"points": [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]}]


def analyse_sequence(store_content, camera, scenes, *, step: float = 2.0, **fields):
    """Store and analyse each scene (JPEG bytes) in order, ``step`` seconds apart."""
    out = []
    for i, data in enumerate(scenes):
        item = store_content(camera, data, at=i * step, **fields)
        out.append(content_analyze(content_id=item.pk))
    return out


def test_a_coloured_object_appearing_is_motion_with_its_box_and_colour(store_content, camera):
    still, moved = analyse_sequence(store_content, camera, [scene_jpeg(), scene_jpeg([RED])])
    assert still.status == ItemAnalysis.Status.DONE
    assert still.motion_boxes == [] and still.interest_level == InterestLevel.ANY
    assert moved.status == ItemAnalysis.Status.DONE
    assert len(moved.motion_boxes) == 1
    box = moved.motion_boxes[0]
    for got, want in zip((box["x"], box["y"], box["w"], box["h"]), RED[:4], strict=True):
        assert got == pytest.approx(want, abs=0.03)
    assert "_color_red" in moved.labels
    # 3 % of the frame moved: important motion, not labeled (no zone, no person).
    assert moved.interest_level == InterestLevel.IMPORTANT
    assert 0.4 < moved.interest_score < 0.7


def test_an_unchanged_scene_is_no_motion(store_content, camera):
    items = analyse_sequence(store_content, camera, [scene_jpeg([RED]), scene_jpeg([RED]), scene_jpeg([RED])])
    assert all(a.motion_boxes == [] and a.labels == [] for a in items)
    assert all(a.interest_score == 0 and a.interest_level == InterestLevel.ANY for a in items)


def test_a_small_object_is_motion_below_significant(store_content, camera):
    _, small = analyse_sequence(store_content, camera, [scene_jpeg(), scene_jpeg([(0.1, 0.1, 0.04, 0.06, "blue")])])
    assert small.motion_boxes
    assert small.interest_level == InterestLevel.ANY
    assert 0 < small.interest_score < 0.22


@pytest.mark.parametrize("colour", ["red", "blue", "green", "yellow", "white", "black"])
def test_colour_of_the_moving_region(store_content, camera, colour):
    _, moved = analyse_sequence(store_content, camera, [scene_jpeg(), scene_jpeg([(0.3, 0.3, 0.2, 0.3, colour)])])
    assert f"_color_{colour}" in moved.labels


def test_motion_in_a_zone_is_labeled_with_the_zone_name(store_content, camera):
    Zone.objects.create(camera=camera, name="driveway", polygons=square((0.35, 0.3, 0.6, 0.7)))
    Zone.objects.create(camera=camera, name="Back Porch", polygons=square((0.0, 0.0, 0.2, 0.2)))
    _, moved = analyse_sequence(store_content, camera, [scene_jpeg(), scene_jpeg([RED])])
    assert "driveway" in moved.labels
    assert "Back Porch" not in moved.labels
    assert moved.interest_level == InterestLevel.LABELED
    event = moved.event
    assert "driveway" in event.labels
    assert set(event.label_rows.values_list("label", flat=True)) == {label.lower() for label in event.labels}


def test_motion_wholly_inside_a_negative_zone_is_ignored(store_content, camera):
    Zone.objects.create(camera=camera, name="-tree", polygons=square((0.3, 0.25, 0.6, 0.75)))
    Zone.objects.create(camera=camera, name="driveway", polygons=square((0.3, 0.25, 0.6, 0.75)))
    _, moved = analyse_sequence(store_content, camera, [scene_jpeg(), scene_jpeg([RED])])
    assert moved.motion_boxes == []
    assert moved.labels == []
    assert moved.interest_level == InterestLevel.ANY


def test_motion_reaching_out_of_a_negative_zone_still_counts(store_content, camera):
    Zone.objects.create(camera=camera, name="-tree", polygons=square((0.3, 0.25, 0.45, 0.75)))
    _, moved = analyse_sequence(store_content, camera, [scene_jpeg(), scene_jpeg([RED])])
    assert len(moved.motion_boxes) == 1
    assert "-tree" not in moved.labels


def test_a_growing_object_is_approaching_and_a_shrinking_one_departing(store_content, user, camera):
    sizes = [0.06, 0.10, 0.16, 0.24]
    growing = [scene_jpeg()] + [scene_jpeg([(0.4, 0.3, s, s * 1.5, "blue")]) for s in sizes]
    items = analyse_sequence(store_content, camera, growing)
    event = items[-1].event
    assert event.labels.count("approaching") == 1
    assert "departing" not in event.labels

    from cameras.services import camera_for_upload

    back = camera_for_upload(owner=user, name="back")
    shrinking = [scene_jpeg()] + [scene_jpeg([(0.4, 0.3, s, s * 1.5, "blue")]) for s in reversed(sizes)]
    items = analyse_sequence(store_content, back, shrinking)
    event = items[-1].event
    assert "departing" in event.labels
    assert "approaching" not in event.labels


def test_coming_close_and_going_away_is_both(store_content, camera):
    sizes = [0.06, 0.12, 0.24, 0.12, 0.06]
    scenes = [scene_jpeg()] + [scene_jpeg([(0.4, 0.3, s, s * 1.5, "green")]) for s in sizes]
    items = analyse_sequence(store_content, camera, scenes)
    assert {"approaching", "departing"} <= set(items[-1].event.labels)


def test_rotation_turns_the_frame_upright_before_zones(store_content, camera):
    # The camera hangs upside down: what it sends top-left is bottom-right upright.
    Zone.objects.create(camera=camera, name="bottom right", polygons=square((0.6, 0.6, 1.0, 1.0)))
    scenes = [scene_jpeg(), scene_jpeg([(0.05, 0.05, 0.2, 0.25, "red")])]
    _, moved = analyse_sequence(store_content, camera, scenes, rotation=180)
    assert "bottom right" in moved.labels
    assert moved.motion_boxes[0]["x"] > 0.7


def test_heartbeat_stills_are_skipped_but_serve_as_background(store_content, camera):
    beat = store_content(camera, scene_jpeg(), at=0, img_type="h")
    skipped = content_analyze(content_id=beat.pk)
    assert skipped.status == ItemAnalysis.Status.SKIPPED
    assert skipped.event is None
    moved = content_analyze(content_id=store_content(camera, scene_jpeg([RED]), at=5).pk)
    assert moved.motion_boxes and "_color_red" in moved.labels
    assert Event.objects.filter(camera=camera).count() == 1


def test_no_analysis_makes_the_item_its_own_event(store_content, camera):
    own = content_analyze(content_id=store_content(camera, scene_jpeg([RED]), at=0, options=["no_analysis"]).pk)
    assert own.status == ItemAnalysis.Status.SKIPPED
    assert own.labels == [] and own.motion_boxes == []
    assert own.event is not None and own.event.item_count == 1
    other = content_analyze(content_id=store_content(camera, scene_jpeg(), at=3).pk)
    assert other.event_id != own.event_id
    own.event.refresh_from_db()
    assert own.event.item_count == 1
    # The uploader's own event counts as important motion: the default search (imo) shows it.
    assert own.interest_level == own.event.max_interest_level == InterestLevel.IMPORTANT


def test_an_uploaded_no_analysis_event_is_found_by_the_default_search_and_matches_hooks(
    api, user, camera, django_capture_on_commit_callbacks
):
    from accounts.services import account_settings_get
    from hooks.models import Hook
    from hooks.services import hooks_fire_for_event

    token = account_settings_get(user=user).upload_token
    with django_capture_on_commit_callbacks(execute=True):  # the upload's hand-off to analysis
        response = api.generic(
            "PUT",
            f"/api/users/{token}/cameras/front/content/2026-11-20T12:00:00.000-00:00.jpg?camera_id=1&options=no_analysis",
            scene_jpeg([RED]),
            content_type="image/jpeg",
        )
    assert response.status_code == 201, response.content
    buckets = api.get("/api/search").json()["result"]["buckets"]  # motion_type defaults to imo
    assert len(buckets) == 1 and buckets[0]["max_interest_level"] == InterestLevel.IMPORTANT
    assert api.get("/api/search?motion_type=lmo").json()["result"]["buckets"] == []  # no labels
    # A hook on the camera fires for it (hooks need important motion). Its delivery is written
    # here and would be sent after commit, which this test's transaction never reaches.
    Hook.objects.create(owner=user, type="label_hit", query="front", callback_url="https://example.com/cb")
    assert len(hooks_fire_for_event(event=Event.objects.get(camera=camera))) == 1


def test_alternates_are_skipped_and_attached_to_the_event_they_support(store_content, camera):
    main = store_content(camera, scene_jpeg([RED]), at=10)
    early = store_content(camera, scene_jpeg(), at=10, options=["alternate"], alternate_of=main)
    # The alternate is analysed first: no event yet; the main item's placement attaches it.
    assert content_analyze(content_id=early.pk).event is None
    placed = content_analyze(content_id=main.pk)
    late = store_content(camera, scene_jpeg(), at=11, options=["alternate"], alternate_of=main)
    late_analysis = content_analyze(content_id=late.pk)
    early_analysis = ItemAnalysis.objects.get(pk=early.pk)
    assert early_analysis.status == late_analysis.status == ItemAnalysis.Status.SKIPPED
    assert early_analysis.event_id == late_analysis.event_id == placed.event_id
    placed.event.refresh_from_db()
    assert placed.event.item_count == 1
    assert placed.event.cover_id == main.pk


def test_analysis_is_idempotent(store_content, camera):
    _, second = analyse_sequence(store_content, camera, [scene_jpeg(), scene_jpeg([RED])])
    event = Event.objects.get(pk=second.event_id)
    again = content_analyze(content_id=second.pk)
    assert again.analyzed_at == second.analyzed_at
    assert (again.labels, again.motion_boxes, again.event_id) == (second.labels, second.motion_boxes, event.pk)
    event2 = Event.objects.get(pk=event.pk)
    assert (event2.item_count, event2.labels, event2.updated_at) == (event.item_count, event.labels, event.updated_at)


def test_forced_reanalysis_picks_up_a_new_zone(store_content, camera):
    _, moved = analyse_sequence(store_content, camera, [scene_jpeg(), scene_jpeg([RED])])
    assert "driveway" not in moved.event.labels
    Zone.objects.create(camera=camera, name="driveway", polygons=square((0.35, 0.3, 0.6, 0.7)))
    again = content_analyze(content_id=moved.pk, force=True)
    assert "driveway" in again.labels
    event = Event.objects.get(pk=again.event_id)
    assert "driveway" in event.labels and event.max_interest_level == InterestLevel.LABELED
    assert event.item_count == 2


def test_undecodable_bytes_are_a_failed_analysis_not_an_error(store_content, camera):
    item = store_content(camera, b"\xff\xd8\xff\xe0 not really a jpeg", at=0, width=640, height=360)
    result = content_analyze(content_id=item.pk)
    assert result.status == ItemAnalysis.Status.FAILED
    assert result.error and result.event is None


def test_a_deleted_item_is_nothing_to_do(store_content, camera):
    item = store_content(camera, scene_jpeg(), at=0)
    pk = item.pk
    item.delete()
    assert content_analyze(content_id=pk) is None


def test_cover_is_the_most_interesting_item_and_descriptor_is_its(store_content, camera):
    scenes = [scene_jpeg(), scene_jpeg([(0.1, 0.1, 0.05, 0.08, "red")]), scene_jpeg([(0.3, 0.2, 0.3, 0.5, "blue")])]
    items = analyse_sequence(store_content, camera, scenes)
    event = Event.objects.get(pk=items[-1].event_id)
    assert event.cover_id == items[-1].pk
    assert event.max_interest_level == items[-1].interest_level == InterestLevel.IMPORTANT
    assert event.max_interest_score == items[-1].interest_score
    assert event.descriptor == items[-1].descriptor and len(event.descriptor) == 61


@pytest.mark.parametrize(("x", "height"), [(0.2, 0.45), (0.5, 0.7), (0.8, 0.9)])
def test_a_person_walking_in_is_labeled_people(store_content, camera, x, height):
    # A drawn figure with an adult's proportions: the HOG detector's own cue (no photo is shipped).
    scenes = [scene_jpeg(), person_jpeg(x=x, height=height, bottom=0.97)]
    _, walked_in = analyse_sequence(store_content, camera, scenes)
    assert walked_in.motion_boxes
    assert "people" in walked_in.labels
    assert walked_in.interest_level == InterestLevel.LABELED
    assert "people" in walked_in.event.labels


@pytest.mark.parametrize("rect", [RED, (0.45, 0.1, 0.08, 0.6, "black"), (0.2, 0.2, 0.5, 0.5, "green")])
def test_boxes_and_bars_are_not_people(store_content, camera, rect):
    _, moved = analyse_sequence(store_content, camera, [scene_jpeg(), scene_jpeg([rect])])
    assert moved.motion_boxes and "people" not in moved.labels


def test_only_tall_regions_are_scanned_for_people_decoded_no_larger_than_needed():
    from search.analysis.people import MIN_DECODED_HEIGHT, region_may_hold_a_person, region_reduction

    tall, wide = {"x": 0.4, "y": 0.1, "w": 0.1, "h": 0.8}, {"x": 0.1, "y": 0.4, "w": 0.5, "h": 0.2}
    assert region_may_hold_a_person(tall, width=640, height=360)
    assert not region_may_hold_a_person(wide, width=640, height=360)
    assert not region_may_hold_a_person({"x": 0, "y": 0, "w": 0.01, "h": 0.05}, width=640, height=360)  # 18 px
    # 288 px tall at full size: at 1/2 it is 144 px and at 1/4 72 px, under the 80 px decoded.
    assert region_reduction(tall, height=360) == 2
    assert region_reduction(tall, height=2160) == 8
    assert region_reduction({"h": 0.3}, height=360) == 1  # 108 px: 54 at 1/2
    assert region_reduction({"h": 0.5}, height=360) == 2  # 180 px: 90 at 1/2
    for height in (360, 1080, 2160):
        reduction = region_reduction(tall, height=height)
        assert tall["h"] * height / reduction >= MIN_DECODED_HEIGHT
        assert reduction == 8 or tall["h"] * height / (2 * reduction) < MIN_DECODED_HEIGHT
