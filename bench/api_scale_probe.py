"""Every API endpoint the ``bench`` account can reach, at a million items: time, queries, SQL, slowest query.

Runs in-process (DRF's APIClient, DEBUG off, a locmem cache) on the database ``bench.search_bench``
loads (``camhub_f1_bench``: 100 accounts, 1,000 cameras, 100,000 events, 1,000,000 items with
their analyses). For each endpoint it prints the status, the wall time (best of ``--rounds``, and
the first, cold, round), the number of queries, their SQL time and the slowest query (its first
300 characters). Endpoints over ``SLOW_MS`` or ``MANY_QUERIES`` are flagged (``!``), those slow
only on their first round (a cache hid the cost) marked ``~``; pairs of the same call on more and
fewer rows show whether a query count grows with rows (N+1). ``--explain`` adds the plan (EXPLAIN
ANALYZE, BUFFERS) of each flagged endpoint's slowest query.

The loaded rows are only read. What the probe needs of its own it makes for ``bench`` and removes
at the end: a developer token, Camios (two to read, more through the API's create), paused hooks
with a few finished deliveries, a zone, a download row, the account's settings row if it had none,
a polling device. Media (one JPEG,
hard-linked under each of the account's storage keys) and the embedded broker live in a temporary
directory, so thumbnails, live images and ``POST /api/content`` really read and resize bytes, and
no task reaches a worker. No endpoint renames a camera (the API has none) or deletes one.

    .venv/bin/python -m bench.search_bench --reuse --requests 10 --only camera   # loads if missing
    flock /tmp/camhub-bench.lock .venv/bin/python bench/api_scale_probe.py [--explain] [--only search]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a file (bench/api_scale_probe.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATABASE = "camhub_f1_bench"
USERNAME = "bench"
SLOW_MS = 50.0
MANY_QUERIES = 10
SQL_CHARS = 300
PROBE_NAME = "api-scale-probe"  # names what the probe makes, so a crashed run's leftovers are found
PROBE_MAC = "02:00:5e:a5:ca:1e"  # a locally administered MAC: no real camera has it
CALLBACK = "https://93.184.215.14/camhub-api-scale-probe"  # a public literal address: no DNS


@dataclass
class Probe:
    """One endpoint call. ``paths``: one path per round (deletes of distinct objects)."""

    name: str
    method: str
    path: str
    query: dict = field(default_factory=dict)
    body: object = None
    anonymous: bool = False
    paths: list[str] | None = None
    rounds: int | None = None
    quiet: bool = False  # swallow what the view prints on stderr (the schema generator's warnings)


@dataclass
class Result:
    probe: Probe
    status: int
    first_ms: float
    best_ms: float
    queries: int
    sql_ms: float
    slowest_ms: float
    slowest_sql: str
    answer: object = None
    slowest_raw: tuple[str, object] | None = None  # (SQL with placeholders, params): what EXPLAIN runs

    @property
    def flagged(self) -> bool:
        return self.best_ms > SLOW_MS or self.queries > MANY_QUERIES

    @property
    def cold_only(self) -> bool:
        """Slow only on the first round: a cache (renditions, the token) hid the cost after."""
        return not self.flagged and self.first_ms > SLOW_MS


# Same call on fewer and more rows: the query counts must match (else N+1).
PAIRS = (
    ("search n=10", "search n=100"),
    ("search all thumbs n=10", "search all thumbs n=100"),
    ("search view token n=10", "search view token n=100"),
    ("search hours n=10", "search hours n=100"),
    ("content POST 1 item", "content POST 100 items"),
    ("deliveries limit=1", "deliveries limit=20"),
    ("camio list (before)", "camio list"),
    ("hook list (0 hooks)", "hook list (3 hooks)"),
)


def _configure(database: str, data_dir: Path) -> None:
    """The environment Django reads at setup: set before ``django.setup()``."""
    from bench import harness

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = harness.database_url(database)
    os.environ["CACHE_URL"] = "locmem://"
    os.environ["DEBUG"] = "false"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["API_RATE_LIMIT"] = "1000000000/minute"  # counted, never refused
    # The embedded broker, media and cache files in a directory of this run's own.
    os.environ["CAMHUB_DATA_DIR"] = str(data_dir)
    os.environ["MEDIA_ROOT"] = str(data_dir / "media")
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.pop("AWS_STORAGE_BUCKET_NAME", None)


def _jpeg() -> bytes:
    """A 640x480 snapshot-like JPEG (gradients and blurred noise: about 28 KB)."""
    from PIL import Image, ImageFilter

    gradient = Image.linear_gradient("L").resize((640, 480))
    noise = Image.effect_noise((640, 480), 30).filter(ImageFilter.GaussianBlur(1.5))
    image = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _stage_media(media: Path, owner_id: int) -> int:
    """One JPEG hard-linked under each of the owner's storage keys; returns how many."""
    from uploads.models import Content

    source = media / "probe-source.jpg"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(_jpeg())
    keys = Content.objects.filter(owner_id=owner_id).values_list("storage_key", "poster_key")
    count = 0
    for storage_key, poster_key in keys.iterator(chunk_size=5000):
        for key in (storage_key, poster_key):
            if not key:
                continue
            target = media / key
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.link(source, target)
                count += 1
    return count


