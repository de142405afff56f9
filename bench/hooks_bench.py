"""Hook delivery through a real Celery worker on Redis, to a receiver on loopback, on PostgreSQL.

Figures, each next to its anchor:

1. ``latency``: an event handed to hooks (``hooks.event_labels_changed.delay``, what analysis does
   on commit) → its signed callback arriving at the receiver, one at a time on an idle worker:
   p50/p99.
1b. ``upload``: the issue's figure, end to end: a JPEG ``PUT`` to the ingest endpoint (gunicorn) is
   accepted (201) → the worker analyses it into an event → hooks match and deliver → the callback
   arrives; one upload at a time, each its own event (goal: p99 under 1 s).
2. ``throughput``: deliveries per second of one worker process (threads pool, concurrency 16 as
   the compose file runs it) draining N queued deliveries, against a bare ``httpx`` loop posting
   the same bodies and headers to the same receiver (goal: ≥ 0.5 of the bare rate): N
   deliveries of one hook (a burst), and N/2 deliveries of N/2 hooks, one each, all to the same
   receiver (batched across hooks: a task sends the due deliveries of every hook of its receiver
   in batches on one connection). Each with the default drain slots per receiver (a few tasks
   drain a receiver in parallel) and again with one (one task and one connection at a time, the
   shape of the bare loop).
3. ``kill``: the worker is SIGKILLed mid-drain; the stuck-delivery sweep hands out what was in
   flight or queued, a new worker finishes: deliveries lost (goal: 0) and duplicates (allowed).
4. ``fan-out``: the cost of matching an event against N hooks of its owner (N = 1, 10, 100) and
   writing the deliveries, against parsing and matching alone.

Run (PostgreSQL and Redis on loopback; Redis db 14 is flushed)::

    flock /tmp/camhub-bench.lock .venv/bin/python -m bench.hooks_bench --events 100 --uploads 100 --deliveries 2000 \
        --kill-deliveries 600 --fanout-events 20
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench import harness

DATABASE = "camhub_e_bench"
BROKER_URL = "redis://127.0.0.1:6379/14"
CONCURRENCY = 16
RATIO_GOAL = 0.5
P99_GOAL_MS = 1000.0


# --- the receiver --------------------------------------------------------------------------------
class Receiver:
    """A keep-alive HTTP/1.1 server on loopback recording each callback's webhook-id and arrival."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.arrivals: dict[str, float] = {}  # webhook-id -> first arrival (time.time())
        self.by_event: dict[str, float] = {}
        self.count = 0
        self.last_arrival = 0.0
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle and delayed ACKs
            # add 40 ms to every keep-alive exchange.
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                now = time.time()
                if receiver.delay:
                    time.sleep(receiver.delay)
                msg_id = self.headers.get("webhook-id", "")
                with receiver.cond:
                    receiver.count += 1
                    receiver.last_arrival = now
                    receiver.arrivals.setdefault(msg_id, now)
                    try:
                        receiver.by_event.setdefault(json.loads(body)["event"]["id"], now)
                    except (ValueError, KeyError, TypeError):
                        pass
                    receiver.cond.notify_all()
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        # The kill test resets connections on purpose: no traceback per reset.
        self.server.handle_error = lambda request, client_address: None
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def wait(self, predicate, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def reset(self) -> None:
        with self.cond:
            self.arrivals.clear()
            self.by_event.clear()
            self.count = 0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the worker ----------------------------------------------------------------------------------
def start_worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "threads"]
    argv += ["--concurrency", str(CONCURRENCY), "--loglevel", "WARNING", "--queues", "celery,hooks"]
    argv += ["--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"{name}@%h"]
    out = log.open("ab")
    proc = subprocess.Popen(argv, cwd=harness.REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    # Ready when it answers a ping (its log level hides the "ready" line).
    from config.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited:\n{log.read_text()[-2000:]}")
        replies = app.control.ping(destination=[f"{name}@{os.uname().nodename}"], timeout=0.5)
        if replies:
            return proc
    proc.kill()
    raise RuntimeError("worker did not answer a ping within 60 s")


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- the parts -----------------------------------------------------------------------------------
def make_event(camera, labels):
    from django.utils import timezone

    from search.models import Event, InterestLevel

    now = timezone.now()
    return Event.objects.create(
        owner=camera.owner,
        camera=camera,
        earliest_date=now - timedelta(seconds=5),
        latest_date=now,
        labels=sorted(labels),
        # Hooks fire only on important motion (the bench user's motion alerts are off: hooks alone).
        max_interest_level=InterestLevel.IMPORTANT,
    )


def part_latency(camera, receiver: Receiver, events: int) -> dict:
    from hooks.tasks import event_labels_changed

    latencies = []
    for _ in range(events):
        event = make_event(camera, ["people", "approaching", "mailbox"])
        sent = time.time()
        event_labels_changed.delay(event.pk)
        if not receiver.wait(lambda e=event.public_id: e in receiver.by_event, timeout=30):
            raise RuntimeError("a callback did not arrive within 30 s")
        latencies.append((receiver.by_event[event.public_id] - sent) * 1000)
        time.sleep(0.02)  # idle between events: the latency of one event, not of a queue
    latencies.sort()
    return {
        "events": events,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "max_ms": latencies[-1],
    }


def upload_frames(n: int) -> list[bytes]:
    """N distinct 640x360 JPEGs, each with important motion against the one before (hooks fire only
    on that): a box of 12 % of the frame jumps between the left and right halves, nudged a little
    each time so that each upload is new content."""
    from tests.search.conftest import jpeg_bytes, scene_image

    return [
        jpeg_bytes(scene_image([(0.05 + 0.5 * (i % 2) + 0.005 * (i // 2 % 20), 0.3, 0.3, 0.4, "red")]), quality=85)
        for i in range(n)
    ]


def upload_quiet_frame(base_url: str, upload_token: str, *, days_ago: int) -> None:
    """The camera's first item, an empty scene: a first item has nothing to be compared with (no
    motion, so no callback), and the uploads after it have it to be compared with."""
    import httpx
    from django.utils import timezone

    from tests.search.conftest import scene_jpeg

    name = (timezone.now() - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.000-00:00") + ".jpg"
    url = f"{base_url}/api/users/{upload_token}/cameras/front/content/{name}?camera_id=bench-front"
    response = httpx.put(url, content=scene_jpeg(quality=85), headers={"content-type": "image/jpeg"}, timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:300]}")


def part_upload(base_url: str, upload_token: str, receiver: Receiver, frames: list[bytes], *, days_ago: int) -> dict:
    """One upload at a time through the real ingest endpoint; the worker analyses it into an event,
    hooks match it (query ``front``) and deliver: upload accepted (201 received) -> callback.

    Each frame is named an hour after the previous one, so each makes an event of its own (and
    so one callback: a hook fires once per event)."""
    import httpx
    from django.utils import timezone

    t0 = timezone.now() - timedelta(days=days_ago)  # runs with different days_ago never share an event
    accepted_to_callback, request_to_callback, upload_ms = [], [], []
    with httpx.Client(timeout=30) as client:
        for i, data in enumerate(frames):
            name = (t0 + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S.000-00:00") + ".jpg"
            url = f"{base_url}/api/users/{upload_token}/cameras/front/content/{name}?camera_id=bench-front"
            before = receiver.count
            started = time.time()
            response = client.put(url, content=data, headers={"content-type": "image/jpeg"})
            accepted = time.time()
            if response.status_code != 201:
                raise RuntimeError(f"upload answered {response.status_code}: {response.text[:300]}")
            if not receiver.wait(lambda b=before: receiver.count > b, timeout=30):
                raise RuntimeError(f"no callback within 30 s of upload {i}")
            with receiver.cond:
                arrived = receiver.last_arrival
            accepted_to_callback.append((arrived - accepted) * 1000)
            request_to_callback.append((arrived - started) * 1000)
            upload_ms.append((accepted - started) * 1000)
            time.sleep(0.05)  # idle between uploads: the latency of one upload, not of a queue
    return {
        "uploads": len(frames),
        "p50_ms": statistics.median(accepted_to_callback),
        "p99_ms": _p99(accepted_to_callback),
        "max_ms": max(accepted_to_callback),
        "with_upload_p50_ms": statistics.median(request_to_callback),
        "with_upload_p99_ms": _p99(request_to_callback),
        "upload_p50_ms": statistics.median(upload_ms),
    }


def _p99(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(0.99 * len(values)))]


def queued_deliveries(camera, hook, n: int) -> list:
    """N delivery rows (one event each), written without tasks: the caller publishes them."""
    from django.utils import timezone

    from hooks.models import Delivery
    from hooks.services import event_payload
    from hooks.ssrf import url_origin

    rows = []
    for _ in range(n):
        event = make_event(camera, ["people"])
        body = event_payload(hook_id=hook.pk, event=event)
        rows.append(
            Delivery(
                hook=hook,
                event=event,
                body=body,
                next_attempt_at=timezone.now(),
                receiver=url_origin(hook.callback_url),
            )
        )
    Delivery.objects.bulk_create(rows, batch_size=500)
    return list(Delivery.objects.filter(hook=hook, state="pending").order_by("id"))


def publish(rows) -> int:
    """What firing does after commit for each new delivery (a task unless every drain slot of its
    receiver is taken); returns the tasks queued."""
    from hooks.services import delivery_kick

    return sum(delivery_kick(origin=row.receiver, delivery_id=row.pk) for row in rows)


def spread_deliveries(user, camera, receiver: Receiver, n: int, *, tag: str = "") -> list:
    """N delivery rows for N hooks (one each, all to the receiver): batched across hooks."""
    from django.utils import timezone

    from hooks.models import Delivery, Hook
    from hooks.services import event_payload
    from hooks.ssrf import url_origin

    Hook.objects.bulk_create(
        [Hook(owner=user, callback_url=receiver.url(f"/h{tag}{i}"), query=f"nomatch{tag}") for i in range(n)]
    )
    hooks = list(Hook.objects.filter(owner=user, query=f"nomatch{tag}").order_by("id"))
    rows = []
    for h in hooks:
        event = make_event(camera, ["people"])
        rows.append(
            Delivery(
                hook=h,
                event=event,
                body=event_payload(hook_id=h.pk, event=event),
                next_attempt_at=timezone.now(),
                receiver=url_origin(h.callback_url),  # what firing writes
            )
        )
    Delivery.objects.bulk_create(rows, batch_size=500)
    return list(Delivery.objects.filter(hook__in=hooks, state="pending").select_related("hook").order_by("id"))


def one_drain_env(env: dict[str, str], data_dir: Path) -> dict[str, str]:
    """The worker's environment with HOOK_DRAINS_PER_RECEIVER = 1 (one task, one connection per
    receiver at a time: the bare loop's shape), through a settings module in the run's directory."""
    (data_dir / "hooks_bench_one_drain.py").write_text(
        "from config.settings import *  # noqa: F403\n\nHOOK_DRAINS_PER_RECEIVER = 1\n"
    )
    path = os.pathsep.join([str(data_dir), env.get("PYTHONPATH", "")])
    return dict(env, DJANGO_SETTINGS_MODULE="hooks_bench_one_drain", PYTHONPATH=path)


def part_throughput(
    env, camera, hook, receiver: Receiver, n: int, log: Path, *, rows=None, drains: int | None = None
) -> dict:
    """N deliveries queued first; then one fresh worker process drains them. ``drains``: the drain
    slots per receiver the publisher uses (the worker's ``env`` must say the same)."""
    from contextlib import nullcontext

    import httpx
    from django.test import override_settings

    from hooks.delivery import signed_headers
    from hooks.services import drains_per_receiver

    rows = rows if rows is not None else queued_deliveries(camera, hook, n)
    receiver.reset()
    started = time.time()
    with override_settings(HOOK_DRAINS_PER_RECEIVER=drains) if drains else nullcontext():
        tasks = publish(rows)
        slots = drains_per_receiver()
    published = time.time() - started
    worker = start_worker(env, f"bench-drain-{time.monotonic_ns()}", log)
    started = time.time()
    try:
        if not receiver.wait(lambda: len(receiver.arrivals) >= n, timeout=600):
            raise RuntimeError(f"only {len(receiver.arrivals)} of {n} deliveries arrived")
        # From the worker's ready ping, or from the first arrival if the worker started sending
        # before it answered the ping (a fast drain can be half done by then).
        worker_seconds = max(receiver.arrivals.values()) - min(started, *receiver.arrivals.values())
    finally:
        stop_worker(worker)
    worker_rate = n / worker_seconds
    slow = _receiver_marked_slow(hook.callback_url)
    latency = _attempt_latencies([row.pk for row in rows])

    # The anchor: one bare keep-alive httpx client posting the same signed bodies, one by one.
    receiver.reset()
    started = time.time()
    with httpx.Client(timeout=15) as client:
        for row in rows:
            client.post(
                hook.callback_url,
                content=row.body.encode(),
                headers=signed_headers(secrets=[hook.secret], msg_id=row.webhook_id, body=row.body),
            )
    bare_seconds = time.time() - started
    bare_rate = n / bare_seconds
    return {
        "deliveries": n,
        "worker_per_s": worker_rate,
        "bare_per_s": bare_rate,
        "ratio": worker_rate / bare_rate,
        "publish_s": published,
        "tasks": tasks,
        "drains": slots,
        "slow_after": slow,
        **latency,
    }


def _receiver_marked_slow(url: str) -> bool:
    """Whether the receiver is remembered as slow (then at most 2 sends in flight to it): a reading
    aid for the throughput figures."""
    from django.core.cache import cache

    from hooks.services import _origin, _slow_key

    return cache.get(_slow_key(_origin(url))) is not None


def _attempt_latencies(ids: list[int]) -> dict:
    """The POST latencies the worker recorded for these deliveries (p50, max, over 1 s)."""
    from hooks.models import DeliveryAttempt

    values = sorted(DeliveryAttempt.objects.filter(delivery_id__in=ids).values_list("latency_ms", flat=True))
    if not values:
        return {"attempts": 0, "latency_p50_ms": 0, "latency_max_ms": 0, "over_1s": 0}
    return {
        "attempts": len(values),
        "latency_p50_ms": statistics.median(values),
        "latency_max_ms": values[-1],
        "over_1s": sum(v > 1000 for v in values),
    }


def part_kill(env, camera, hook, receiver: Receiver, n: int, log: Path) -> dict:
    from django.utils import timezone

    from hooks.models import Delivery
    from hooks.services import deliveries_requeue_stuck

    worker = start_worker(env, "bench-kill-1", log)
    rows = queued_deliveries(camera, hook, n)
    receiver.reset()
    receiver.delay = 0.01
    publish(rows)
    receiver.wait(lambda: len(receiver.arrivals) >= n // 3, timeout=120)
    worker.kill()  # SIGKILL mid-drain: sends in flight, prefetched and queued tasks abandoned
    worker.wait(10)
    killed_at = time.time()
    at_kill = len(receiver.arrivals)
    sending = Delivery.objects.filter(hook=hook, state="sending")
    in_flight = sending.count()
    # Beat's sweep (every 5 min in production), run here once the dead sender's leases have run out
    # in real time (the claim checks the lease against the clock, so the sweep cannot be faked).
    last_lease = max(sending.values_list("lease_until", flat=True), default=None)
    if last_lease is not None:
        time.sleep(max(0.0, (last_lease - timezone.now()).total_seconds()) + 0.5)
    requeued = deliveries_requeue_stuck(grace_seconds=0)
    lease_wait = time.time() - killed_at
    worker = start_worker(env, "bench-kill-2", log)
    ids = {row.webhook_id for row in rows}
    ok = receiver.wait(lambda: ids <= receiver.arrivals.keys(), timeout=300)
    # Then every row recorded as succeeded (a send in flight at the kill is sent again).
    deadline = time.monotonic() + 120
    pks = [r.pk for r in rows]
    while time.monotonic() < deadline and Delivery.objects.filter(pk__in=pks, state="succeeded").count() < n:
        time.sleep(0.2)
    stop_worker(worker)
    receiver.delay = 0.0
    return {
        "deliveries": n,
        "received_before_kill": at_kill,
        "sending_at_kill": in_flight,
        "requeued": requeued,
        "lease_wait_s": lease_wait,
        "lost": len(ids - receiver.arrivals.keys()),
        "duplicates": receiver.count - len(ids & receiver.arrivals.keys()),
        "completed": ok,
        "succeeded_rows": Delivery.objects.filter(pk__in=[r.pk for r in rows], state="succeeded").count(),
    }


def part_fanout(user, camera, sizes: list[int], events: int) -> list[dict]:
    from hooks import services
    from hooks.models import Delivery, Hook
    from search.querylang import parse_query

    queries = ["front people approaching", "people", "mailbox not street", "front gate people approaching mailbox"]
    results = []
    for size in sizes:
        Hook.objects.filter(owner=user).delete()
        hooks = [
            Hook(owner=user, callback_url="http://192.0.2.1/unused", query=f"{queries[i % len(queries)]}")
            for i in range(size)
        ]
        Hook.objects.bulk_create(hooks)
        hooks = list(Hook.objects.filter(owner=user))
        evs = [make_event(camera, ["people", "approaching", "mailbox"]) for _ in range(events)]
        services._parsed.cache_clear()
        started = time.perf_counter()
        fired = 0
        for event in evs:
            # Deliveries written and their tasks published to Redis (no worker consumes them here).
            fired += len(services.hooks_fire_for_event(event=event))
        full_ms = (time.perf_counter() - started) * 1000 / events
        # Anchor: parsing and matching alone (what cannot be avoided), no database.
        started = time.perf_counter()
        for event in evs:
            for h in hooks:
                parse_query(h.query, cameras=("front", "gate"), zones=(), drop_dates=True).matches(
                    source="front", labels=event.labels
                )
        match_ms = (time.perf_counter() - started) * 1000 / events
        results.append(
            {
                "hooks": size,
                "fire_ms_per_event": full_ms,
                "fire_ms_per_hook": full_ms / size,
                "parse_match_ms_per_event": match_ms,
                "deliveries_per_event": fired / events,
            }
        )
        Delivery.objects.filter(hook__owner=user).delete()
    return results


def _attempts_line(part: dict) -> str:
    return (
        f"{part['attempts']} recorded, POST latency p50 {part['latency_p50_ms']:.0f} ms, "
        f"max {part['latency_max_ms']} ms, {part['over_1s']} over 1 s; receiver marked slow at the end: "
        f"{'yes (cap 2 in flight)' if part['slow_after'] else 'no'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100, help="events for the latency part")
    parser.add_argument("--uploads", type=int, default=100, help="uploads for the upload -> callback part")
    parser.add_argument("--deliveries", type=int, default=2000, help="deliveries for the throughput part")
    parser.add_argument("--kill-deliveries", type=int, default=600)
    parser.add_argument("--fanout-events", type=int, default=30)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="camhub-e-bench-"))
    env = harness.service_env(
        database=DATABASE,
        data_dir=data_dir,
        cache_url=BROKER_URL,
        extra_env={"CELERY_BROKER_URL": BROKER_URL, "HOOKS_ALLOW_PRIVATE_NETWORKS": "true", "LOG_LEVEL": "WARNING"},
    )
    harness.log(f"database {DATABASE}: recreate and migrate; Redis {BROKER_URL} flushed")
    harness.recreate_database(DATABASE)
    harness.flush_cache(BROKER_URL)
    harness.manage(env, "migrate", "--noinput")
    os.environ.update(env)
    import django

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.contrib.auth import get_user_model

    from accounts.services import account_settings_update
    from cameras.models import Camera
    from hooks.models import Hook

    user = get_user_model().objects.create_user("bench", email="bench@example.com")
    # Events here have important motion: no motion alerts, so the worker does hooks alone.
    account_settings_update(user=user, data={"notifications": {"motion_alerts": {"state": "OFF"}}})
    camera = Camera.objects.create(owner=user, name="front")
    Camera.objects.create(owner=user, name="gate")
    receiver = Receiver()
    hook = Hook.objects.create(owner=user, callback_url=receiver.url(), query="front gate people approaching mailbox")
    log = data_dir / "worker.log"

    harness.log(f"worker: threads x {CONCURRENCY}, log {log}")
    worker = start_worker(env, "bench-1", log)
    try:
        # Warm-up: imports, connections, the keep-alive pool.
        part_latency(camera, receiver, 5)
        harness.log(f"latency: {args.events} events, one at a time")
        latency = part_latency(camera, receiver, args.events)
        # From the upload on: ingest endpoint under gunicorn, analysis and hooks on the worker.
        from accounts.selectors import account_settings_get

        hook.query = "front"  # every event of camera front
        hook.save()
        frames = upload_frames(args.uploads + 3)
        server = harness.start_gunicorn(env, workers=1, threads=2, log=data_dir / "gunicorn.log")
        try:
            token = account_settings_get(user=user).upload_token
            upload_quiet_frame(server.base_url, token, days_ago=61)
            part_upload(server.base_url, token, receiver, frames[:3], days_ago=60)  # warm-up
            harness.log(f"upload -> callback: {args.uploads} uploads, one at a time")
            upload = part_upload(server.base_url, token, receiver, frames[3:], days_ago=30)
        finally:
            server.stop()
    finally:
        stop_worker(worker)
    hook.query = "people"
    hook.save()
    harness.log(f"throughput: {args.deliveries} deliveries queued, a fresh worker drains them; bare httpx loop")
    throughput = part_throughput(env, camera, hook, receiver, args.deliveries, log)
    harness.log(f"throughput, one delivery per hook: {args.deliveries // 2} hooks; bare httpx loop")
    spread = part_throughput(
        env,
        camera,
        hook,
        receiver,
        args.deliveries // 2,
        log,
        rows=spread_deliveries(user, camera, receiver, args.deliveries // 2),
    )
    # The same two with one drain slot per receiver: one task and one connection at a time, as the
    # bare loop (the default lets a few tasks drain a receiver in parallel).
    one_env = one_drain_env(env, data_dir)
    harness.log("throughput, both again with one drain slot per receiver")
    throughput_one = part_throughput(
        env=one_env, camera=camera, hook=hook, receiver=receiver, n=args.deliveries, log=log, drains=1
    )
    spread_one = part_throughput(
        env=one_env,
        camera=camera,
        hook=hook,
        receiver=receiver,
        n=args.deliveries // 2,
        log=log,
        rows=spread_deliveries(user, camera, receiver, args.deliveries // 2, tag="one"),
        drains=1,
    )
    harness.log(f"kill: {args.kill_deliveries} deliveries, SIGKILL at a third, sweep, second worker")
    kill = part_kill(env, camera, hook, receiver, args.kill_deliveries, log)
    harness.flush_cache(BROKER_URL)
    harness.log("fan-out: N hooks per event, no worker")
    fanout = part_fanout(user, camera, [1, 10, 100], args.fanout_events)
    harness.flush_cache(BROKER_URL)
    receiver.close()

    m = harness.machine()
    print(f"\nmachine: nproc={m['nproc']} cpu={m['cpu']} python={m['python']}")
    print(
        f"\nlatency (event handed to hooks -> callback at receiver), {latency['events']} events: "
        f"p50 {latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms, max {latency['max_ms']:.1f} ms "
        f"(goal p99 < {P99_GOAL_MS:.0f} ms: {'met' if latency['p99_ms'] < P99_GOAL_MS else 'NOT met'})"
    )
    print(
        f"upload accepted (201) -> callback at receiver, {upload['uploads']} uploads one at a time (ingest, "
        f"analysis, firing, delivery): p50 {upload['p50_ms']:.1f} ms, p99 {upload['p99_ms']:.1f} ms, "
        f"max {upload['max_ms']:.1f} ms (goal p99 < {P99_GOAL_MS:.0f} ms: "
        f"{'met' if upload['p99_ms'] < P99_GOAL_MS else 'NOT met'}); from the upload request's start: "
        f"p50 {upload['with_upload_p50_ms']:.1f} ms, p99 {upload['with_upload_p99_ms']:.1f} ms "
        f"(the PUT itself p50 {upload['upload_p50_ms']:.1f} ms)"
    )
    print(
        f"throughput, {throughput['deliveries']} deliveries: worker {throughput['worker_per_s']:.0f}/s "
        f"vs bare httpx loop {throughput['bare_per_s']:.0f}/s (anchor): ratio {throughput['ratio']:.2f} "
        f"(goal >= {RATIO_GOAL}: {'met' if throughput['ratio'] >= RATIO_GOAL else 'NOT met'}); "
        f"publishing beforehand took {throughput['publish_s']:.2f} s and queued {throughput['tasks']} task(s) "
        f"({throughput['drains']} drain slots per receiver)"
    )
    print(f"  (worker's attempts: {_attempts_line(throughput)})")
    print(
        f"throughput, {spread['deliveries']} deliveries of {spread['deliveries']} hooks (one each, one receiver): "
        f"worker {spread['worker_per_s']:.0f}/s vs bare httpx loop {spread['bare_per_s']:.0f}/s: "
        f"ratio {spread['ratio']:.2f} (goal >= {RATIO_GOAL}: {'met' if spread['ratio'] >= RATIO_GOAL else 'NOT met'}); "
        f"{spread['tasks']} tasks queued ({spread['drains']} drain slots per receiver)"
    )
    print(f"  (worker's attempts: {_attempts_line(spread)})")
    for name, part in (("one hook", throughput_one), ("one delivery per hook", spread_one)):
        print(
            f"throughput, {name}, {part['deliveries']} deliveries, one drain slot per receiver: "
            f"worker {part['worker_per_s']:.0f}/s vs bare httpx loop {part['bare_per_s']:.0f}/s: "
            f"ratio {part['ratio']:.2f} (goal >= {RATIO_GOAL}: {'met' if part['ratio'] >= RATIO_GOAL else 'NOT met'}); "
            f"{part['tasks']} task(s) queued"
        )
        print(f"  (worker's attempts: {_attempts_line(part)})")
    print(
        f"kill test, {kill['deliveries']} deliveries: received before SIGKILL {kill['received_before_kill']}, "
        f"sending at kill {kill['sending_at_kill']}, re-queued by the sweep {kill['requeued']} "
        f"(run {kill['lease_wait_s']:.0f} s after the kill, when the leases ran out), "
        f"lost {kill['lost']} (goal 0), duplicates {kill['duplicates']}, rows succeeded {kill['succeeded_rows']}"
    )
    print("fan-out (PostgreSQL; deliveries written, tasks published to Redis, no worker):")
    print("  hooks  fire ms/event  fire ms/hook  parse+match ms/event (anchor)  deliveries/event")
    for row in fanout:
        print(
            f"  {row['hooks']:>5}  {row['fire_ms_per_event']:>13.2f}  {row['fire_ms_per_hook']:>12.3f}  "
            f"{row['parse_match_ms_per_event']:>29.2f}  {row['deliveries_per_event']:>16.0f}"
        )


if __name__ == "__main__":
    main()
