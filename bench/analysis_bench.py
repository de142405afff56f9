"""Analysis throughput: 640x360 JPEG frames analysed per second by one worker process.

Anchor: decoding the same JPEGs alone (OpenCV, full size, from bytes in memory), in the same run.
Goal (issue 4): analysis >= 0.4 x the decode-only rate.

What "analysed" means here is the whole task body, ``search.analysis.content_analyze``: read the
bytes from storage, decode, motion against the camera's reference frame, zones, colour, people
(HOG on tall moving regions), descriptor, and placing the item in its event in PostgreSQL (row
lock on the camera, event update, labels) -- everything but the broker round trip.

The scene cycles every 20 frames: 5 quiet frames, 10 with a box sliding and growing (wide: no
people scan), 5 with a person walking in (tall: scanned with HOG). Frames are 1 s apart, so items
group into events (EVENT_GAP_SECONDS=30).

    .venv/bin/python bench/analysis_bench.py [--frames 400] [--width 640 --height 360] [--sqlite]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import harness  # noqa: E402


def _scenes(n: int, width: int, height: int) -> tuple[list[bytes], dict[str, int]]:
    from tests.search.conftest import draw_person, jpeg_bytes, scene_image

    frames, mix = [], {"quiet": 0, "box": 0, "person": 0}
    for i in range(n):
        phase = i % 20
        if phase < 5:
            img, kind = scene_image(width=width, height=height), "quiet"
        elif phase < 15:
            k = phase - 5
            img = scene_image(
                [(0.05 + 0.06 * k, 0.5, 0.12 + 0.02 * k, 0.10 + 0.01 * k, "red")], width=width, height=height
            )
            kind = "box"
        else:
            k = phase - 15
            img = draw_person(scene_image(width=width, height=height), 0.3 + 0.08 * k, 0.97, 0.45 + 0.08 * k)
            kind = "person"
        frames.append(jpeg_bytes(img, quality=85))
        mix[kind] += 1
    return frames, mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--database", default="camhub_bench_analysis")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of a fresh PostgreSQL database")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="camhub-analysis-bench-")
    os.environ["CAMHUB_DATA_DIR"] = data_dir
    os.environ["EVENT_GAP_SECONDS"] = "30"
    os.environ["CACHE_URL"] = args.cache_url
    harness.flush_cache(args.cache_url)
    if not args.sqlite:
        os.environ["DATABASE_URL"] = harness.recreate_database(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from datetime import UTC, datetime, timedelta

    import cv2
    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.core.management import call_command
    from django.db import connection

    from cameras.services import camera_for_upload
    from search.analysis import content_analyze
    from search.models import Event, ItemAnalysis
    from tests.factories import make_user
    from uploads.models import Content

    harness.log(f"database {connection.vendor}; migrating")
    call_command("migrate", verbosity=0)
    frames, mix = _scenes(args.frames, args.width, args.height)
    user = make_user("bench")
    camera = camera_for_upload(owner=user, name="front")
    t0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
    ids = []
    for i, data in enumerate(frames):
        key = default_storage.save(f"bench/{i:06d}.jpg", ContentFile(data))
        ids.append(
            Content.objects.create(
                owner=user,
                camera=camera,
                kind="image",
                content_type="image/jpeg",
                name=f"{i}.jpg",
                storage_key=key,
                size=len(data),
                sha256=f"{i:064d}",
                captured_at=t0 + timedelta(seconds=i),
                width=args.width,
                height=args.height,
            ).pk
        )

    # Anchor: decode only, best of 3 passes.
    decode_s = []
    for _ in range(3):
        start = time.perf_counter()
        for data in frames:
            cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        decode_s.append(time.perf_counter() - start)
    decode_rate = len(frames) / min(decode_s)

    # Time the pixel work (storage read and decode included) apart from the queries around it, by
    # wrapping the functions the pipeline calls.
    from search.analysis import pipeline

    spent = {"pixels": 0.0, "place": 0.0}
    parts: dict[str, float] = {}

    def timed(fn, bucket):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                dt = time.perf_counter() - t
                spent[bucket] += dt
                parts[fn.__name__] = parts.get(fn.__name__, 0.0) + dt

        return wrapper

    for name in (
        "storage_read",
        "content_work_frames",
        "content_full_frame",
        "motion_detect",
        "zone_labels",
        "colour_labels",
        "people_in_region",
        "frame_descriptor",
        "camera_zone_masks",
    ):
        setattr(pipeline, name, timed(getattr(pipeline, name), "pixels"))
    import search.events

    search.events.item_place = timed(search.events.item_place, "place")

    harness.log("analysing")
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        # CPU time, not wall: the machine is shared, waiting on others is not this code's cost.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    start, cpu_start = time.perf_counter(), time.process_time()
    for pk in ids:
        content_analyze(content_id=pk)
    analysis_s = time.perf_counter() - start
    analysis_cpu_s = time.process_time() - cpu_start
    if profiler is not None:
        profiler.disable()
        import pstats

        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)
    analysis_rate = len(ids) / analysis_s

    levels = {}
    for level in ItemAnalysis.objects.values_list("interest_level", flat=True):
        levels[level] = levels.get(level, 0) + 1
    people = ItemAnalysis.objects.filter(labels__icontains="people").count()
    m = harness.machine()
    print(f"analysis bench: {len(ids)} frames {args.width}x{args.height} JPEG q85, scene mix {mix}")
    print(f"machine: nproc={m['nproc']} cpu={m['cpu']} python={m['python']} db={connection.vendor}")
    print(f"{'what':<44} {'frames/s':>10} {'ms/frame':>9}")
    print(f"{'anchor: decode only (cv2.imdecode, full size)':<44} {decode_rate:>10.1f} {1000 / decode_rate:>9.2f}")
    print(f"{'analysis: content_analyze (task body)':<44} {analysis_rate:>10.1f} {1000 / analysis_rate:>9.2f}")
    cpu_rate = len(ids) / analysis_cpu_s
    print(f"{'  the same, CPU time of this process':<44} {cpu_rate:>10.1f} {1000 / cpu_rate:>9.2f}")
    pixel_rate = len(ids) / spent["pixels"]
    print(f"{'  of which pixel work (read, decode, motion,':<44}")
    print(f"{'  zones, colour, HOG, descriptor)':<44} {pixel_rate:>10.1f} {1000 / pixel_rate:>9.2f}")
    place_ms = 1000 * spent["place"] / len(ids)
    other_ms = 1000 / analysis_rate - 1000 / pixel_rate - place_ms
    print(f"{'  placing in events (one transaction)':<44} {'':>10} {place_ms:>9.2f}")
    print(f"{'  loading the item and references (queries)':<44} {'':>10} {other_ms:>9.2f}")
    print(f"ratio analysis / decode = {analysis_rate / decode_rate:.2f} (goal >= 0.40)")
    print(f"ratio analysis CPU / decode = {cpu_rate / decode_rate:.2f}")
    print(f"ratio pixel work / decode = {pixel_rate / decode_rate:.2f}")
    print("pixel work, ms/frame: " + ", ".join(f"{k} {1000 * v / len(ids):.2f}" for k, v in parts.items()))
    print(f"results: levels {dict(sorted(levels.items()))}, people items {people}, events {Event.objects.count()}")


if __name__ == "__main__":
    main()