class _Timer:
    """Each statement's duration to the microsecond (CaptureQueriesContext keeps milliseconds),
    with its SQL and parameters as sent (for EXPLAIN)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, object, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, None if many else params, time.perf_counter() - started))


def _measure(clients: dict, probe: Probe, rounds: int) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = clients["anonymous" if probe.anonymous else "signed"]
    call = getattr(client, probe.method.lower())
    runs = probe.rounds or rounds
    paths = probe.paths or [probe.path] * runs
    first = None
    best: tuple | None = None
    for path in paths[:runs]:
        kwargs: dict = {}
        if probe.method == "GET":
            args = (path, probe.query)
        else:
            target = path
            if probe.query:
                target += "?" + "&".join(f"{k}={v}" for k, v in probe.query.items())
            args = (target,)
            if probe.body is not None:
                kwargs = {"data": probe.body, "format": "json"}
        timer = _Timer()
        stderr = io.StringIO() if probe.quiet else sys.stderr
        with (
            CaptureQueriesContext(connection) as queries,
            connection.execute_wrapper(timer),
            contextlib.redirect_stderr(stderr),
        ):
            started = time.perf_counter()
            response = call(*args, **kwargs)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)  # the bytes are part of the answer's cost
            elapsed = (time.perf_counter() - started) * 1000
        first = elapsed if first is None else first
        captured = [dict(q) for q in queries.captured_queries]
        if len(timer.statements) == len(captured):
            for query, (sql, params, seconds) in zip(captured, timer.statements, strict=True):
                query["time"], query["raw"] = seconds, (sql, params)
        if best is None or elapsed < best[0]:
            best = (elapsed, response, captured)
    assert best is not None and first is not None
    elapsed, response, captured = best
    slowest = max(captured, key=lambda q: float(q["time"]), default={"sql": "", "time": "0"})
    answer = None
    if response.get("Content-Type", "").startswith("application/json") and not getattr(response, "streaming", False):
        try:
            answer = response.json()
        except ValueError:
            answer = None
    return Result(
        probe=probe,
        status=response.status_code,
        first_ms=first,
        best_ms=elapsed,
        queries=len(captured),
        sql_ms=sum(float(q["time"]) for q in captured) * 1000,
        slowest_ms=float(slowest["time"]) * 1000,
        slowest_sql=" ".join(str(slowest["sql"]).split()),
        answer=answer,
        slowest_raw=slowest.get("raw"),
    )


def _print_result(result: Result) -> None:
    mark = "!" if result.flagged else ("~" if result.cold_only else " ")
    name = f"{result.probe.method} {result.probe.name}"
    print(
        f"{mark} {name:<44} {result.status:>4} {result.best_ms:>8.1f} {result.first_ms:>8.1f} "
        f"{result.queries:>4} {result.sql_ms:>8.1f} {result.slowest_ms:>8.1f}"
    )
    if result.status >= 400 and isinstance(result.answer, dict):
        print(f"      answer: {str(result.answer.get('message'))[:SQL_CHARS]}")
    if result.slowest_sql:
        print(f"      {result.slowest_sql[:SQL_CHARS]}")


def _explain(result: Result) -> None:
    """The plan of the endpoint's slowest query (read-only statements only)."""
    from django.db import connection

    sql, params = result.slowest_raw or (result.slowest_sql, None)
    if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
        print(f"--- {result.probe.method} {result.probe.name}: not explained ({sql[:60]!r})")
        return
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    print(f"--- {result.probe.method} {result.probe.name}: slowest query {result.slowest_ms:.1f} ms")
    print(f"    {result.slowest_sql[:1500]}")
    for line in plan:
        print(f"    {line}")


