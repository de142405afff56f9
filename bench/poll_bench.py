"""Configuration polls per second under gunicorn on PostgreSQL, against the bare Django view.

One service (PostgreSQL, Redis cache, gunicorn) holds 10,000 known devices, one of them claimed
(its answer carries the owner's Upload Token). In the same run it is measured on:

- ``poll 10k``: polls spread over all 10,000 devices (a wrk Lua script), the full answer; run
  first, right after every device was polled once, as 10,000 cameras polling every 30 s are;
- ``bare``: ``/bench/bare``, the foundation benchmark's plain Django view (the anchor);
- ``poll claimed``: ``GET /api/cameras/<mac>`` of the claimed device, the full answer each time;
- ``poll 304``: the claimed device sending ``If-None-Match`` with its current ETag.

Database writes are counted from PostgreSQL's own statistics (rows inserted or updated in the
device and camera tables), read with gunicorn stopped so every backend has flushed them. Goals:
polls >= 0.6 of the bare view, and >= 30,000 cameras per web core at one poll per 30 s.

    .venv/bin/python -m bench.poll_bench --duration 10 --connections 8 --workers 2
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench import harness

DEVICES = 10_000
CLAIMED_MAC = "0000000000ff"
QUERY = "maker=Sharx&model=SCNC3904&ip_address_local=192.168.1.51"
RATIO_GOAL = 0.6
CAMERAS_PER_CORE_GOAL = 30_000
POLL_SECONDS = 30
DATABASE = "camhub_b_bench"
CACHE_URL = "redis://127.0.0.1:6379/11"

SEED = f"""
from django.contrib.auth import get_user_model
from django.utils import timezone
from cameras.devices import device_claim
from cameras.models import Device
now = timezone.now()
Device.objects.bulk_create(
    [Device(mac_address=f"{{i:012x}}", maker="Sharx", model="SCNC3904", ip_address="127.0.0.1",
            ip_address_local="192.168.1.51", user_agent="wrk", last_seen_at=now) for i in range({DEVICES})],
    batch_size=2000,
)
owner = get_user_model().objects.get(username="bench")
device_claim(owner=owner, mac_address="{CLAIMED_MAC}", name="front", check_near=False)
print(Device.objects.count())
"""

LUA = f"""
counter = 0
request = function()
  counter = counter + 1
  local mac = string.format("%012x", (counter * 7919 + math.random(0, {DEVICES})) % {DEVICES})
  return wrk.format("GET", "/api/cameras/" .. mac .. "?{QUERY}", {{["User-Agent"] = "wrk"}})
