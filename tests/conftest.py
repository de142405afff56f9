"""Shared fixtures: users with tokens, API clients, and real servers (Redis, a Celery worker).

Tests that need a server this machine does not run are skipped *loudly*: the run ends with a
banner naming them. With ``CAMHUB_REQUIRE_SERVERS=1`` (CI) a missing server fails the test instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from tests.factories import make_token, make_user

REPO = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_missing_servers: list[str] = []


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


def need_server(name: str, url: str) -> None:
    if _reachable(url):
        return
    message = f"NEEDS SERVER: {name} not reachable at {url}"
    if os.environ.get("CAMHUB_REQUIRE_SERVERS") == "1":
        pytest.fail(message)
    _missing_servers.append(message)
    pytest.skip(message)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _missing_servers:
        terminalreporter.section("SKIPPED FOR MISSING SERVERS", sep="!", red=True, bold=True)
        for line in sorted(set(_missing_servers)):
            terminalreporter.write_line(f"{line} ({_missing_servers.count(line)} tests)", red=True, bold=True)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Users are made with a cheap hasher: the production one (PBKDF2, a million rounds) cost
    about a quarter of a second per user, most of the suite's time. The production hashers stay
    listed after it, so passwords hashed by servers the tests start still check."""
    from django.conf import settings
    from django.test.utils import override_settings

    cheap = "django.contrib.auth.hashers.MD5PasswordHasher"
    with override_settings(PASSWORD_HASHERS=[cheap, *settings.PASSWORD_HASHERS]):
        yield


@pytest.fixture(autouse=True)
def _isolated_cache_and_eager_tasks(settings):
    """Each test: an empty private cache, and Celery tasks run in-process after commit."""
    from config.celery import app

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}}
    from django.core.cache import cache

    cache.clear()
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def ftp_configured(settings):
    """An FTP gateway is configured: claimed devices get the reference's ftpAlarm command only then."""
    settings.FTP_GATEWAY_PORT, settings.FTP_GATEWAY_HOST = 21, "localhost"


@pytest.fixture
def postgresql():
    """Skips the test unless it runs on PostgreSQL (the project's backend, health checks on). List
    it before fixtures that start servers, so a skipped test starts none."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (DATABASE_URL=postgres://…)")
    assert connection.settings_dict["ENGINE"] == "config.postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]


@pytest.fixture
def throttle_clock(monkeypatch):
    """Rate-limit tests count their requests in one fixed window: the throttle's clock is pinned
    30 s into a minute, so a minute boundary passing between two requests cannot split them."""
    from types import SimpleNamespace

    from config.api import throttling

    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))


@pytest.fixture
def user(db):
    return make_user("alice", email="alice@example.com")


@pytest.fixture
def other_user(db):
    return make_user("bob", email="bob@example.com")


@pytest.fixture
def token(user) -> str:
    return make_token(user)


@pytest.fixture
def api(token) -> APIClient:
    """An API client authenticated as ``user`` with ``Authorization: token …``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"token {token}")
    return client


@pytest.fixture
def other_api(other_user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"token {make_token(other_user)}")
    return client


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def redis_url() -> str:
    need_server("Redis", REDIS_URL)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


@pytest.fixture
def redis_cache(settings, redis_url):
    """The default cache on the test Redis (flushed first), as in production; returns settings."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    return settings


def _database_url_for_subprocess() -> str:
    """A DATABASE_URL naming the test database this process uses, for a worker to share."""
    from django.db import connection

    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    user = cfg.get("USER") or ""
    auth = f"{user}:{cfg['PASSWORD']}@" if cfg.get("PASSWORD") else (f"{user}@" if user else "")
    return f"postgres://{auth}{cfg.get('HOST') or '127.0.0.1'}:{cfg.get('PORT') or 5432}/{cfg['NAME']}"


class WorkerProcess:
    def __init__(self, proc: subprocess.Popen, log: list[str]):
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return "".join(self.log)


def _fresh_publisher(app) -> None:
    """Publish on the broker now configured: close and forget every cached connection and producer.

    Celery caches a connection pool on the app, a producer pool built on it on ``app.amqp``, and
    kombu keeps a global registry of pools. All three must go together, or a later test publishes
    to an earlier test's broker or acquires from a closed pool ("Acquire on closed pool").
    """
    from kombu import pools

    pools.reset()
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """Publishing for real (not eagerly) to a broker nobody listens on."""
    from django.conf import settings

    from config.celery import app

    previous = (app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.task_always_eager = False
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    # What production uses for a Redis broker: give up publishing after ~0.2 s.
    app.conf.broker_transport_options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    _fresh_publisher(app)
    yield
    app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_transport_options = previous
    _fresh_publisher(app)


def start_worker(name: str, broker_url: str, *, include: str = "") -> WorkerProcess:
    """Start a Celery worker subprocess (queues celery and hooks) on ``broker_url``, sharing this
    test's database, and wait until it is ready. The caller stops it."""
    env = dict(
        os.environ,
        DATABASE_URL=_database_url_for_subprocess(),
        CELERY_BROKER_URL=broker_url,
        CACHE_URL=broker_url,
        PYTHONUNBUFFERED="1",
    )
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "threads", "--concurrency", "4"]
    argv += ["--loglevel", "INFO", "--without-mingle", "--without-gossip", "--without-heartbeat"]
    argv += ["--queues", "celery,hooks", "-n", f"{name}-{os.getpid()}@%h"]
    if include:
        argv += ["--include", include]
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    ready = threading.Event()

    def pump():
        for line in proc.stdout:
            log.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(30):
        proc.kill()
        pytest.fail(f"Celery worker {name} did not start:\n" + "".join(log))
    return WorkerProcess(proc, log)


@pytest.fixture
def celery_worker(transactional_db, redis_url, settings):
    """A real Celery worker (subprocess) on Redis, sharing this test's database.

    The test process publishes to the same Redis; tasks run for real, retries and countdowns too.
    Both use that Redis as their cache too, as web and worker share one in production (keys one
    side takes and the other lets go, e.g. a camera's pending analysis message).
    Extra task modules for tests are listed in ``--include``.
    """
    from config.celery import app

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}

    worker = start_worker("test", redis_url, include="tests.celery_tasks")
    proc = worker.proc
    previous = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = redis_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    _fresh_publisher(app)
    try:
        yield worker
    finally:
        app.conf.task_always_eager, app.conf.broker_url = previous
        _fresh_publisher(app)
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