class Fixtures:
    """What the probe makes for ``bench`` and must remove: tracked, deleted in ``cleanup``."""

    def __init__(self, user) -> None:
        self.user = user
        self.token_pks: list[int] = []
        self.camio_pks: set[int] = set()
        self.hook_pks: set[int] = set()
        self.download_pks: list[int] = []
        self.settings_existed = True
        self.api_key = ""
        self.usage_pks: set[int] = set()  # the viewer's counts of its API key before the run

    def cleanup(self) -> None:
        from oauth2_provider.models import AccessToken

        from accounts.models import AccountSettings
        from cameras.models import Device, Zone
        from hooks.models import Hook
        from search.models import Camio, Download, ViewerKeyUsage

        Download.objects.filter(pk__in=self.download_pks).delete()
        Download.objects.filter(requester=self.user, camio__name__startswith=PROBE_NAME).delete()
        Camio.objects.filter(owner=self.user, name__startswith=PROBE_NAME).delete()
        Camio.objects.filter(pk__in=self.camio_pks).delete()
        Hook.objects.filter(pk__in=self.hook_pks).delete()
        Hook.objects.filter(owner=self.user, callback_url=CALLBACK).delete()
        Zone.objects.filter(camera__owner=self.user, name__startswith=PROBE_NAME).delete()
        Device.objects.filter(mac_address=PROBE_MAC.replace(":", "")).delete()
        if self.api_key:
            ViewerKeyUsage.objects.filter(client_id=self.api_key).exclude(pk__in=self.usage_pks).delete()
        if not self.settings_existed:
            AccountSettings.objects.filter(user=self.user).delete()
        AccessToken.objects.filter(pk__in=self.token_pks).delete()


def _probes_before(f: dict) -> list[Probe]:
    """Reads whose row counts the writes change: measured first."""
    return [
        Probe("camio list (before)", "GET", "/api/users/me/camios"),
        Probe("hook list (0 hooks)", "GET", "/api/users/me/hooks"),
    ]


def _write_probes(f: dict) -> list[Probe]:
    """Writes on the bench account: each round makes its own row (removed later)."""
    polygon = {"points": [{"x": 0.1, "y": 0.1}, {"x": 0.9, "y": 0.1}, {"x": 0.5, "y": 0.9}]}
    return [
        Probe(
            "camio create (cameras, labels, events)",
            "POST",
            "/api/users/me/camios",
            body={
                "name": f"{PROBE_NAME} created",
                "query": {
                    "cameras": ["cam3", "cam4"],
                    "labels": ["people"],
                    "events": f["event_ids"][:5],
                    "start_date": "2026-11-01T00:00:00.000Z",
                },
            },
        ),
        Probe("camio create (everything)", "POST", "/api/users/me/camios", body={"name": PROBE_NAME, "query": {}}),
        Probe(
            "zone create/replace",
            "POST",
            f"/api/users/me/cameras/cam3/zones/{PROBE_NAME}",
            body={"name": PROBE_NAME, "polygons": [polygon]},
        ),
        Probe(
            "hook create (paused)",
            "POST",
            "/api/users/me/hooks",
            body={
                "type": "label_hit",
                "callback_url": CALLBACK,
                "query": "cam3 people approaching mailbox",
                "active": False,
            },
        ),
        Probe("settings update (no change)", "POST", "/api/users/me/settings", body={}),
    ]


