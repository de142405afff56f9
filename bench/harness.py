"""Shared machinery for camhub benchmarks: a fresh PostgreSQL database, the service under gunicorn
on a loopback port, a user with a developer token, and a load generator.

Typical use::

    from bench import harness

    with harness.BenchService(settings_module="bench.settings", workers=2,
                              extra_env={"API_RATE_LIMIT": "1000000000/minute"}) as service:
        token = service.dev_token("bench")
        result = harness.run_load(service.url("/api/users/me/cameras"), name="api",
                                  headers={"Authorization": f"token {token}"}, duration=10)
        harness.print_table([result])

The load generator is ``wrk`` (Debian package ``wrk``) when it is on PATH, otherwise a Python one
(threads, each with one keep-alive ``http.client`` connection). Both report requests/s, latency
p50/p99 and the count of non-2xx answers.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
DEFAULT_DATABASE = "camhub_bench"
# Redis database 7 is the benchmarks' own cache (throttle counters): flushed at each start.
DEFAULT_CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/7")


# --- PostgreSQL ----------------------------------------------------------------------------------
def database_url(name: str = DEFAULT_DATABASE) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def recreate_database(name: str = DEFAULT_DATABASE) -> str:
    """Drop and create the database ``name``; returns its DATABASE_URL."""
    import psycopg
    from psycopg import sql

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a plain database name: {name!r}")
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True) as conn:
        # FORCE: a gunicorn left over from an interrupted run must not block the drop.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(name)


def flush_cache(url: str = DEFAULT_CACHE_URL) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# --- the service ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(
    *,
    database: str,
    settings_module: str = "config.settings",
    data_dir: Path,
    cache_url: str = DEFAULT_CACHE_URL,
    extra_env: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of every process of a benchmarked service (production-like: DEBUG off)."""
    env = dict(os.environ)
    # The caller's own test settings (their Redis db, their DATABASE_URL) must not leak in.
    for name in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "DEBUG", "API_RATE_LIMIT"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")])),
        CAMHUB_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url(database),
        CACHE_URL=cache_url,
        SECRET_KEY="bench-only-" + "k" * 50,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    env.update(extra_env or {})
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    """Run ``manage.py`` with ``env``; returns its stdout (raises with stderr on failure)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def wait_http(url: str, *, timeout: float = 60, process: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {process.returncode} before {url} answered:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if 200 <= response.status < 300:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last_error}")


@dataclass
class Gunicorn:
    """A running gunicorn master (its own process group) serving on 127.0.0.1:port."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU used so far by the master and its live workers."""
        return sum(process_cpu_seconds(pid) for pid in [self.process.pid, *child_pids(self.process.pid)])

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is not None:
            return
        # SIGTERM to the master: graceful shutdown of its workers; the group kill is the fallback.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(child) for child in task.read_text().split()]
        except OSError:
            pass
    return children


