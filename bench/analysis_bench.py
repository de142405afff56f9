"""Analysis throughput: 640x360 JPEG frames analysed per second by one worker process.

Anchor: decoding the same JPEGs alone (OpenCV, full size, from bytes in memory), in the same run.
Goal (issue 4): analysis >= 0.4 x the decode-only rate.

What "analysed" means here is the Celery task body as a worker runs it, ``search.analyze_content``
called once per frame in upload order (what ingest enqueues), everything but the broker round trip:
the task analyses its item with the camera's next unanalysed items as a batch (read the bytes from
storage, decode, motion against the reference frame, zones, colour, people (HOG on tall moving
regions), descriptor), places the batch in its events in PostgreSQL (camera row lock, events,
analyses, labels) in one transaction, and the messages of the items a batch took find them done.
All frames are stored before the tasks run: a backlog, which is when throughput matters.

With ``--worker``, the same frames also go through **a real Celery worker** (one prefork process,
as production runs analysis, on Redis): messages published the way ingest publishes them, timed
from the first message to the last item analysed, broker round trips and Celery's per-message work
included. Twice: one message per item (as ingest did before coalescing) and coalesced (one message
per camera while one is pending: the task takes the backlog and follows up on what its batch did
not cover).

Rounds (``--rounds``, default 3): the task in-process and the coalesced worker each take that many
cameras of the same frames, one after the other. The best round is compared with the anchor,
which is itself the best of its passes (on this shared VM a single pass swings by a third); every
round's ratio and the median are printed beside it, and every round's results must be the same.
Each round is also compared with the faster of two decode passes taken right before and after it
("paired": the same minute of the VM), and the median of those is printed.

For comparison the same frames of a second camera go through ``content_analyze`` one item at a
time (the item-by-item path: the admin's re-analyse, and what the task did before batching), and
the two cameras' results are compared item by item and event by event.

The scene cycles every 20 frames: 5 quiet frames, 10 with a box sliding and growing (wide: no
people scan), 5 with a person walking in (tall: scanned with HOG). Frames are 1 s apart, so items
group into events (EVENT_GAP_SECONDS=30).

    .venv/bin/python bench/analysis_bench.py [--frames 400] [--width 640 --height 360] [--sqlite]
        [--no-per-item] [--worker] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
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
    parser.add_argument("--no-per-item", action="store_true", help="skip the item-by-item comparison")
    parser.add_argument("--worker", action="store_true", help="also through a real worker (broker: --cache-url)")
    parser.add_argument("--worker-pool", default="prefork", help="the worker's pool (prefork, as production; solo)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="cameras of the same frames for the task in-process and for the coalesced worker: the best "
        "round is compared with the anchor (itself the best of its passes), the median shown beside it",
    )
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="camhub-analysis-bench-")
    os.environ["CAMHUB_DATA_DIR"] = data_dir
    os.environ["EVENT_GAP_SECONDS"] = "30"
    os.environ["CACHE_URL"] = args.cache_url
    if args.worker:
        os.environ["CELERY_BROKER_URL"] = args.cache_url
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
    from search.tasks.analysis import analyze_content
    from tests.factories import make_user
    from uploads.models import Content

    harness.log(f"database {connection.vendor}; migrating")
    call_command("migrate", verbosity=0)
    frames, mix = _scenes(args.frames, args.width, args.height)
    user = make_user("bench")
    t0 = datetime(2026, 11, 20, 12, tzinfo=UTC)

    def store(camera_name: str) -> list[int]:
        camera = camera_for_upload(owner=user, name=camera_name)
        ids = []
        for i, data in enumerate(frames):
            key = default_storage.save(f"bench/{camera_name}/{i:06d}.jpg", ContentFile(data))
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
        return ids

    rounds = max(1, args.rounds)
    round_ids = [store("front" if r == 0 else f"front-{r + 1}") for r in range(rounds)]
    ids = round_ids[0]
    per_item_ids = [] if args.no_per_item else store("side")
    warm_ids = store("warm-up")[:40]
    coalesced_cameras = tuple("worker-coalesced" if r == 0 else f"worker-coalesced-{r + 1}" for r in range(rounds))
    worker_cameras = ("worker-warm-up", "worker-per-message", *coalesced_cameras) if args.worker else ()
    worker_ids = {name: store(name) for name in worker_cameras}
    if worker_ids:
        worker_ids["worker-warm-up"] = worker_ids["worker-warm-up"][:40]

    # Anchor: decode only, best of 3 passes (``passes``: fewer, beside each round).
    def decode_rate(passes: int = 3) -> float:
        best = []
        for _ in range(passes):
            start = time.perf_counter()
            for data in frames:
                cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            best.append(time.perf_counter() - start)
        return len(frames) / min(best)

    # Time the pixel work (storage read and decode included) apart from the queries around it, by
    # wrapping the functions the pipeline calls.
    import search.events
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
    search.events.items_place = timed(search.events.items_place, "place")

    def run(fn, pks: list[int]) -> tuple[float, float, dict, dict]:
        for key in spent:
            spent[key] = 0.0
        parts.clear()
        start, cpu_start = time.perf_counter(), time.process_time()
        for pk in pks:
            fn(pk)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        return wall, cpu, dict(spent), dict(parts)

    # A worker has imported its tasks and compiled its queries before the messages of interest
    # arrive: warm up on a camera of its own (not measured).
    harness.log("warming up")
    run(analyze_content, warm_ids)
    decode_before = decode_rate()
    harness.log("analysing: the task, as a worker runs it")
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        # CPU time, not wall: the machine is shared, waiting on others is not this code's cost.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    # A worker calls the task object with the message's arguments (Celery's tracer: ``task(*args)``).
    # Each round is also paired with the faster of two decode passes right before and after it:
    # the VM's speed drifts by a third within a run, and a pair sees the same speed.
    task_rounds, task_paired = [], []
    for pks in round_ids:
        before = decode_rate(2)
        task_rounds.append(run(analyze_content, pks))
        task_paired.append(len(pks) / task_rounds[-1][0] / max(before, decode_rate(2)))
    task_wall, task_cpu, task_spent, task_parts = min(task_rounds, key=lambda r: r[0])
    if profiler is not None:
        profiler.disable()
        import pstats

        if os.environ["BENCH_PROFILE"].endswith(".prof"):  # for pstats' callers and callees
            profiler.dump_stats(os.environ["BENCH_PROFILE"])

        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)
    per_item = None
    if per_item_ids:
        harness.log("analysing: item by item (content_analyze)")
        per_item = run(lambda pk: content_analyze(content_id=pk), per_item_ids)
    decode_after = decode_rate()
    decode = max(decode_before, decode_after)

    # Messages whose item an earlier batch took: what such a task costs.
    skip_start = time.perf_counter()
    for pk in ids[-50:]:
        analyze_content(pk)
    skip_ms = 1000 * (time.perf_counter() - skip_start) / 50

    worker_results: dict[str, tuple[float, float, float, float]] = {}
    if args.worker:
        worker_results = through_worker(worker_ids, data_dir, pool=args.worker_pool, decode_rate=decode_rate)
    coalesced_rounds = [worker_results.pop(name) for name in coalesced_cameras if name in worker_results]
    worker_paired = [len(ids) / wall / anchor for wall, _cpu, _parent, anchor in coalesced_rounds]

    def outcome(pks: list[int]) -> tuple[list, list]:
        rows = {
            a.pk: (a.status, a.interest_level, a.interest_score, a.labels, a.motion_boxes, a.descriptor)
            for a in ItemAnalysis.objects.filter(pk__in=pks)
        }
        order = {pk: i for i, pk in enumerate(pks)}
        events = [
            (
                e.earliest_date,
                e.latest_date,
                e.labels,
                e.max_interest_level,
                e.max_interest_score,
                order.get(e.cover_id),
                e.item_count,
                e.descriptor,
                sorted(e.label_rows.values_list("label", flat=True)),
            )
            for e in Event.objects.filter(cover_id__in=pks).order_by("earliest_date")
        ]
        return [rows.get(pk) for pk in pks], events

    items, events = outcome(ids)
    levels: dict[int, int] = {}
    for row in items:
        levels[row[1]] = levels.get(row[1], 0) + 1
    people = sum("people" in row[3] for row in items)
    n = len(ids)
    m = harness.machine()
    print(f"analysis bench: {n} frames {args.width}x{args.height} JPEG q85, scene mix {mix}")
    print(f"machine: nproc={m['nproc']} cpu={m['cpu']} python={m['python']} db={connection.vendor}")
    print(f"{'what':<52} {'frames/s':>10} {'ms/frame':>9} {'/ decode':>9}")

    def line(label: str, rate: float | None, ms: float | None = None) -> None:
        if rate is None:
            print(f"{label:<52} {'':>10} {ms:>9.2f} {'':>9}")
        else:
            print(f"{label:<52} {rate:>10.1f} {1000 / rate:>9.2f} {rate / decode:>9.2f}")

    line("anchor: decode only (cv2.imdecode, full size)", decode)
    line(f"analysis: the task (search.analyze_content), wall, best of {rounds}", n / task_wall)
    line("  the same, median round", n / statistics.median(r[0] for r in task_rounds))
    line("  the same, CPU time of this process", n / task_cpu)
    line("  of which pixel work (read, decode, motion,", None, 1000 * task_spent["pixels"] / n)
    print("    zones, colour, HOG, descriptor)")
    line("  of which placing in events (items_place), wall", None, 1000 * task_spent["place"] / n)
    line(
        "  of which the rest (loading, lease, skipped messages)",
        None,
        1000 * (task_wall - task_spent["pixels"] - task_spent["place"]) / n,
    )
    line("  a message whose item a batch took (each)", None, skip_ms)
    if per_item is not None:
        wall, cpu, item_spent, _ = per_item
        line("item by item: content_analyze, wall", n / wall)
        line("  the same, CPU time of this process", n / cpu)
        line("  of which pixel work", None, 1000 * item_spent["pixels"] / n)

    def rounds_lines(what: str, walls: list[float], paired: list[float]) -> None:
        print(f"{what} rounds, wall / decode: " + ", ".join(f"{n / wall / decode:.2f}" for wall in walls))
        print(
            f"{what} rounds, wall / the decode passes beside each: "
            + ", ".join(f"{r:.2f}" for r in paired)
            + f"; median {statistics.median(paired):.2f} (goal >= 0.40)"
        )

    print(f"anchor passes: {decode_before:.1f} before, {decode_after:.1f} after the analysis (the faster is used)")
    rounds_lines("analysis", [r[0] for r in task_rounds], task_paired)
    print(f"ratio analysis (task) / decode = {n / task_wall / decode:.2f} (goal >= 0.40)")
    print(f"ratio analysis (task) CPU / decode = {n / task_cpu / decode:.2f}")
    print("pixel work, ms/frame: " + ", ".join(f"{k} {1000 * v / n:.2f}" for k, v in task_parts.items()))
    print(f"results: levels {dict(sorted(levels.items()))}, people items {people}, events {len(events)}")
    for label, (wall, cpu, parent, _anchor) in worker_results.items():
        line(f"real worker ({args.worker_pool}), {label}, wall", n / wall)
        line("  the same, CPU time of the worker's processes", n / cpu)
        line("  of which the pool's parent process", None, 1000 * parent / n)
    if coalesced_rounds:
        wall, cpu, parent, _anchor = min(coalesced_rounds)
        line(f"real worker ({args.worker_pool}), coalesced, wall, best of {len(coalesced_rounds)}", n / wall)
        line("  the same, median round", n / statistics.median(r[0] for r in coalesced_rounds))
        line("  CPU time of the worker's processes (best round)", n / cpu)
        line("  of which the pool's parent process", None, 1000 * parent / n)
        rounds_lines("real worker", [r[0] for r in coalesced_rounds], worker_paired)
        print(f"ratio real worker (coalesced) / decode = {n / wall / decode:.2f} (goal >= 0.40)")
    same_rounds = all(outcome(pks) == (items, events) for pks in round_ids[1:])
    print(f"the task's rounds' results: {'the same' if same_rounds else 'DIFFERENT'}")
    if args.worker:
        same = all(outcome(worker_ids[name]) == (items, events) for name in worker_cameras[1:])
        print(f"the real worker's results vs the task in-process: {'the same' if same else 'DIFFERENT'}")
    if per_item is not None:
        same_items, same_events = outcome(per_item_ids)
        print(
            "the task's results vs item by item: "
            f"items {'the same' if same_items == items else 'DIFFERENT'}, "
            f"events {'the same' if same_events == events else 'DIFFERENT'}"
        )


def through_worker(
    worker_ids: dict[str, list[int]], data_dir: str, pool: str, decode_rate
) -> dict[str, tuple[float, float, float, float]]:
    """Each camera's frames through one real worker process (``pool``, concurrency 1): (wall, CPU,
    the pool parent's share of that CPU) seconds from the first message published to the last
    item analysed and the last message acknowledged, and the faster of two ``decode_rate(2)``
    passes right before and after (the worker idle); the first camera warms the worker up
    (imports, connections) and is not reported."""
    import redis

    from config.tasks import enqueue_on_commit
    from search.models import ItemAnalysis
    from uploads.models import Content

    broker = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", pool, "--concurrency", "1"]
    # The default queue only, as a dedicated analysis worker: the hand-offs to hooks go to the
    # hooks queue's workers (left queued here; the broker's database is flushed at the start).
    argv += ["--queues", "celery", "--loglevel", "WARNING", "--without-mingle", "--without-gossip"]
    log = open(Path(data_dir) / "worker.log", "w")  # closed with the worker
    worker = subprocess.Popen(argv, cwd=REPO, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
    results = {}
    try:
        for name, pks in worker_ids.items():
            coalesced = "coalesced" in name
            camera_id = Content.objects.get(pk=pks[0]).camera_id
            harness.log(f"real worker: {name} ({len(pks)} messages {'coalesced' if coalesced else 'one per item'})")
            anchor = decode_rate(2)
            parent_before = harness.process_cpu_seconds(worker.pid)
            cpu_before = sum(harness.process_cpu_seconds(p) for p in [worker.pid, *harness.child_pids(worker.pid)])
            started = time.perf_counter()
            for pk in pks:  # as ingest does after each upload's commit (outside a transaction: at once)
                key = f"analysis:camera:{camera_id}" if coalesced else None
                enqueue_on_commit("search.analyze_content", pk, coalesce=key)
            # Done means every message of this camera consumed and acknowledged (otherwise the
            # messages whose item a batch took would be charged to the next camera) and every item
            # analysed. Polled every 5 ms (a coarser poll adds up to its period to the wall time),
            # cheaply: the poll shares the two cores with the worker (an 800-id IN list every 10 ms
            # once cost it a third of a core), so the broker is asked first (two Redis reads; a
            # chain always holds a message until it ends) and PostgreSQL only once it is drained.
            analysed = ItemAnalysis.objects.filter(content__camera_id=camera_id)
            while not _broker_drained(broker) or analysed.count() < len(pks):
                if worker.poll() is not None:
                    raise SystemExit(f"the worker died; see {log.name}")
                time.sleep(0.005)
            wall = time.perf_counter() - started
            cpu = sum(harness.process_cpu_seconds(p) for p in [worker.pid, *harness.child_pids(worker.pid)])
            parent = harness.process_cpu_seconds(worker.pid) - parent_before
            anchor = max(anchor, decode_rate(2))
            if name != "worker-warm-up":
                label = "one message per item" if not coalesced else name
                results[label] = (wall, cpu - cpu_before, parent, anchor)
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
    return results


def _broker_drained(broker) -> bool:
    """No message waiting in the worker's queue and none delivered but unacknowledged (kombu's
    Redis transport keeps those in the ``unacked`` hash until the task's late ack)."""
    return broker.llen("celery") == 0 and broker.hlen("unacked") == 0


if __name__ == "__main__":
    main()