def _read_probes(f: dict) -> list[Probe]:
    """Every GET the bench account can reach, with search's parameters in many combinations."""
    s = "/api/search"
    mid, old = f["mid_date"], f["old_date"]
    vt, own_vt, cut_vt = f["bench_view_token"], f["live_view_token"], f["cut_view_token"]
    probes = [
        # accounts
        Probe("settings", "GET", "/api/users/me/settings"),
        Probe("upload token", "GET", "/api/users/me/tokens/upload"),
        Probe("upload token hint (open)", "GET", f"/api/tokens/{f['upload_token']}/hint", anonymous=True),
        Probe("guests", "GET", "/api/users/me/guests"),
        Probe("notifications", "GET", "/api/users/me/notifications"),
        Probe("notifications unread", "GET", "/api/users/me/notifications", {"unread": "true"}),
        Probe("users/me (no such route)", "GET", "/api/users/me"),
        # cameras, zones, devices
        Probe("cameras", "GET", "/api/users/me/cameras"),
        Probe("cameras fetch_zones", "GET", "/api/users/me/cameras", {"fetch_zones": "true"}),
        Probe("camera", "GET", "/api/users/me/cameras/cam3"),
        Probe("camera transitions", "GET", "/api/users/me/cameras/cam3/transitions"),
        Probe("zones", "GET", "/api/users/me/cameras/cam3/zones"),
        Probe("zone", "GET", f"/api/users/me/cameras/cam3/zones/{PROBE_NAME}"),
        Probe("devices", "GET", "/api/users/me/devices"),
        Probe("camera poll (open)", "GET", f"/api/cameras/{PROBE_MAC}", {"maker": "probe", "model": "p1"}),
        # hooks
        Probe("hook list (3 hooks)", "GET", "/api/users/me/hooks"),
        Probe("hook", "GET", f"/api/users/me/hooks/{f['hook_id']}"),
        Probe("deliveries limit=1", "GET", f"/api/users/me/hooks/{f['hook_id']}/deliveries", {"limit": "1"}),
        Probe("deliveries limit=20", "GET", f"/api/users/me/hooks/{f['hook_id']}/deliveries", {"limit": "20"}),
        # camios and downloads
        Probe("camio list", "GET", "/api/users/me/camios"),
        Probe("camio by view token", "GET", f"/api/users/me/camios/{vt}"),
        Probe("camio by short token", "GET", f"/api/users/me/camios/{f['bench_short_token']}"),
        Probe("download status", "GET", f"/api/camios/{own_vt}/downloads/{f['download_id']}"),
        # content
        Probe("content bytes", "GET", f"/api/users/me/cameras/cam3/content/{f['content_id']}"),
        Probe(
            "content resized",
            "GET",
            f"/api/users/me/cameras/cam3/content/{f['content_id']}",
            {"w": "320", "h": "240"},
        ),
        Probe("live image json", "GET", "/api/content/live/cam3"),
        Probe("live image jpeg", "GET", "/api/content/live/cam3", {"output": "jpeg"}),
        Probe("live image w=320", "GET", "/api/content/live/cam3", {"w": "320", "h": "240"}),
        Probe("live image by view token", "GET", "/api/content/live/cam3", {"view_tokens": own_vt}, anonymous=True),
        Probe(
            "content by access token",
            "GET",
            f"/api/content/{f['pairs'][0]['id']}",
            {"access_token": f["pairs"][0]["access_token"]},
            anonymous=True,
        ),
        Probe("content POST 1 item", "POST", "/api/content", body=f["pairs"][:1], anonymous=True),
        Probe("content POST 10 items", "POST", "/api/content", body=f["pairs"][:10], anonymous=True),
        Probe("content POST 100 items", "POST", "/api/content", body=f["pairs"][:100], anonymous=True),
        Probe(
            "content POST 100 resize",
            "POST",
            "/api/content",
            {"resize": "true"},
            body=f["pairs"][:100],
            anonymous=True,
        ),
        # search: events
        Probe("search", "GET", s),
        Probe("search n=10", "GET", s, {"num_results": "10"}),
        Probe("search n=100", "GET", s, {"num_results": "100"}),
        Probe("search sort=asc", "GET", s, {"sort": "asc", "num_results": "100"}),
        Probe("search motion all", "GET", s, {"motion_type": "all", "num_results": "100"}),
        Probe("search motion lmo", "GET", s, {"motion_type": "lmo", "num_results": "100"}),
        Probe("search sources=cam3", "GET", s, {"sources": "cam3"}),
        Probe("search sources=3 cams", "GET", s, {"sources": "cam1,cam2,cam3", "num_results": "100"}),
        Probe("search labels=people", "GET", s, {"labels": "people"}),
        Probe("search labels=3 (rare)", "GET", s, {"labels": "people,car,dog"}),
        Probe("search labels blue", "GET", s, {"labels": "blue"}),
        Probe("search content_type=video", "GET", s, {"content_type": "video"}),
        Probe("search date= (page 2)", "GET", s, {"date": mid}),
        Probe("search date= oldest, desc", "GET", s, {"date": old, "num_results": "100"}),
        Probe("search date= asc", "GET", s, {"date": mid, "sort": "asc"}),
        Probe("search event_as_date", "GET", s, {"event_as_date": f["mid_event"]}),
        Probe("search similarity (event=)", "GET", s, {"event": f["mid_event"]}),
        Probe("search similarity labels", "GET", s, {"event": f["mid_event"], "labels": "people"}),
        Probe("search motion boxes", "GET", s, {"fetch_motion_boxes": "true", "num_results": "100"}),
        Probe("search access tokens", "GET", s, {"fetch_access_tokens": "true", "num_results": "100"}),
        Probe("search cover thumbs", "GET", s, {"fetch_cover_thumbnails": "true"}),
        Probe("search all thumbs n=10", "GET", s, {"fetch_all_thumbnails": "true", "num_results": "10"}),
        Probe("search all thumbs n=100", "GET", s, {"fetch_all_thumbnails": "true", "num_results": "100"}),
        # search: text
        Probe("text cam3 people", "GET", s, {"text": "cam3 people"}),
        Probe("text window", "GET", s, {"text": "2026-11-10 9am to 5pm"}),
        Probe("text yesterday (empty)", "GET", s, {"text": "people yesterday"}),
        Probe("text last month", "GET", s, {"text": "people last month", "num_results": "100"}),
        Probe("text not people", "GET", s, {"text": "not people", "num_results": "100"}),
        Probe("text cam not car approaching", "GET", s, {"text": "cam3 not car approaching"}),
        Probe("text reference example", "GET", s, {"text": "front gate people approaching yesterday 7pm to 9pm"}),
        Probe("text colour and zone", "GET", s, {"text": f"red car {PROBE_NAME}"}),
        Probe("text not cam", "GET", s, {"text": "not cam3 people", "num_results": "100"}),
        # search: timelines
        Probe("search hours", "GET", s, {"object_type": "hours"}),
        Probe("search hours n=10", "GET", s, {"object_type": "hours", "num_results": "10"}),
        Probe("search hours n=100", "GET", s, {"object_type": "hours", "num_results": "100"}),
        Probe("search hours asc", "GET", s, {"object_type": "hours", "sort": "asc"}),
        Probe("search hours sources", "GET", s, {"object_type": "hours", "sources": "cam3"}),
        Probe("search hours labels", "GET", s, {"object_type": "hours", "labels": "people"}),
        Probe("search hours motion all", "GET", s, {"object_type": "hours", "motion_type": "all"}),
        Probe("search hours date=", "GET", s, {"object_type": "hours", "date": mid}),
        Probe("search hours text window", "GET", s, {"object_type": "hours", "text": "2026-11-10 9am to 5pm"}),
        Probe("search hours not label", "GET", s, {"object_type": "hours", "text": "not people"}),
        Probe("search seconds", "GET", s, {"object_type": "seconds"}),
        Probe("search seconds n=100", "GET", s, {"object_type": "seconds", "num_results": "100"}),
        Probe("search seconds asc", "GET", s, {"object_type": "seconds", "sort": "asc"}),
        Probe("search seconds video (none)", "GET", s, {"object_type": "seconds", "content_type": "video"}),
        # search: Camios
        Probe("search camios", "GET", s, {"object_type": "camios"}),
        Probe("search camios text", "GET", s, {"object_type": "camios", "text": "bench"}),
        # search: view tokens (anonymous)
        Probe("search view token", "GET", s, {"view_tokens": vt}, anonymous=True),
        Probe("search view token n=10", "GET", s, {"view_tokens": vt, "num_results": "10"}, anonymous=True),
        Probe("search view token n=100", "GET", s, {"view_tokens": vt, "num_results": "100"}, anonymous=True),
        Probe("search view token asc", "GET", s, {"view_tokens": vt, "sort": "asc"}, anonymous=True),
        Probe("search view token text", "GET", s, {"view_tokens": vt, "text": "cam1 approaching"}, anonymous=True),
        Probe("search view token hours", "GET", s, {"view_tokens": vt, "object_type": "hours"}, anonymous=True),
        Probe(
            "search view token event_as_date",
            "GET",
            s,
            {"view_tokens": vt, "event_as_date": f["camio_event"]},
            anonymous=True,
        ),
        Probe("search view token similarity", "GET", s, {"view_tokens": vt, "event": f["camio_event"]}, anonymous=True),
        Probe("search view token camios", "GET", s, {"view_tokens": vt, "object_type": "camios"}, anonymous=True),
        Probe("search 2 view tokens", "GET", s, {"view_tokens": f"{vt},{own_vt}"}, anonymous=True),
        Probe("search cut Camio (dates)", "GET", s, {"view_tokens": cut_vt, "num_results": "100"}, anonymous=True),
        Probe(
            "search cut Camio not label",
            "GET",
            s,
            {"view_tokens": cut_vt, "text": "not car", "num_results": "100"},
            anonymous=True,
        ),
        Probe("search cut Camio hours", "GET", s, {"view_tokens": cut_vt, "object_type": "hours"}, anonymous=True),
        # the rest of the site a client may GET
        Probe("viewer page", "GET", "/", {"v": vt, "key": f["api_key"]}, anonymous=True),
        Probe("healthz", "GET", "/healthz", anonymous=True),
        Probe("readyz", "GET", "/readyz", anonymous=True),
        Probe("schema", "GET", "/api/schema/", anonymous=True, quiet=True),
        Probe("docs", "GET", "/api/docs/", anonymous=True, quiet=True),
    ]
    return probes