def start_gunicorn(
    env: dict[str, str], *, workers: int = 2, threads: int = 1, log: Path, wsgi: str = "config.wsgi:application"
) -> Gunicorn:
    """Start gunicorn on a free loopback port and wait for ``/healthz``.

    ``threads=1`` is the sync worker (one request at a time, no keep-alive); more threads is
    the gthread worker, as the production image runs it.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", wsgi, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--log-level", "warning", "--chdir", str(REPO)]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Gunicorn(process=process, port=port, log=log)
    try:
        wait_http(f"{server.base_url}/healthz", process=process, log=log)
    except BaseException:
        server.stop()
        raise
    return server


class BenchService:
    """Context manager: fresh database, migrations, gunicorn; stopped (database kept) on exit."""

    def __init__(
        self,
        *,
        database: str = DEFAULT_DATABASE,
        settings_module: str = "config.settings",
        workers: int = 2,
        threads: int = 1,
        extra_env: dict[str, str] | None = None,
        cache_url: str = DEFAULT_CACHE_URL,
        data_dir: Path | None = None,
    ) -> None:
        self.database = database
        self.workers = workers
        self.threads = threads
        self.cache_url = cache_url
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix=f"{database}-"))
        self.env = service_env(
            database=database,
            settings_module=settings_module,
            data_dir=self.data_dir,
            cache_url=cache_url,
            extra_env=extra_env,
        )
        self.server: Gunicorn | None = None

    def __enter__(self) -> BenchService:
        log(f"database {self.database}: recreate and migrate")
        recreate_database(self.database)
        flush_cache(self.cache_url)
        self.manage("migrate", "--noinput")
        log(f"gunicorn: {self.workers} worker(s) x {self.threads} thread(s), log {self.data_dir / 'gunicorn.log'}")
        self.server = start_gunicorn(
            self.env, workers=self.workers, threads=self.threads, log=self.data_dir / "gunicorn.log"
        )
        return self

    def __exit__(self, *exc_info) -> None:
        if self.server is not None:
            self.server.stop()

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def dev_token(self, username: str = "bench") -> str:
        """A developer OAuth token for ``username`` (the user is created if missing)."""
        return self.manage("create_dev_token", username, "--create").strip().splitlines()[-1].strip()

    def cpu_seconds(self) -> float:
        """CPU used so far by gunicorn and by the PostgreSQL backends connected to our database
        (readable when PostgreSQL runs on this machine as a user we may inspect)."""
        import psycopg

        assert self.server is not None
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres") as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.database]
            ).fetchall()
        return self.server.cpu_seconds() + sum(process_cpu_seconds(pid) for (pid,) in rows)

    def user_id(self, username: str) -> int:
        code = (
            "from django.contrib.auth import get_user_model; "
            f"print(get_user_model().objects.get(username={username!r}).pk)"
        )
        return int(self.manage("shell", "-c", code).strip().splitlines()[-1])

    def url(self, path: str) -> str:
        assert self.server is not None, "use BenchService as a context manager"
        return self.server.base_url + path


# --- load generation -----------------------------------------------------------------------------
@dataclass
class LoadResult:
    name: str
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int = 0
    tool: str = ""
    # Server CPU (gunicorn and its PostgreSQL backends) per request, when a probe was given.
    cpu_ms_per_request: float | None = None
    extra: dict = field(default_factory=dict)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def _wrk(url: str, *, name: str, duration: float, connections: int, headers: dict[str, str]) -> LoadResult:
    threads = max(1, min(connections, (os.cpu_count() or 2) // 2))
    command = ["wrk", "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    return wrk_result(output, name=name, tool=f"wrk -t{threads} -c{connections}")


def wrk_result(output: str, *, name: str, tool: str, cpu_seconds_before: float | None = None, cpu_probe=None):
    """A LoadResult read from ``wrk --latency`` output; with a CPU probe and its reading before
    the run, the server CPU per request too."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if not (total and rps and p50 and p99):
        raise RuntimeError(f"unreadable wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    requests = int(total.group(1))
    cpu_ms = None
    if cpu_probe is not None and cpu_seconds_before is not None and requests:
        cpu_ms = (cpu_probe() - cpu_seconds_before) * 1000 / requests
    return LoadResult(
        name=name,
        requests=requests,
        seconds=_ms(total.group(2) + total.group(3)) / 1000,
        requests_per_second=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        tool=tool,
        cpu_ms_per_request=cpu_ms,
    )


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def _python_load(url: str, *, name: str, duration: float, connections: int, headers: dict[str, str]) -> LoadResult:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[list[float]] = [[] for _ in range(connections)]
    non_2xx = [0] * connections
    errors = [0] * connections
    stop_at = time.monotonic() + duration

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                conn.request("GET", target, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.will_close:  # the sync worker closes after each answer
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                continue
            latencies[index].append((time.perf_counter() - started) * 1000)
            if not 200 <= response.status < 300:
                non_2xx[index] += 1
        conn.close()

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.monotonic() - started
    merged = sorted(value for values in latencies for value in values)
    return LoadResult(
        name=name,
        requests=len(merged),
        seconds=elapsed,
        requests_per_second=len(merged) / elapsed if elapsed else 0.0,
        p50_ms=_percentile(merged, 0.50),
        p99_ms=_percentile(merged, 0.99),
        non_2xx=sum(non_2xx),
        errors=sum(errors),
        tool=f"python threads -c{connections}",
    )


def load_tool() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def run_load(
    url: str,
    *,
    name: str | None = None,
    duration: float = 10,
    connections: int = 8,
    headers: dict[str, str] | None = None,
    warmup: float = 2,
    tool: str | None = None,
    cpu_probe: Callable[[], float] | None = None,
) -> LoadResult:
    """GET ``url`` from ``connections`` keep-alive clients for ``duration`` seconds.

    A short warm-up first, so every worker has imported its views and opened its database and
    cache connections before the measured run. ``cpu_probe`` (e.g. ``BenchService.cpu_seconds``)
    returns the server's CPU seconds so far: the result then has the CPU cost per request, a
    figure that other load on the machine disturbs far less than requests/s.
    """
    tool = tool or load_tool()
    generate = _wrk if tool == "wrk" else _python_load
    headers = headers or {}
    if warmup > 0:
        generate(url, name="warmup", duration=warmup, connections=connections, headers=headers)
    cpu_before = cpu_probe() if cpu_probe else 0.0
    result = generate(url, name=name or urlsplit(url).path, duration=duration, connections=connections, headers=headers)
    if cpu_probe and result.requests:
        result.cpu_ms_per_request = (cpu_probe() - cpu_before) * 1000 / result.requests
    return result


def print_table(results: list[LoadResult], *, file=None) -> None:
    file = file or sys.stdout
    header = ("benchmark", "req/s", "p50 ms", "p99 ms", "cpu ms/req", "requests", "non-2xx", "errors", "tool")
    rows = [
        (
            r.name,
            f"{r.requests_per_second:.1f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            "-" if r.cpu_ms_per_request is None else f"{r.cpu_ms_per_request:.2f}",
            str(r.requests),
            str(r.non_2xx),
            str(r.errors),
            r.tool,
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                cell.ljust(w) if i in (0, len(header) - 1) else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ),
            file=file,
        )


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "load_tool": load_tool(),
        # Others' work on the machine during the run: the figures are only as good as this is low.
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