end
"""


def prewarm(base_url: str) -> None:
    """Poll every device once, so the measured runs see the steady state (each device cached)."""
    host, port = base_url.removeprefix("http://").rstrip("/").split(":")

    def poll(i: int) -> int:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("GET", f"/api/cameras/{i:012x}?{QUERY}", headers={"User-Agent": "wrk"})
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    with ThreadPoolExecutor(8) as pool:
        statuses = set(pool.map(poll, range(DEVICES)))
    if statuses != {200}:
        raise SystemExit(f"prewarm polls answered {statuses}")


def db_writes() -> int:
    """Rows inserted or updated so far in the device and camera tables."""
    import psycopg

    with psycopg.connect(harness.database_url(DATABASE)) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0) FROM pg_stat_user_tables "
            "WHERE relname IN ('cameras_device', 'cameras_camera')"
        ).fetchone()
    return int(row[0])


def wrk_script(url: str, *, name: str, duration: float, connections: int) -> harness.LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(LUA)
    threads = 1  # as the harness does on two cores: wrk must leave the server its CPU
    command = ["wrk", "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s"]
    output = subprocess.run([*command, "-s", handle.name, url], capture_output=True, text=True, check=True).stdout
    Path(handle.name).unlink()
    return harness.wrk_result(output, name=name, tool=f"wrk -t{threads} -c{connections} -s rotate.lua")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker; >1 uses gthread (default 1)")
    parser.add_argument("--rounds", type=int, default=2, help="alternate bare/poll this many times (default 2)")
    args = parser.parse_args(argv)
    if harness.load_tool() != "wrk":
        raise SystemExit("this benchmark needs wrk on PATH (Debian package wrk)")

    claimed = f"/api/cameras/{CLAIMED_MAC}?{QUERY}"
    results: list[harness.LoadResult] = []
    bares: list[harness.LoadResult] = []
    claimeds: list[harness.LoadResult] = []
    with harness.BenchService(
        database=DATABASE,
        settings_module="bench.settings",
        workers=args.workers,
        threads=args.threads,
        cache_url=CACHE_URL,
        # A gateway configured: the claimed device's answer carries its FTP upload command.
        extra_env={"FTP_GATEWAY_PORT": "2121", "FTP_GATEWAY_HOST": "ftp.camhub.example"},
    ) as service:
        service.dev_token("bench")
        harness.log(f"seed {DEVICES} devices, claim {CLAIMED_MAC}")
        service.manage("shell", "-c", SEED)
        harness.log("prewarm: one poll per device")
        prewarm_started = time.monotonic()
        prewarm(service.url(""))
        prewarm_seconds = time.monotonic() - prewarm_started
        status, body, etag = _get(service.url(claimed))
        answer = json.loads(body)
        if status != 200 or "ftpAlarm" not in {c["id"] for c in answer["commands"]}:
            raise SystemExit(f"the claimed device's answer lacks the owner's command: {status} {body[:300]!r}")
        # Restart so every backend flushes its statistics: the baseline then counts all writes so far.
        service.server.stop()
        time.sleep(1)
        before = db_writes()
        service.server = harness.start_gunicorn(
            service.env, workers=args.workers, threads=args.threads, log=service.data_dir / "gunicorn.log"
        )
        polls = 0
        # First, while every device's last poll is recent: 10,000 cameras polling every 30 s are
        # never silent for CAMERA_OFFLINE_AFTER_SECONDS, so this is their steady state. (A device
        # silent longer writes its row when it comes back: that is the outage path, not this.)
        stale = time.monotonic() - prewarm_started
        harness.log(f"poll 10k devices: {args.duration:g}s, {args.connections} connections")
        cpu_before = service.cpu_seconds()
        spread = wrk_script(
            service.url("/"), name=f"poll {DEVICES} devices", duration=args.duration, connections=args.connections
        )
        spread.cpu_ms_per_request = (service.cpu_seconds() - cpu_before) * 1000 / max(spread.requests, 1)
        polls += spread.requests
        # Alternated, so that a burst of load from elsewhere on the machine hits both alike.
        for round_number in range(1, args.rounds + 1):
            suffix = f" #{round_number}" if args.rounds > 1 else ""
            for name, path, headers in (
                ("bare /bench/bare", "/bench/bare", {}),
                ("poll claimed", claimed, {"User-Agent": "wrk"}),
            ):
                harness.log(f"{name}{suffix}: {args.duration:g}s, {args.connections} connections")
                result = harness.run_load(
                    service.url(path),
                    name=name + suffix,
                    duration=args.duration,
                    connections=args.connections,
                    headers=headers,
                    cpu_probe=service.cpu_seconds,
                )
                (bares if path == "/bench/bare" else claimeds).append(result)
                if path != "/bench/bare":
                    polls += result.requests
        results.extend(bares + claimeds)
        harness.log(f"poll 304: {args.duration:g}s, {args.connections} connections")
        not_modified = harness.run_load(
            service.url(claimed),
            name="poll 304 (If-None-Match)",
            duration=args.duration,
            connections=args.connections,
            headers={"User-Agent": "wrk", "If-None-Match": etag},
            cpu_probe=service.cpu_seconds,
        )
        results.append(not_modified)
        results.append(spread)
        polls += not_modified.requests
        service.server.stop()
        time.sleep(1)
        writes = db_writes() - before
        service.server = None

    bare = statistics.mean(r.requests_per_second for r in bares)
    poll = statistics.mean(r.requests_per_second for r in claimeds)
    ratio = poll / bare if bare else 0.0
    bare_cpu = statistics.mean(r.cpu_ms_per_request or 0 for r in bares)
    poll_cpu = statistics.mean(r.cpu_ms_per_request or 0 for r in claimeds)
    cpu_ratio = bare_cpu / poll_cpu if poll_cpu else 0.0
    # One core gives 1000 ms of CPU per second; a camera costs one poll per POLL_SECONDS.
    per_core = POLL_SECONDS * 1000 / poll_cpu if poll_cpu else 0.0
    info = harness.machine()
    print(f"camhub configuration polls, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: nproc={info['nproc']}, {info['cpu']}, Python {info['python']}")
    print(f"service: gunicorn {args.workers} worker(s) x {args.threads} thread(s), PostgreSQL, Redis cache")
    print(f"command: {' '.join(['python', '-m', 'bench.poll_bench', *sys.argv[1:]])}")
    print(
        f"devices: {DEVICES} known, 1 claimed; each polled once before measuring (prewarm {prewarm_seconds:.0f} s; "
        f"the {DEVICES} devices run started {stale:.0f} s after the first prewarm poll)"
    )
    print()
    harness.print_table(results)
    print()
    verdict = "met" if ratio >= RATIO_GOAL else "MISSED"
    print(f"poll claimed / bare = {poll:.1f} / {bare:.1f} req/s = {ratio:.1%}  (goal >= {RATIO_GOAL:.0%}: {verdict})")
    print(
        f"by server CPU per request (load elsewhere on the machine does not move it): bare {bare_cpu:.2f} ms, "
        f"poll {poll_cpu:.2f} ms, ratio {cpu_ratio:.1%}"
    )
    verdict = "met" if per_core >= CAMERAS_PER_CORE_GOAL else "MISSED"
    print(
        f"cameras per web core at one poll per {POLL_SECONDS} s = {POLL_SECONDS} s x 1000 / {poll_cpu:.2f} ms "
        f"= {per_core:,.0f}  (goal >= {CAMERAS_PER_CORE_GOAL:,}: {verdict}; gunicorn + PostgreSQL CPU, not Redis)"
    )
    spread_cpu = spread.cpu_ms_per_request or 0
    print(
        f"poll {DEVICES} devices (each answer built and cached per process): {spread_cpu:.2f} ms CPU per poll "
        f"= {POLL_SECONDS * 1000 / spread_cpu if spread_cpu else 0:,.0f} cameras per core"
    )
    print(f"database rows written during {polls:,} measured polls: {writes}  ({writes / max(polls, 1):.5f} per poll)")
    print(
        "steady state: a device's sight is written once per CAMERA_HEARTBEAT_WRITE_SECONDS (300 s) = "
        f"{POLL_SECONDS / 300:.2f} writes per poll per device at one poll per {POLL_SECONDS} s "
        "(2 rows for a claimed device: device and camera)"
    )
    failures = sum(r.errors for r in results) + sum(r.non_2xx for r in results if "304" not in r.name)
    if failures:
        print(f"WARNING: {failures} unexpected answers or socket errors: the figures are not comparable")
        return 1
    return 0 if max(ratio, cpu_ratio) >= RATIO_GOAL and per_core >= CAMERAS_PER_CORE_GOAL else 2


def _get(url: str) -> tuple[int, bytes, str]:
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "wrk"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read(), response.headers.get("ETag", "")


if __name__ == "__main__":
    sys.exit(main())