def _delete_probes(f: dict) -> list[Probe]:
    """Deletes of what the creates made (the first hook, holding the deliveries, is left to cleanup)."""
    camios = [f"/api/users/me/camios/{t}" for t in f["created_camios"]]
    hooks = [f"/api/users/me/hooks/{h}" for h in f["created_hooks"][1:]]
    probes = [Probe("zone delete", "DELETE", f"/api/users/me/cameras/cam3/zones/{PROBE_NAME}", rounds=1)]
    if camios:
        probes.append(Probe("camio delete", "DELETE", camios[0], paths=camios))
    if hooks:
        probes.append(Probe("hook delete", "DELETE", hooks[0], paths=hooks))
    return probes


def _fixtures(user, fx: Fixtures, signed, anonymous) -> dict:
    """The ids and tokens the probes name, read from (or made for) the bench account."""
    from oauth2_provider.models import Application

    from accounts.models import AccountSettings
    from accounts.selectors import account_settings_get
    from accounts.services import DEV_TOKEN_APPLICATION
    from search.models import Camio, Download, Event, EventLabel, ViewerKeyUsage
    from uploads.models import Content

    f: dict = {}
    events = list(Event.objects.filter(owner=user).order_by("-earliest_date").values_list("public_id", "earliest_date"))
    f["event_ids"] = [pid for pid, _ in events]
    f["mid_event"] = events[len(events) // 2][0]
    f["mid_date"] = events[len(events) // 2][1].isoformat()
    f["old_date"] = events[-5][1].isoformat()
    bench_camio = Camio.objects.filter(owner=user, name="bench").order_by("pk").first()
    if bench_camio is None:
        raise SystemExit("the bench account has no Camio 'bench': load the database with bench.search_bench")
    f["bench_view_token"], f["bench_short_token"] = bench_camio.view_token, bench_camio.short_token
    # An event of the bench Camio's slice (cam1, people), some way down its pages.
    shared = EventLabel.objects.filter(owner=user, label="people", event__camera__name="cam1")
    shared = shared.order_by("-event__earliest_date").values_list("event__public_id", flat=True)
    f["camio_event"] = list(shared[:21])[-1]
    f["content_id"] = (
        Content.objects.filter(owner=user, camera__name="cam3", kind="image")
        .order_by("-captured_at")
        .values_list("public_id", flat=True)
        .first()
    )
    fx.settings_existed = AccountSettings.objects.filter(user=user).exists()
    f["upload_token"] = account_settings_get(user=user).upload_token
    app = Application.objects.filter(name=DEV_TOKEN_APPLICATION, user=None).order_by("pk").first()
    f["api_key"] = fx.api_key = app.client_id if app else "none"
    fx.usage_pks = set(ViewerKeyUsage.objects.filter(client_id=fx.api_key).values_list("pk", flat=True))
    live = Camio.objects.create(
        owner=user,
        name=f"{PROBE_NAME} live",
        query={"cameras": ["cam3"], "labels": [], "events": [], "start_date": "2026-11-01T00:00:00.000+0000"},
    )
    cut = Camio.objects.create(
        owner=user,
        name=f"{PROBE_NAME} cut",
        query={
            "cameras": [],
            "labels": ["people"],
            "events": [],
            "start_date": "2026-11-05T00:00:00.000+0000",
            "end_date": "2026-11-15T00:00:00.000+0000",
        },
    )
    fx.camio_pks |= {live.pk, cut.pk}
    f["live_view_token"], f["cut_view_token"] = live.view_token, cut.view_token
    download = Download.objects.create(camio=live, requester=user)
    fx.download_pks.append(download.pk)
    f["download_id"] = download.public_id
    # Per-item access tokens, as the viewer gets them: a view-token search's items.
    answer = anonymous.get(
        "/api/search", {"view_tokens": f["bench_view_token"], "num_results": "100", "fetch_access_tokens": "true"}
    ).json()
    f["pairs"] = [
        {"id": image["id"], "access_token": image["access_token"]}
        for bucket in answer["result"]["buckets"]
        for image in bucket["images"]
    ][:100]
    if len(f["pairs"]) < 100:
        raise SystemExit(f"the bench Camio's search gave {len(f['pairs'])} items, not 100")
    return f


def _deliveries(hook_id: int, event_pks: list[int]) -> None:
    """Twenty finished deliveries of the (paused) hook, two attempts each: deliveries' N+1 check."""
    from hooks.models import Delivery, DeliveryAttempt

    now = datetime.now(UTC)
    for i, event_pk in enumerate(event_pks[:20]):
        delivery = Delivery.objects.create(
            hook_id=hook_id,
            event_id=event_pk,
            body="{}",
            state=Delivery.State.SUCCEEDED,
            attempt_count=2,
            last_status_code=200,
            completed_at=now,
        )
        for number in (1, 2):
            DeliveryAttempt.objects.create(
                delivery=delivery,
                number=number,
                started_at=now - timedelta(minutes=i, seconds=10 * (2 - number)),
                url=CALLBACK,
                status_code=500 if number == 1 else 200,
                succeeded=number == 2,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each flagged endpoint's slowest query")
    parser.add_argument("--only", default="", help="measure only endpoints whose name contains this")
    args = parser.parse_args(argv)

    data_dir = Path(tempfile.mkdtemp(prefix="camhub-api-probe-"))
    _configure(args.database, data_dir)
    import django

    django.setup()
    logging.getLogger("camhub.request").setLevel(logging.WARNING)  # a line per request: the table says it
    from django.contrib.auth import get_user_model
    from django.db import connection
    from oauth2_provider.models import AccessToken
    from rest_framework.test import APIClient

    from accounts.services import dev_token_create
    from bench import harness
    from hooks.models import Hook
    from search.models import Event

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'uploads_content'")
        items = cursor.fetchone()[0]
    if items < 100_000:
        raise SystemExit(f"{args.database} holds about {items} items: load it with bench.search_bench first")
    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None:
        raise SystemExit(f"{args.database} has no user {USERNAME!r}: load it with bench.search_bench first")

    fx = Fixtures(user)
    try:
        raw = dev_token_create(user=user)
        checksum = hashlib.sha256(raw.encode()).hexdigest()
        fx.token_pks += AccessToken.objects.filter(user=user, token_checksum=checksum).values_list("pk", flat=True)
        signed, anonymous = APIClient(), APIClient()
        signed.credentials(HTTP_AUTHORIZATION=f"token {raw}")
        clients = {"signed": signed, "anonymous": anonymous}
        signed.get("/api/users/me/cameras")  # warm: URL resolver, DRF, the token cache
        staged = _stage_media(data_dir / "media", user.pk)

        info = harness.machine()
        print(f"camhub API at scale, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, about {items:,} items")
        print(f"machine: nproc={info['nproc']}, {info['cpu']}, Python {info['python']}, load {info['loadavg']}")
        print(f"command: python bench/api_scale_probe.py {' '.join(sys.argv[1:])}")
        print(f"account {USERNAME!r} (id {user.pk}); {staged:,} media files staged under {data_dir}")
        print(
            f"flag (!): best over {SLOW_MS:.0f} ms or over {MANY_QUERIES} queries; (~): only the first round over"
            f" {SLOW_MS:.0f} ms; ms = best of {args.rounds} (locmem keeps 300 renditions: more are never cached)"
        )
        print()
        print(f"  {'endpoint':<44} {'code':>4} {'best ms':>8} {'1st ms':>8} {'q':>4} {'SQL ms':>8} {'slow ms':>8}")
        print("      slowest query")

        results: dict[str, Result] = {}

        def run(probes: list[Probe], *, force: bool = False) -> None:
            for probe in probes:
                if args.only and args.only not in probe.name and not force:
                    continue
                result = _measure(clients, probe, args.rounds)
                results[probe.name] = result
                _print_result(result)

        run(_probes_before({}))
        # Writes: each round of the creates makes its own row.
        f = _fixtures(user, fx, signed, anonymous)
        writes = _write_probes(f)
        created_camios: list[str] = []
        created_hooks: list[str] = []
        for probe in writes:
            if args.only and args.only not in probe.name and "create" not in probe.name:
                continue
            result = _measure(clients, probe, args.rounds)
            results[probe.name] = result
            _print_result(result)
        # The rows the creates made (the answers of the best rounds name only one of each).
        from search.models import Camio

        for camio in Camio.objects.filter(owner=user, name__startswith=f"{PROBE_NAME}").exclude(pk__in=fx.camio_pks):
            fx.camio_pks.add(camio.pk)
            created_camios.append(camio.view_token)
        for hook in Hook.objects.filter(owner=user, callback_url=CALLBACK).order_by("pk"):
            fx.hook_pks.add(hook.pk)
            created_hooks.append(str(hook.pk))
        if not created_hooks:
            raise SystemExit("no hook was created: see the hook create line")
        f["hook_id"] = created_hooks[0]
        f["created_camios"], f["created_hooks"] = created_camios, created_hooks
        event_pks = list(Event.objects.filter(owner=user).order_by("-earliest_date").values_list("pk", flat=True)[:20])
        _deliveries(int(f["hook_id"]), event_pks)

        run(_read_probes(f))
        run(_delete_probes(f))

        grew = []
        print()
        print("N+1: the same call on fewer and more rows (query counts)")
        for small, large in PAIRS:
            if small in results and large in results:
                a, b = results[small], results[large]
                verdict = "grows" if b.queries > a.queries else "constant"
                if b.queries > a.queries:
                    grew.append(large)
                print(f"  {small:<28} {a.queries:>3}  vs  {large:<28} {b.queries:>3}  {verdict}")
        flagged = [r for r in results.values() if r.flagged]
        print()
        print(f"flagged: {len(flagged)} of {len(results)} endpoints; query counts growing with rows: {grew or 'none'}")
        for result in sorted(flagged, key=lambda r: -r.best_ms):
            print(f"  {result.probe.method} {result.probe.name}: {result.best_ms:.1f} ms, {result.queries} queries")
        for result in sorted((r for r in results.values() if r.cold_only), key=lambda r: -r.first_ms):
            print(f"  ~ {result.probe.method} {result.probe.name}: first round {result.first_ms:.1f} ms")
        if args.explain:
            print()
            for result in sorted(flagged, key=lambda r: -r.slowest_ms):
                _explain(result)
    finally:
        fx.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
