"""Uploads per second of a 100 KB JPEG under gunicorn on PostgreSQL, against anchors in the same run.

One service (PostgreSQL, Redis cache and broker, gunicorn gthread) is measured on:

- ``bare discard``: ``PUT /bench/discard``, a plain Django view (full middleware, no DRF) that reads
  the same body in chunks and throws it away: the anchor for what HTTP and Django alone cost;
- ``ingest local``: ``PUT /api/users/<upload token>/cameras/front/content/<unique>.jpg``, the
  real endpoint (body spooled in memory, SHA-1/SHA-256, JPEG decoded, stored, row committed, analysis
  enqueued on Redis; no worker runs, so analysis takes no CPU from ingest here);
- with ``--s3``: ``ingest s3`` into moto's S3 server on loopback (the settings as shipped), against
  ``raw s3 put``: boto3 ``put_object`` of the same bytes to the same server from as many threads
  (the issue's anchor). The two alternate ``--rounds`` times (anchor, ingest, anchor, ingest, …)
  so that load from elsewhere on the machine falls on both alike; the ratio is of their mean rates.
  Each row also says how busy the whole machine was and, for S3, the CPU moto spent per request;
- with ``--memory``: the peak RSS of the web worker after uploading a 10 MB and then a 1 GB MP4
  (curl -T from a file), which must not grow with the file size.

Every upload has its own name, so none is answered as a retry. Run:

    .venv/bin/python -m bench.ingest_bench --duration 5 --connections 8 --s3 --rounds 3 --memory

The module is also the WSGI entry point of the benchmarked gunicorn
(``bench.ingest_bench:application``): the project's URLs plus ``/bench/discard``.
"""

from __future__ import annotations

import argparse
import io
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

BODY_BYTES = 100 * 1024
DATABASE = "camhub_c_bench"
CACHE_URL = "redis://127.0.0.1:6379/12"
BROKER_URL = "redis://127.0.0.1:6379/12"
RATIO_GOAL_S3 = 0.5
MODULE = "bench.ingest_bench"  # not __name__: run with -m, this file is __main__

# --- the benchmarked WSGI application ------------------------------------------------------------
_application = None
_application_lock = threading.Lock()


def application(environ, start_response):
    """config.wsgi's application with this module as the URL conf (adds ``/bench/discard``)."""
    global _application
    if _application is None:
        with _application_lock:
            if _application is None:
                from django.conf import settings
                from django.core.wsgi import get_wsgi_application

                settings.ROOT_URLCONF = MODULE
                _application = get_wsgi_application()
    return _application(environ, start_response)


def discard(request):
    """The anchor: read the body as the upload view does (256 KB chunks), keep nothing."""
    from django.http import JsonResponse

    size = 0
    while chunk := request.read(256 * 1024):
        size += len(chunk)
    return JsonResponse({"size": size}, status=201)


discard.csrf_exempt = True  # type: ignore[attr-defined]


def __getattr__(name: str):
    # Django reads the URL conf lazily, once Django is set up in the worker.
    if name == "urlpatterns":
        from django.urls import path

        from config import urls

        return [path("bench/discard", discard), *urls.urlpatterns]
    if name == "handler500":
        from config import urls

        return urls.handler500
    raise AttributeError(name)


# --- the benchmark -------------------------------------------------------------------------------
LUA = """
local f = assert(io.open("{body}", "rb"))
local body = f:read("*all")
f:close()
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
request = function()
  counter = counter + 1
  local path = "{path}"
  if {unique} then
    path = path .. "/snap-{run}-" .. tid .. "-" .. counter .. ".jpg?camera_id=bench"
  end
  return wrk.format("PUT", path, {{["Content-Type"] = "image/jpeg"}}, body)
end
"""


