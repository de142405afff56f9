"""Hooks test kit: real HTTP receivers on loopback, events made through the ORM, short timeouts."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from cameras.models import Camera
from search.models import Event, InterestLevel

# Test schedule: the production one (5 s … 10 h) shrunk to fractions of a second.
SHORT_SCHEDULE = (0.2, 0.4, 0.6)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering (a slow or hanging receiver)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    peer: int = 0  # the client's port: requests on one keep-alive connection share it

    def json(self):
        return json.loads(self.body)


class Receiver:
    """A real HTTP server on 127.0.0.1 that answers from a script of replies (last one repeats)."""

    def __init__(self, *, tls=None) -> None:
        """``tls``: an ``ssl.SSLContext`` (server side) to answer https instead of http."""
        self.scheme = "https" if tls is not None else "http"
        self.requests: list[Received] = []
        self.replies: list[Reply] = [Reply()]
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms Nagle/delayed-ACK stall per keep-alive answer

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                            self.client_address[1],
                        )
                    )
                    n = len(receiver.requests)
                    reply = receiver.replies[min(n - 1, len(receiver.replies) - 1)]
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def loopback_ok(settings):
    """Deliveries may go to loopback receivers; timeouts and retries are short."""
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = True
    settings.HOOK_CONNECT_TIMEOUT_SECONDS = 1
    settings.HOOK_TIMEOUT_SECONDS = 1
    settings.HOOK_RETRY_SCHEDULE_SECONDS = SHORT_SCHEDULE
    return settings


@pytest.fixture
def camera(user):
    return Camera.objects.create(owner=user, name="front")


def make_event(camera, labels, *, level=InterestLevel.IMPORTANT, owner=None) -> Event:
    """A 20-second event of ``camera``, after its others: a camera's events never overlap."""
    end = timezone.now()
    last = Event.objects.filter(camera=camera).order_by("-latest_date").values_list("latest_date", flat=True).first()
    if last is not None and last >= end - timedelta(seconds=20):
        end = last + timedelta(minutes=1, seconds=20)
    return Event.objects.create(
        owner=owner or camera.owner,
        camera=camera,
        earliest_date=end - timedelta(seconds=20),
        latest_date=end,
        labels=sorted(labels),
        max_interest_level=level,
        max_interest_score=0.9,
        item_count=1,
    )


@pytest.fixture
def hooks_worker(transactional_db, monkeypatch, request):
    """The shared ``celery_worker`` (queues celery and hooks) with our worker settings: loopback
    receivers allowed, 1 s timeouts, a retry schedule of fractions of a second. Asks for
    ``transactional_db`` by name so that test data is committed where the worker can read it."""

    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.hooks.worker_settings")
    return request.getfixturevalue("celery_worker")


def spawn_worker(name: str):
    """Another worker process like the fixture's (for taking over after a kill); the caller stops it."""
    from tests.conftest import REDIS_URL, start_worker

    return start_worker(name, REDIS_URL).proc


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A cache web and worker processes share (file-based here, Redis in production)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }


class Published(list):
    """The delivery ids ``hooks.deliver`` was queued with, in order; ``kwargs`` by id."""

    def __init__(self) -> None:
        super().__init__()
        self.kwargs: dict[int, dict] = {}
        self.countdowns: dict[int, float | None] = {}

    def run(self, delivery_id: int):
        """Run the task queued for ``delivery_id`` in-process, as a worker would."""
        from hooks import services

        return services.delivery_attempt(delivery_id=delivery_id, **self.kwargs.get(delivery_id, {}))


@pytest.fixture
def published(monkeypatch):
    """What ``hooks.deliver`` is queued with (the broker is the boundary here)."""
    from hooks.tasks import deliver

    queued = Published()

    def apply_async(args, kwargs=None, countdown=None, **_options):
        queued.append(args[0])
        queued.kwargs[args[0]] = kwargs or {}
        queued.countdowns[args[0]] = countdown

    monkeypatch.setattr(deliver, "apply_async", apply_async)
    return queued
