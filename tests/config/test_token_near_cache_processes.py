"""Tokens held in each web process (config.api.token_near_cache), tested with real processes: the
service under gunicorn (workers forked by gunicorn, gthread threads), sharing this test's database
and Redis, asked over HTTP.

The promises: a token revoked or whose user is deactivated anywhere (in this process, through the
API in one worker) gets 401 at the very next request whichever worker answers it, even while
requests for other tokens run in parallel threads; a flush or a lost tracking connection leaves
nothing stale held, and a tracking connection that silently stops delivering is distrusted within
a second; the rate limit (per token) is never exceeded across workers, and not reached far early
either.

How the tests see what they need to:

- The servers run the service's own WSGI application wrapped by ``application`` below, which only
  adds the answering process's id to each answer (``X-Worker-Pid``): a test knows which worker
  answered, and makes requests until every worker has.
- Redis's MONITOR shows the commands the workers send: a worker that answers a token without
  reading its entry on Redis holds it (``_hold_everywhere``).
- Servers whose Redis connections must be cut reach Redis through a TCP proxy in this process
  (``_Proxy``), which knows the tracking connections by their name.

A request is counted from when it is sent; every request after a change has returned must see it.
Other test runs may share the Redis server: their flushes (which every process tracking keys is
told of, whatever the database) are seen on MONITOR, and a measurement they may have disturbed
is made again.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import redis

# (Only the standard library, pytest and redis at the top: gunicorn imports this module for
# ``application`` before Django is set up.)

REPO = Path(__file__).resolve().parents[2]
PATH = "/api/users/me/cameras"
TOKEN_URL = "/api/login/oauth/access_token"
TRACKING_CLIENT_NAME = b"camhub-token-tracking"  # config.api.token_near_cache.TRACKING_CLIENT_NAME
TRUST_SECONDS, DEAD_AFTER_SECONDS = 1.0, 5.0  # config.api.token_near_cache's
HIGH_LIMIT = "100000/hour"  # blocks of 100 hits: a steady client makes no Redis command
LIMIT = 640  # the limit tests' requests per token and hour: blocks of 10 hits at first
REQUESTS = 800


def application(environ, start_response):
    """The service's WSGI application (what gunicorn runs in production), telling which process
    answered."""
    from config.wsgi import application as service

    pid = str(os.getpid())

    def start(status, headers, exc_info=None):
        return start_response(status, [*headers, ("X-Worker-Pid", pid)], exc_info)

    return service(environ, start)


# --- servers ---------------------------------------------------------------------------------------
@dataclass
class Web:
    """A gunicorn master serving on 127.0.0.1:port, and its workers."""

    process: subprocess.Popen
    port: int
    workers: int
    threads: int
    log: Path
    proxy: _Proxy | None = None
    pids: set[int] = field(default_factory=set)

    def get(self, raw: str) -> tuple[int, int, float, float]:
        """GET the camera list with the token: (status, the worker's pid, sent at, answered at),
        on a connection of its own (so that any worker may take it)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = time.monotonic()
            conn.request("GET", PATH, headers={"Authorization": f"token {raw}", "Connection": "close"})
            response = conn.getresponse()
            response.read()
            return response.status, int(response.getheader("X-Worker-Pid") or 0), sent, time.monotonic()
        finally:
            conn.close()

    def post_form(self, path: str, form: dict[str, str]) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            body = urlencode(form)
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
            conn.request("POST", path, body=body, headers={**headers, "Connection": "close"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def burst(self, raws: list[str], concurrency: int = 8) -> list[tuple[int, int, float, float]]:
        """The GETs at once (``concurrency`` at a time), answers in the order of ``raws``."""
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(self.get, raws))

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self.proxy is not None:
            self.proxy.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_web(*, database_url: str, cache_url: str, workers: int, threads: int, env: dict[str, str], log: Path) -> Web:
    port = _free_port()
    environ = dict(os.environ)
    for name in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "API_RATE_LIMIT", "API_TOKEN_CACHE_SECONDS"):
        environ.pop(name, None)
    environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        CACHE_URL=cache_url,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    environ.update({"API_TOKEN_CACHE_SECONDS": "60", **env})
    argv = [sys.executable, "-m", "gunicorn", f"{__name__}:application", "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers), "--chdir", str(REPO), "--log-level", "warning", "--graceful-timeout", "5"]
    argv += ["--no-control-socket"]
    if threads > 1:
        argv += ["--worker-class", "gthread", "--threads", str(threads)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, cwd=REPO, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    web = Web(process=process, port=port, workers=workers, threads=threads, log=log)
    # Up when every worker has answered (the /healthz of each, on connections of their own).
    deadline = time.monotonic() + 60
    while len(web.pids) < workers:
        if process.poll() is not None or time.monotonic() > deadline:
            web.stop()
            pytest.fail(f"gunicorn did not start:\n{web.output()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz", headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                web.pids.add(int(response.getheader("X-Worker-Pid")))
                continue
        except OSError:
            pass
        time.sleep(0.05)
    return web


@pytest.fixture(scope="module")
def _servers(django_db_setup, tmp_path_factory):
    """Starts gunicorn servers on demand, one per shape, kept for the module's tests (the test
    database and Redis are the same for all of them); stops them at the end."""
    from tests.conftest import REDIS_URL, _database_url_for_subprocess

    started: dict[str, Web] = {}
    logs = tmp_path_factory.mktemp("gunicorn")

    def server(name: str, *, workers: int, threads: int, env: dict[str, str], proxied: bool = False) -> Web:
        if name not in started:
            proxy = None
            cache_url = REDIS_URL
            if proxied:
                parts = urlsplit(REDIS_URL)
                proxy = _Proxy(parts.hostname or "127.0.0.1", parts.port or 6379)
                cache_url = parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
            web = _start_web(
                database_url=_database_url_for_subprocess(),
                cache_url=cache_url,
                workers=workers,
                threads=threads,
                env=env,
                log=logs / f"{name}.log",
            )
            web.proxy = proxy
            started[name] = web
        return started[name]

    yield server
    for web in started.values():
        web.stop()


@pytest.fixture
def on_redis(transactional_db, redis_url, settings):
    """This process on the servers' Redis (the tombstones its model changes write) and database
    (committed at once: the servers see it)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    settings.API_TOKEN_CACHE_SECONDS = 60
    return redis_url


@pytest.fixture
def web(on_redis, _servers) -> Web:
    """Production's shape: two workers of four threads (gthread)."""
    return _servers("web", workers=2, threads=4, env={"API_RATE_LIMIT": HIGH_LIMIT})


@pytest.fixture
def churning(on_redis, _servers) -> Web:
    """One worker of eight threads whose Redis entries live one second: the rows it holds are read
    on Redis again and again, so reads race with the invalidations of revocations."""
    return _servers(
        "churning", workers=1, threads=8, env={"API_RATE_LIMIT": HIGH_LIMIT, "API_TOKEN_CACHE_SECONDS": "1"}
    )


@pytest.fixture
def proxied(on_redis, _servers) -> Web:
    """Two gthread workers reaching Redis through ``_Proxy``, each with its tracking connection
    up (a worker connects it on a request, at most once a second after losing it)."""
    web = _servers("proxied", workers=2, threads=4, env={"API_RATE_LIMIT": HIGH_LIMIT}, proxied=True)
    _wait_for_tracking(web, "no-such-token", web.workers, status=401)
    return web


def _limited(servers, shape: str) -> Web:
    threads = 1 if shape.startswith("2 sync") else 4
    return servers(shape, workers=2, threads=threads, env={"API_RATE_LIMIT": f"{LIMIT}/hour"})


@pytest.fixture(params=["2 sync workers", "2 gthread workers x 4 threads"])
def limited(request, on_redis, _servers) -> Web:
    """Two workers, ``LIMIT`` requests per token and hour."""
    return _limited(_servers, request.param)


# --- what Redis sees -------------------------------------------------------------------------------
class _Monitor:
    """The commands Redis runs (MONITOR), from any client."""

    def __init__(self, url: str):
        self._client = redis.Redis.from_url(url, protocol=2)
        self._monitor = self._client.monitor().__enter__()
        self.commands: list[str] = []
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while True:
            try:
                command = self._monitor.next_command()
            except Exception:
                return
            if command is not None:
                self.commands.append(command["command"])

    def mark(self) -> int:
        """How many commands Redis ran before this call, every one of them in ``commands``."""
        marker = f"camhub-test-mark-{uuid.uuid4()}"
        self._client.echo(marker)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for index in range(len(self.commands) - 1, -1, -1):
                if marker in self.commands[index]:
                    return index
            time.sleep(0.005)
        raise AssertionError("MONITOR did not show the mark")

    def close(self) -> None:
        self._monitor.__exit__()
        self._client.close()


@pytest.fixture
def monitor(on_redis):
    watching = _Monitor(on_redis)
    yield watching
    watching.close()


class _Proxy:
    """A TCP proxy to Redis whose connections can be cut (both ends closed) or frozen (what Redis
    sends is dropped, the sockets left open: a connection lost without either end knowing, as
    behind a NAT that forgot it). The tracking connections are known by their client name."""

    @dataclass(eq=False)
    class Pair:
        client: socket.socket
        upstream: socket.socket
        tracking: bool = False
        frozen: bool = False
        closed: bool = False

    def __init__(self, host: str, port: int):
        self._upstream = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self.pairs: list[_Proxy.Pair] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._upstream)
            except OSError:
                client.close()
                continue
            pair = _Proxy.Pair(client, upstream)
            with self._lock:
                self.pairs.append(pair)
            threading.Thread(target=self._pump, args=(pair, client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, upstream, client, False), daemon=True).start()

    def _pump(self, pair: Pair, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client and TRACKING_CLIENT_NAME in data:
                    pair.tracking = True
                if pair.frozen and not from_client:
                    continue  # lost on the way
                target.sendall(data)
        except OSError:
            pass
        self._close(pair)

    def _close(self, pair: Pair) -> None:
        pair.closed = True
        for sock in (pair.client, pair.upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def tracking(self) -> list[Pair]:
        with self._lock:
            return [p for p in self.pairs if p.tracking and not p.closed]

    def cut(self, *, tracking_only: bool) -> int:
        with self._lock:
            pairs = [p for p in self.pairs if not p.closed and (p.tracking or not tracking_only)]
        for pair in pairs:
            self._close(pair)
        return len(pairs)

    def freeze_tracking(self) -> int:
        pairs = self.tracking()
        for pair in pairs:
            pair.frozen = True
        return len(pairs)

    def close(self) -> None:
        self._listener.close()
        self.cut(tracking_only=False)


# --- helpers ---------------------------------------------------------------------------------------
def _checksum(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _entry_reads(commands: list[str], raw: str) -> int:
    """The commands among these that read the token's entry on Redis (the throttle's script with
    the entry's key)."""
    key = f"auth:token:{_checksum(raw)}"
    return sum(1 for c in commands if c.upper().startswith("EVALSHA") and key in c)


def _flushed(commands: list[str]) -> bool:
    """Whether any of these commands was a flush (any database's, any client's)."""
    return any(c.upper().startswith(("FLUSHDB", "FLUSHALL")) for c in commands)


def _hold_everywhere(web: Web, monitor: _Monitor, raw: str, rounds: int = 25) -> None:
    """Requests for the token until every worker holds it: a round of requests at once, answered
    by every worker, of which none read the token's entry on Redis."""
    for _ in range(rounds):
        start = monitor.mark()
        answers = web.burst([raw] * 16)
        end = monitor.mark()
        assert [a[0] for a in answers] == [200] * 16, web.output()
        if {a[1] for a in answers} >= web.pids and _entry_reads(monitor.commands[start:end], raw) == 0:
            return
    pytest.fail("the workers never all held the token (a Redis entry read in every round)")


def _refused_by_every_worker(web: Web, raw: str, rounds: int = 20) -> None:
    """Requests until every worker has answered the token: every answer 401."""
    seen: set[int] = set()
    for _ in range(rounds):
        answers = web.burst([raw] * 16)
        assert [a[0] for a in answers] == [401] * 16, (answers, web.output())
        seen |= {a[1] for a in answers}
        if seen >= web.pids:
            return
    pytest.fail(f"not every worker answered: {seen} of {web.pids}")


def _make_user(name: str):
    from tests.factories import make_user

    return make_user(f"{name}-{secrets.token_hex(3)}")


def _make_token(user) -> str:
    from tests.factories import make_token

    return make_token(user)


def _access_token(raw: str):
    from oauth2_provider.models import get_access_token_model

    return get_access_token_model().objects.get(token_checksum=_checksum(raw))


def _delete_row_without_signals(raw: str) -> None:
    """The token's row gone with raw SQL: no signal, no tombstone (what only a flush or the
    entry's lifetime may make a process forget)."""
    from django.db import connection
    from oauth2_provider.models import get_access_token_model

    table = get_access_token_model()._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE token_checksum = %s", [_checksum(raw)])  # noqa: S608


# --- revocation ------------------------------------------------------------------------------------
def test_a_revocation_here_applies_to_the_very_next_request_in_every_worker(web, monitor):
    """Tokens every worker holds, revoked one by one in this process (a model delete: the
    tombstone, then the commit): the next request is refused, whichever worker answers it, and so
    is every later one; the user's other token stays held."""
    user = _make_user("revoked")
    raws = [_make_token(user) for _ in range(3)]
    kept = _make_token(user)
    _hold_everywhere(web, monitor, kept)
    since = monitor.mark()
    for raw in raws:
        _hold_everywhere(web, monitor, raw)
        _access_token(raw).revoke()
        assert web.get(raw)[0] == 401  # the very next request, whichever worker takes it
        _refused_by_every_worker(web, raw)
    # The user's other token is still good, and still held: the invalidations named the others
    # (unless a flush, which drops everything, came meanwhile).
    start = monitor.mark()
    answers = web.burst([kept] * 16)
    assert [a[0] for a in answers] == [200] * 16
    end = monitor.mark()
    assert _entry_reads(monitor.commands[start:end], kept) == 0 or _flushed(monitor.commands[since:end])


def test_a_deactivated_user_is_refused_at_the_very_next_request_in_every_worker(web, monitor):
    """A user deactivated here (``save()``): both of their tokens, held by every worker, are
    refused at once everywhere; another user's are not; activated again, accepted again."""
    user, other = _make_user("deactivated"), _make_user("other")
    raws = [_make_token(user), _make_token(user)]
    others = _make_token(other)
    for raw in [*raws, others]:
        _hold_everywhere(web, monitor, raw)
    user.is_active = False
    user.save()
    assert web.get(raws[0])[0] == 401
    for raw in raws:
        _refused_by_every_worker(web, raw)
    assert {a[0] for a in web.burst([others] * 16)} == {200}
    # Active again: accepted again, everywhere.
    user.is_active = True
    user.save()
    answers = web.burst(raws * 16)
    assert {a[0] for a in answers} == {200} and {a[1] for a in answers} >= web.pids


def test_a_revocation_through_the_api_in_one_worker_applies_in_the_others(web, monitor, settings):
    """A refresh (the OAuth token endpoint, answered by some worker) revokes the access token it
    replaces; a rotated refresh token used again revokes its whole family (a bulk delete)."""
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model, set_token_value

    from accounts.services import oauth_application_create

    user = _make_user("partner-user")
    # The client secret hashed as the servers check it (not with the tests' cheap hasher).
    settings.PASSWORD_HASHERS = [h for h in settings.PASSWORD_HASHERS if "MD5" not in h]
    app, secret = oauth_application_create(name="Partner", redirect_uris=["https://partner.example/cb"])
    access_raw, refresh_raw = secrets.token_urlsafe(30), secrets.token_urlsafe(30)
    access = get_access_token_model()(
        user=user, application=app, expires=timezone.now() + timedelta(hours=1), scope="user"
    )
    set_token_value(access, access_raw)
    access.save()
    refresh = get_refresh_token_model()(user=user, application=app, access_token=access, token_family=uuid.uuid4())
    set_token_value(refresh, refresh_raw)
    refresh.save()

    _hold_everywhere(web, monitor, access_raw)
    form = {"client_id": app.client_id, "client_secret": secret, "refresh_token": refresh_raw}
    status, body = web.post_form(TOKEN_URL, form)
    assert status == 200, body
    new_raw = json.loads(body)["access_token"]
    assert web.get(access_raw)[0] == 401
    _refused_by_every_worker(web, access_raw)

    _hold_everywhere(web, monitor, new_raw)
    status, body = web.post_form(TOKEN_URL, form)  # replayed
    assert status == 400, body
    assert web.get(new_raw)[0] == 401
    _refused_by_every_worker(web, new_raw)


def test_a_flush_leaves_nothing_held(web, monitor, on_redis):
    """After FLUSHDB (what a Redis restart without persistence loses too) a token whose row went
    with raw SQL (no tombstone) is refused at once: no worker kept it."""
    user = _make_user("flushed")
    raws = [_make_token(user) for _ in range(2)]
    for raw in raws:
        _hold_everywhere(web, monitor, raw)
    redis.Redis.from_url(on_redis).flushdb()
    _delete_row_without_signals(raws[0])
    assert web.get(raws[0])[0] == 401
    _refused_by_every_worker(web, raws[0])
    assert {a[0] for a in web.burst([raws[1]] * 16)} == {200}


# --- threads -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["churning", "web"])
def test_concurrent_requests_while_tokens_are_revoked(shape, on_redis, request):
    """Sixteen clients at once on a few tokens while this process revokes them one by one and
    deactivates a user: a request sent after a change has returned is refused, one answered
    before the change began is accepted, and nothing else (no 500)."""
    web = request.getfixturevalue(shape)
    users = [_make_user(f"busy{n}") for n in range(3)]
    raws = [_make_token(user) for user in users for _ in range(4)]
    for raw in raws:  # every worker has every token (held, or its entry on Redis)
        assert {a[0] for a in web.burst([raw] * 8)} == {200}

    changes: dict[str, tuple[float, float]] = {}  # token: (the change began, it had returned)
    results: list[tuple[str, int, int, float, float]] = []
    stop = threading.Event()

    def client(offset: int) -> None:
        index = offset
        while not stop.is_set():
            raw = raws[index % len(raws)]
            index += 7
            results.append((raw, *web.get(raw)))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        for raw in raws[:3] + raws[4:7]:
            began = time.monotonic()
            _access_token(raw).revoke()
            changes[raw] = (began, time.monotonic())
            time.sleep(0.15)
        began = time.monotonic()
        users[2].is_active = False
        users[2].save()
        done = time.monotonic()
        for raw in raws[8:]:
            changes[raw] = (began, done)
        time.sleep(0.4)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)

    statuses = Counter(r[1] for r in results)
    assert set(statuses) <= {200, 401}, statuses
    late = [r for r in results if r[0] in changes and r[3] > changes[r[0]][1] and r[1] != 401]
    early = [r for r in results if r[0] in changes and r[4] < changes[r[0]][0] and r[1] != 200]
    untouched = [r for r in results if r[0] not in changes and r[1] != 200]
    assert not late, f"{len(late)} requests sent after the change were accepted: {late[:5]}"
    assert not early and not untouched
    assert len(results) > 200 and {r[2] for r in results} >= web.pids


# --- lost tracking connections ---------------------------------------------------------------------
def _wait_for_tracking(web: Web, raw: str, count: int, status: int = 200) -> None:
    """Requests until ``count`` tracking connections are up (a worker connects again on a
    request, at most once a second after losing it)."""
    deadline = time.monotonic() + 15
    while len(web.proxy.tracking()) < count:
        assert time.monotonic() < deadline, "the workers did not connect their tracking again"
        assert {a[0] for a in web.burst([raw] * 8)} == {status}
        time.sleep(0.1)


def test_a_cut_tracking_connection_leaves_nothing_held(proxied, monitor):
    """The workers' tracking connections closed (as CLIENT KILL or an output buffer over its
    limit would): a revocation whose invalidation reaches no worker still applies at the next
    request; a second later the workers track and hold again, and revocations apply at once."""
    user = _make_user("cut")
    raws = [_make_token(user) for _ in range(3)]
    for raw in raws:
        _hold_everywhere(proxied, monitor, raw)
    assert len(proxied.proxy.tracking()) == proxied.workers
    assert proxied.proxy.cut(tracking_only=True) == proxied.workers
    # The invalidation of this revocation reaches no worker; each must have seen its connection go.
    _access_token(raws[0]).revoke()
    assert proxied.get(raws[0])[0] == 401
    _refused_by_every_worker(proxied, raws[0])
    # A second later each worker tracks again, holds again, and a revocation applies at once again.
    _wait_for_tracking(proxied, raws[1], proxied.workers)
    _hold_everywhere(proxied, monitor, raws[1])
    _access_token(raws[1]).revoke()
    assert proxied.get(raws[1])[0] == 401
    _refused_by_every_worker(proxied, raws[1])


def test_every_redis_connection_cut_and_the_data_lost_leaves_nothing_held(proxied, monitor, on_redis):
    """What a Redis restart does: every connection closed, the data gone (no tombstone will tell
    of a row gone by raw SQL). No worker answers from what it held, and none answers 500."""
    user = _make_user("restart")
    raws = [_make_token(user) for _ in range(2)]
    for raw in raws:
        _hold_everywhere(proxied, monitor, raw)
    assert proxied.proxy.cut(tracking_only=False) >= proxied.workers
    redis.Redis.from_url(on_redis).flushdb()  # (nobody tracks it now: the cut came first)
    _delete_row_without_signals(raws[0])
    assert proxied.get(raws[0])[0] == 401
    _refused_by_every_worker(proxied, raws[0])
    assert {a[0] for a in proxied.burst([raws[1]] * 16)} == {200}
    _wait_for_tracking(proxied, raws[1], proxied.workers)


def test_a_silently_dead_tracking_connection_is_distrusted_within_a_second(proxied, monitor):
    """A tracking connection lost without a FIN or RST reaching the process (a NAT or load
    balancer that dropped it, a partition): its pings go unanswered, so within a second the
    workers stop answering from the rows they hold, and a revoked token is refused by all; after
    five seconds of silence they drop the connection and track again."""
    user = _make_user("frozen")
    raw, other = _make_token(user), _make_token(user)
    _hold_everywhere(proxied, monitor, raw)
    try:
        frozen = proxied.proxy.tracking()
        assert proxied.proxy.freeze_tracking() == proxied.workers
        _access_token(raw).revoke()
        time.sleep(TRUST_SECONDS + 0.2)
        answers = proxied.burst([raw] * 32)
        assert {a[0] for a in answers} == {401}, answers
        assert {a[1] for a in answers} >= proxied.pids
        # The other token still works meanwhile (read on Redis), and the workers connect again.
        assert {a[0] for a in proxied.burst([other] * 8)} == {200}
        deadline = time.monotonic() + DEAD_AFTER_SECONDS + 3
        while not all(pair.closed for pair in frozen):  # (requests are what checks the connection)
            assert time.monotonic() < deadline, "a worker kept its silent tracking connection"
            assert {a[0] for a in proxied.burst([other] * 8)} == {200}
            time.sleep(0.1)
        _wait_for_tracking(proxied, other, proxied.workers)
        _hold_everywhere(proxied, monitor, other)
    finally:
        proxied.proxy.cut(tracking_only=True)  # the next test's workers connect again


# --- the rate limit --------------------------------------------------------------------------------
def _spend(web: Web, monitor: _Monitor, redis_url: str) -> tuple[Counter, int]:
    """REQUESTS requests at once (8 at a time) for a new token: the answers' statuses, and the
    count of hits Redis has for the token's window."""
    user = _make_user("limited")
    for _ in range(3):
        raw = _make_token(user)
        window = int(time.time() // 3600)
        start = monitor.mark()
        answers = web.burst([raw] * REQUESTS)
        # Again with another token if the run was split by an hour's boundary (two windows) or
        # another test run's flush (which makes every process drop its blocks).
        if int(time.time() // 3600) == window and not _flushed(monitor.commands[start : monitor.mark()]):
            break
    statuses = Counter(a[0] for a in answers)
    assert set(statuses) <= {200, 429}, statuses
    assert {a[1] for a in answers} >= web.pids
    counted = redis.Redis.from_url(redis_url).get(f":1:throttle:token:{_checksum(raw)[:32]}:{window}")
    return statuses, int(counted)


# Hits taken and not used, per worker: what is left of its last block (1/64 of what remained).
LOST_PER_WORKER = LIMIT // 64


def test_the_limit_is_never_exceeded_across_workers(limited, monitor, on_redis):
    """Each worker counts its hits in blocks (one thread at a time; the others meanwhile count
    their own hit): never more than LIMIT accepted, every request counted, and at most what is
    left of the workers' last blocks lost."""
    statuses, counted = _spend(limited, monitor, on_redis)
    assert statuses[200] <= LIMIT, (statuses, counted)
    assert counted >= REQUESTS  # every request took a count of its own
    assert statuses[200] >= LIMIT - limited.workers * LOST_PER_WORKER, (statuses, counted)