def jpeg_100k(path: Path) -> bytes:
    """A real 100 KB JPEG (noise, so it does not compress away), padded after its end marker."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(out, "JPEG", quality=90)
    data = out.getvalue()
    if len(data) > BODY_BYTES:
        raise RuntimeError(f"the sample JPEG is {len(data)} bytes, over {BODY_BYTES}")
    data += b"\0" * (BODY_BYTES - len(data))
    path.write_bytes(data)
    return data


def wrk_put(
    base_url: str,
    path: str,
    body: Path,
    *,
    name: str,
    duration: float,
    connections: int,
    unique: bool,
    cpu_probe=None,
):
    from bench import harness

    cpu_before = cpu_probe() if cpu_probe else 0.0

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        # A tag per run: the warm-up's names must not come back as retries in the measured run.
        run = f"{time.time_ns():x}"
        handle.write(LUA.format(body=body, path=path, unique="true" if unique else "false", run=run))
    command = ["wrk", "--latency", "-t", "1", "-c", str(connections), "-d", f"{max(1, round(duration))}s"]
    try:
        output = subprocess.run(
            [*command, "-s", handle.name, base_url + path], capture_output=True, text=True, check=True
        ).stdout
    finally:
        Path(handle.name).unlink()
    return harness.wrk_result(
        output,
        name=name,
        tool=f"wrk -t1 -c{connections} PUT 100 KB",
        cpu_seconds_before=cpu_before,
        cpu_probe=cpu_probe,
    )


def raw_s3_puts(endpoint: str, bucket: str, body: bytes, *, duration: float, threads: int, name: str = "raw s3 put"):
    """The S3 anchor: boto3 put_object of the same bytes from ``threads`` threads, unique keys."""
    import boto3
    from botocore.config import Config

    from bench import harness

    # One client, made before the clock starts (boto3 clients are thread-safe), with a pool as large
    # as the thread count.
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        region_name="us-east-1",
        config=Config(max_pool_connections=threads),
    )
    client.head_bucket(Bucket=bucket)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    stop_at = time.monotonic() + duration

    def run(index: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            started = time.perf_counter()
            try:
                client.put_object(Bucket=bucket, Key=f"raw/{index}/{n}.jpg", Body=body, ContentType="image/jpeg")
            except Exception:
                errors[index] += 1
                continue
            latencies[index].append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    merged = sorted(v for values in latencies for v in values)
    return harness.LoadResult(
        name=name,
        requests=len(merged),
        seconds=elapsed,
        requests_per_second=len(merged) / elapsed,
        p50_ms=harness._percentile(merged, 0.5),
        p99_ms=harness._percentile(merged, 0.99),
        non_2xx=0,
        errors=sum(errors),
        tool=f"boto3 threads x{threads}",
    )


def _cpu_ticks() -> tuple[int, int]:
    """(all, idle) CPU ticks of the machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


class Watch:
    """Around one measured run: how busy the whole machine was, and the CPU of moto's S3 server."""

    def __init__(self, moto_pid: int | None = None):
        self.moto_pid = moto_pid

    def __enter__(self) -> Watch:
        from bench import harness

        self.ticks = _cpu_ticks()
        self.moto = harness.process_cpu_seconds(self.moto_pid) if self.moto_pid else 0.0
        self.own = time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        from bench import harness

        total, idle = _cpu_ticks()
        spent = total - self.ticks[0]
        self.busy = 1 - (idle - self.ticks[1]) / spent if spent else 0.0
        self.moto_s = (harness.process_cpu_seconds(self.moto_pid) - self.moto) if self.moto_pid else 0.0
        self.own_s = time.process_time() - self.own

    def note(self, result, *, own: bool = False) -> None:
        """Record the figures on ``result`` (``own``: this process's CPU is the load's, the raw anchor)."""
        result.extra["machine busy"] = f"{100 * self.busy:.0f}%"
        if self.moto_pid and result.requests:
            result.extra["moto cpu ms/req"] = f"{1000 * self.moto_s / result.requests:.2f}"
        if own and result.requests:
            result.extra["client cpu ms/req"] = f"{1000 * self.own_s / result.requests:.2f}"


def seed_upload_token(service) -> str:
    code = (
        "from django.contrib.auth import get_user_model; from accounts.selectors import account_settings_get; "
        "u, _ = get_user_model().objects.get_or_create(username='bench'); "
        "print(account_settings_get(user=u).upload_token)"
    )
    return service.manage("shell", "-c", code).strip().splitlines()[-1].strip()


def content_count(service) -> int:
    code = "from uploads.models import Content; print(Content.objects.count())"
    return int(service.manage("shell", "-c", code).strip().splitlines()[-1])


def restart(service, *, workers: int, threads: int, extra_env: dict[str, str] | None = None) -> None:
    from bench import harness

    if service.server is not None:
        service.server.stop()
    env = dict(service.env, **(extra_env or {}))
    service.server = harness.start_gunicorn(
        env, workers=workers, threads=threads, log=service.data_dir / "gunicorn.log", wsgi=f"{MODULE}:application"
    )


def _peak_rss_mb(pids: list[int]) -> float:
    peak = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak / 1024


def big_mp4(path: Path, size: int) -> None:
    """A real MP4 clip followed by a ``free`` box that pads the file to ``size`` bytes."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as video:
        stream = video.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), i * 10, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                video.mux(packet)
        for packet in stream.encode():
            video.mux(packet)
    clip = out.getvalue()
    pad = size - len(clip)
    with path.open("wb") as f:
        f.write(clip)
        f.write(pad.to_bytes(4, "big") + b"free")
        block = b"\0" * (8 * 1024 * 1024)
        remaining = pad - 8
        while remaining > 0:
            f.write(block[: min(len(block), remaining)])
            remaining -= len(block)


def memory_run(service, token: str, workdir: Path) -> list[tuple[str, float, float]]:
    """Peak RSS of the web workers before and after a 10 MB and a 1 GB video upload."""
    from bench import harness

    rows = []
    master = service.server.process.pid
    for label, size in (("10 MB video", 10 * 1024 * 1024), ("1 GB video", 1024 * 1024 * 1024)):
        path = workdir / f"{label.replace(' ', '_')}.mp4"
        big_mp4(path, size)
        before = _peak_rss_mb(harness.child_pids(master))
        url = service.url(f"/api/users/{token}/cameras/front/content/{path.name}?camera_id=bench&upload_mode=video")
        started = time.monotonic()
        result = subprocess.run(
            [
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-H",
                "Content-Type: video/mp4",
                "-T",
                str(path),
                url,
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        seconds = time.monotonic() - started
        after = _peak_rss_mb(harness.child_pids(master))
        harness.log(f"{label}: HTTP {result.stdout} in {seconds:.1f}s; worker peak RSS {before:.0f} -> {after:.0f} MB")
        if result.stdout.strip() != "201":
            raise RuntimeError(f"{label} upload answered {result.stdout} {result.stderr}")
        rows.append((label, before, after))
        path.unlink()
    return rows


def main(argv: list[str] | None = None) -> int:
    from bench import harness

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--s3", action="store_true", help="also ingest into moto's S3 server, against raw boto3 PUTs")
    parser.add_argument("--rounds", type=int, default=2, help="with --s3: anchor/ingest pairs, alternated")
    parser.add_argument("--memory", action="store_true", help="also measure peak RSS for 10 MB and 1 GB videos")
    args = parser.parse_args(argv)
    if harness.load_tool() != "wrk":
        raise SystemExit("this benchmark needs wrk on PATH (Debian package wrk)")

    workdir = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    body_path = workdir / "body.jpg"
    body = jpeg_100k(body_path)
    results = []
    memory_rows: list[tuple[str, float, float]] = []
    counts: dict[str, int] = {}
    raw_rounds: list = []
    ingest_rounds: list = []
    extra = {"API_RATE_LIMIT": "1000000000/minute", "CELERY_BROKER_URL": BROKER_URL}
    with harness.BenchService(
        database=DATABASE, workers=args.workers, threads=args.threads, extra_env=extra, cache_url=CACHE_URL
    ) as service:
        token = seed_upload_token(service)
        restart(service, workers=args.workers, threads=args.threads)
        base = service.server.base_url
        upload_path = f"/api/users/{token}/cameras/front/content"
        runs = [
            ("bare discard (anchor)", "/bench/discard", False),
            ("ingest local", upload_path, True),
        ]
        for name, path, unique in runs:
            harness.log(f"{name}: warm-up, then {args.duration:g}s with {args.connections} connections")
            wrk_put(base, path, body_path, name="warmup", duration=2, connections=args.connections, unique=unique)
            before = content_count(service)
            with Watch() as watch:
                result = wrk_put(
                    base,
                    path,
                    body_path,
                    name=name,
                    duration=args.duration,
                    connections=args.connections,
                    unique=unique,
                    cpu_probe=service.cpu_seconds,
                )
            watch.note(result)
            results.append(result)
            counts[name] = content_count(service) - before

        if args.s3:
            import boto3

            port = harness.free_port()
            # Its own process: the S3 server must not share this process's GIL with the anchor's clients.
            moto = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            endpoint = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        with socket.create_connection(("127.0.0.1", port), timeout=1):
                            break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise RuntimeError("moto's S3 server did not start") from None
                        time.sleep(0.2)
                boto3.client(
                    "s3",
                    endpoint_url=endpoint,
                    aws_access_key_id="bench",
                    aws_secret_access_key="bench",
                    region_name="us-east-1",
                ).create_bucket(Bucket="bench")
                s3_env = {
                    "AWS_STORAGE_BUCKET_NAME": "bench",
                    "AWS_S3_ENDPOINT_URL": endpoint,
                    "AWS_ACCESS_KEY_ID": "bench",
                    "AWS_SECRET_ACCESS_KEY": "bench",
                    "AWS_S3_REGION_NAME": "us-east-1",
                }
                restart(service, workers=args.workers, threads=args.threads, extra_env=s3_env)
                harness.log("raw s3 put and ingest s3: warm-up")
                raw_s3_puts(endpoint, "bench", body, duration=2, threads=args.connections)
                # Long enough for every gunicorn thread to make its own boto3 client.
                wrk_put(
                    service.server.base_url,
                    upload_path,
                    body_path,
                    name="warmup",
                    duration=5,
                    connections=args.connections,
                    unique=True,
                )
                for round_ in range(1, args.rounds + 1):
                    harness.log(f"round {round_}/{args.rounds}: raw s3 put, then ingest s3")
                    with Watch(moto.pid) as watch:
                        result = raw_s3_puts(
                            endpoint,
                            "bench",
                            body,
                            duration=args.duration,
                            threads=args.connections,
                            name=f"raw s3 put (anchor) {round_}",
                        )
                    watch.note(result, own=True)
                    results.append(result)
                    raw_rounds.append(result)
                    name = f"ingest s3 {round_}"
                    before = content_count(service)
                    with Watch(moto.pid) as watch:
                        result = wrk_put(
                            service.server.base_url,
                            upload_path,
                            body_path,
                            name=name,
                            duration=args.duration,
                            connections=args.connections,
                            unique=True,
                            cpu_probe=service.cpu_seconds,
                        )
                    watch.note(result)
                    results.append(result)
                    ingest_rounds.append(result)
                    counts[name] = content_count(service) - before
            finally:
                moto.terminate()
                moto.wait(10)
            restart(service, workers=args.workers, threads=args.threads)

        if args.memory:
            memory_rows = memory_run(service, token, workdir)

    info = harness.machine()
    print(f"# ingest benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"# machine: nproc={info['nproc']} cpu={info['cpu']} python={info['python']}; "
        f"gunicorn gthread {args.workers}x{args.threads}; PostgreSQL; Redis cache and broker; body {BODY_BYTES} B"
    )
    harness.print_table(results)
    for r in results:
        if r.extra:
            print(f"{r.name}: " + ", ".join(f"{k} {v}" for k, v in r.extra.items()))
    by_name = {r.name: r for r in results}
    bare, local = by_name["bare discard (anchor)"], by_name["ingest local"]
    print(f"ingest local / bare discard = {local.requests_per_second / bare.requests_per_second:.2f}")
    for name, stored in counts.items():
        print(f"{name}: {stored} rows stored during the measured run")
    if raw_rounds:
        # Every round measures both for the same duration: the ratio of the mean rates.
        ratio = sum(r.requests_per_second for r in ingest_rounds) / sum(r.requests_per_second for r in raw_rounds)
        each = ", ".join(
            f"{i.requests_per_second / r.requests_per_second:.2f}"
            for r, i in zip(raw_rounds, ingest_rounds, strict=True)
        )
        verdict = "meets" if ratio >= RATIO_GOAL_S3 else "misses"
        print(f"ingest s3 / raw s3 put = {ratio:.2f} (rounds: {each}; {verdict} the goal of >= {RATIO_GOAL_S3})")
    for label, before, after in memory_rows:
        print(f"{label}: web worker peak RSS {before:.0f} MB before, {after:.0f} MB after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
