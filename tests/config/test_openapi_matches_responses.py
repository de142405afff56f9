"""The OpenAPI document says what the API really answers: every documented JSON operation a test can
reach is called for real (real rows, real uploads, real analysis) and each answer is validated
against the operation's documented schema for its status code.

The schema's objects are made strict here (``additionalProperties: false``): a member the views send
and the schema does not name fails, as does a documented ``required`` member they leave out, a wrong
type, a value outside a documented enum, or a null where none is documented. Each case names its
operation (``search:seconds`` is the operation ``search``); a new JSON operation must get a case or a
reason in ``NOT_CALLED``.

Also checked: every operation under ``/api/users/:token/`` refused three ways (no credentials, a
token other than ``me``, a ``user=`` the caller is no guest of) answers a documented error; every
documented member is sent by some answer (an optional member the code never sends is drift too);
timestamps are written as the reference writes them; and a hook's callback body matches the
callback documented on ``hooks_create``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import Guest
from accounts.selectors import account_settings_get
from accounts.services import notification_send, oauth_application_create
from cameras.models import Camera, StatusTransition
from hooks.models import Delivery
from hooks.services import hooks_fire_for_event
from search.analysis import content_analyze
from search.models import Event
from tests.cameras.conftest import MAC, PUBLIC_IP
from tests.cameras.conftest import Camera as IPCamera
from tests.factories import make_token, make_user
from tests.search.conftest import scene_jpeg
from tests.uploads.samples import mp4_bytes
from uploads.models import Content

pytestmark = pytest.mark.django_db

JSON, JPEG = "application/json", "image/jpeg"
RED = (0.40, 0.35, 0.12, 0.30, "red")
BLUE = (0.15, 0.30, 0.10, 0.35, "blue")
ZONE = {"polygons": [{"points": [{"x": 0.3, "y": 0.2}, {"x": 0.7, "y": 0.2}, {"x": 0.7, "y": 0.9}]}]}

# Operations whose answers no case here checks, and why.
NOT_CALLED = {
    "oauth_authorize": "answers an HTML page or a redirect, no JSON",
}


# (schema, member) pairs the answers checked so far held, and the cases that ran (in this process).
SEEN: set[tuple[str, str]] = set()
RAN: set[str] = set()

# Documented members no case here makes the API send, and why.
NEVER_SENT_HERE = {
    # search.serializers._event_bucket: annotations are Camio's side-by-side (sxs) tags, which this
    # service does not keep: always [] (the reference's shape, documented as "always empty here").
    ("Annotation", "object_id"),
    ("Annotation", "type"),
}

# Timestamps: "YYYY-MM-DDTHH:MM:SS-0000", as the reference writes them (with milliseconds).
CAMIO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}-0000")
DATE_MEMBER = re.compile(r"^(?!event_as_date$).*((^|_)(date|considered|until|expires_at|last_seen)(_|$))")

# --- the schema, as JSON Schema ------------------------------------------------------------------

_ANNOTATIONS = ("description", "example", "examples", "readOnly", "writeOnly", "deprecated", "externalDocs", "xml")


def json_schema(node):
    """An OpenAPI 3.0 schema as JSON Schema (draft 4), its objects strict: ``nullable`` becomes a
    null alternative, and an object with ``properties`` admits no other member."""
    if isinstance(node, list):
        return [json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: v for k, v in node.items() if k not in _ANNOTATIONS}
    nullable = node.pop("nullable", False)
    if "properties" in node:
        node["properties"] = {name: json_schema(sub) for name, sub in node["properties"].items()}
        node.setdefault("additionalProperties", False)
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = json_schema(node["additionalProperties"])
    for key in ("items", "not"):
        if key in node:
            node[key] = json_schema(node[key])
    for key in ("allOf", "oneOf", "anyOf"):
        if key in node:
            node[key] = json_schema(node[key])
    if nullable:
        if "type" in node and not {"$ref", "allOf", "oneOf", "anyOf"} & set(node):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    responses: dict

    def matches(self, method: str, path: str) -> bool:
        pattern = re.sub(r"\\{(\w+)\\}", "[^/]+", re.escape(self.path)) + "/?"
        return method.lower() == self.method and re.fullmatch(pattern, path) is not None


class Schema:
    def __init__(self, document: dict):
        self.document = document
        self.components = {
            "schemas": {name: json_schema(sub) for name, sub in document["components"]["schemas"].items()}
        }
        self.operations = {
            operation["operationId"]: Operation(operation["operationId"], method, path, operation["responses"])
            for path, operations in document["paths"].items()
            for method, operation in operations.items()
        }

    def json_operations(self) -> set[str]:
        """Operations with a JSON answer documented for some status code."""
        return {
            op.id for op in self.operations.values() if any(JSON in r.get("content", {}) for r in op.responses.values())
        }

    def check(self, operation_id: str, response) -> None:
        """``response`` (a Django test response) is one the operation documents, body and all."""
        op = self.operations[operation_id]
        sent = response.request
        where = f"{operation_id}: {sent['REQUEST_METHOD']} {sent['PATH_INFO']} -> {response.status_code}"
        assert op.matches(sent["REQUEST_METHOD"], sent["PATH_INFO"]), f"{where}: not this operation's route"
        documented = op.responses.get(str(response.status_code))
        assert documented is not None, f"{where}: status not documented ({sorted(op.responses)})"
        content = documented.get("content", {})
        if response.status_code in (204, 304):
            assert not content, f"{where}: documented with a body"
            assert response.content == b"", f"{where}: a body was sent"
            return
        media_type = response["Content-Type"].split(";")[0].strip()
        assert media_type in content, f"{where}: {media_type} not documented ({sorted(content)})"
        if media_type != JSON:
            return
        schema = content[JSON].get("schema")
        assert schema is not None, f"{where}: no schema documented"
        validator = jsonschema.Draft4Validator({"components": self.components, "allOf": [json_schema(schema)]})
        problems = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.absolute_path))
        detail = "\n".join(f"  at {e.json_path}: {e.message[:300]}" for e in _leaves(problems))
        assert not problems, f"{where}: the answer does not match the documented schema:\n{detail}"
        dates: list[str] = []
        self._members(json_schema(schema), response.json(), operation_id, SEEN, dates)
        assert not dates, (
            f"{where}: timestamps not as the reference writes them (2014-02-21T04:12:38.911-0000): {dates}"
        )

    def _resolve(self, node: dict, owner: str) -> tuple[dict, str]:
        while "$ref" in node:
            owner = node["$ref"].rsplit("/", 1)[1]
            node = self.components["schemas"][owner]
        return node, owner

    def _valid(self, node: dict, value) -> bool:
        return jsonschema.Draft4Validator({"components": self.components, "allOf": [node]}).is_valid(value)

    def _members(self, node: dict, value, owner: str, seen: set, dates: list) -> None:
        """Record ``(schema, member)`` for each documented member ``value`` holds, and in ``dates``
        the timestamps (by member name) not in the reference's form."""
        node, owner = self._resolve(node, owner)
        for sub in node.get("allOf", []):
            self._members(sub, value, owner, seen, dates)
        for sub in node.get("anyOf", []) + node.get("oneOf", []):
            if self._valid(sub, value):
                self._members(sub, value, owner, seen, dates)
        if isinstance(value, dict):
            for name, member in value.items():
                if name in node.get("properties", {}):
                    seen.add((owner, name))
                    if DATE_MEMBER.search(name) and isinstance(member, str) and not CAMIO_DATE.fullmatch(member):
                        dates.append(f"{owner}.{name}={member!r}")
                    self._members(node["properties"][name], member, f"{owner}.{name}", seen, dates)
        elif isinstance(value, list) and "items" in node:
            for item in value:
                self._members(node["items"], item, owner, seen, dates)

    def documented_members(self, node: dict, owner: str, out: set, visiting: frozenset = frozenset()) -> set:
        """Every ``(schema, member)`` an answer of schema ``node`` may hold."""
        node, owner = self._resolve(node, owner)
        if owner in visiting:
            return out
        visiting |= {owner}
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key, []):
                self.documented_members(sub, owner, out, visiting)
        for name, sub in node.get("properties", {}).items():
            out.add((owner, name))
            self.documented_members(sub, f"{owner}.{name}", out, visiting)
        if "items" in node:
            self.documented_members(node["items"], owner, out, visiting)
        return out


def _leaves(errors):
    """The most specific errors (an anyOf's failure is its alternatives' failures)."""
    for error in errors:
        if error.context:
            yield from _leaves(error.context)
        else:
            yield error


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(SchemaGenerator().get_schema(request=None, public=True))


# --- the data: an account with cameras, content, events, Camios, hooks ---------------------------


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _name(at) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z.jpg"


class World:
    """The rows a case needs, made on first use: through the API where it can make them."""

    def __init__(self, user, api: APIClient, capture, settings):
        self.user, self.api, self.capture, self.settings = user, api, capture, settings
        self.anon = APIClient()
        self.t0 = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)

    # accounts
    @cached_property
    def upload_token(self) -> str:
        return account_settings_get(user=self.user).upload_token

    @cached_property
    def bob(self):
        return make_user("bob", email="bob@example.com")

    @cached_property
    def bob_api(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"token {make_token(self.bob)}")
        return client

    @cached_property
    def guest_api(self) -> APIClient:
        """Bob, a guest of the user."""
        Guest.objects.create(host=self.user, guest=self.bob)
        return self.bob_api

    # cameras and content
    def upload(self, body: bytes, *, at=None, camera="front", query="camera_id=cam-front", method="POST", **kw):
        name = _name(at) if at is not None else ""
        path = f"/api/users/{self.upload_token}/cameras/{camera}/content/{name}?{query}"
        return self.anon.generic(method, path, body, content_type=kw.pop("content_type", "image/jpeg"), **kw)

    @cached_property
    def camera(self) -> Camera:
        """front: its empty scene uploaded (so its resolution is known), and the zone door."""
        first = self.upload(scene_jpeg(), at=self.t0)
        assert first.status_code == 201, first.content
        self.zone_answer = self.api.post("/api/users/me/cameras/front/zones/door", ZONE, format="json")
        assert self.zone_answer.status_code == 201, self.zone_answer.content
        return Camera.objects.get(owner=self.user, name="front")

    @cached_property
    def event(self) -> Event:
        """An event of front, as analysis makes it: a red then a blue object in the zone."""
        _ = self.camera
        for i, rects in enumerate(([RED], [RED, BLUE], [BLUE]), start=1):
            answer = self.upload(scene_jpeg(rects), at=self.t0 + timedelta(seconds=i))
            assert answer.status_code == 201, answer.content
        for content in Content.objects.filter(camera=self.camera).order_by("captured_at"):
            content_analyze(content_id=content.pk)
        event = Event.objects.filter(camera=self.camera).order_by("-max_interest_level").first()
        assert event is not None and event.max_interest_level >= 2, "analysis made no important event"
        return event

    @cached_property
    def other_event(self) -> Event:
        """A second event of front, a minute later (a similarity search needs company)."""
        _ = self.event
        at = self.t0 + timedelta(minutes=5)
        for i, rects in enumerate(([], [RED], [RED, BLUE])):
            answer = self.upload(scene_jpeg(rects), at=at + timedelta(seconds=i))
            assert answer.status_code == 201, answer.content
            content_analyze(content_id=Content.objects.get(public_id=answer.json()["id"]).pk)
        return Event.objects.filter(camera=self.camera).exclude(pk=self.event.pk).latest("earliest_date")

    @cached_property
    def content(self) -> Content:
        return self.event.cover

    @cached_property
    def camio(self) -> dict:
        """A live Camio of front (a start, no end): it shares the live image too."""
        _ = self.event
        start = (self.t0 - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000-0000")
        answer = self.api.post(
            "/api/users/me/camios",
            {"name": "Front door", "type": "public", "query": {"cameras": ["front"], "start_date": start}},
            format="json",
        )
        assert answer.status_code == 201, answer.content
        self.camio_answer = answer
        return answer.json()

    @cached_property
    def shared_items(self) -> list[dict]:
        """Images a view-token search handed out, with their access tokens."""
        found = self.anon.get("/api/search", {"view_tokens": self.camio["view_token"], "motion_type": "all"})
        assert found.status_code == 200, found.content
        images = [i for b in found.json()["result"]["buckets"] for i in b["images"]]
        assert images, found.json()
        return [{"id": i["id"], "access_token": i["access_token"]} for i in images]

    # hooks
    @cached_property
    def hook(self) -> dict:
        answer = self.api.post(
            "/api/users/me/hooks",
            {"callback_url": "https://example.com/camio/delivery", "type": "label_hit", "query": "front"},
            format="json",
        )
        assert answer.status_code == 200, answer.content
        self.hook_answer = answer
        return answer.json()

    @cached_property
    def delivery(self) -> Delivery:
        """A delivery that failed once and waits for its retry."""
        row = Delivery.objects.create(
            hook_id=self.hook["id"],
            event=self.event,
            body="{}",
            state=Delivery.State.RETRYING,
            attempt_count=1,
            last_status_code=503,
            last_error="HTTP 503",
            next_attempt_at=timezone.now() + timedelta(minutes=5),
        )
        row.attempts.create(
            number=1, started_at=row.created_at, url="https://example.com", status_code=503, latency_ms=40
        )
        return row


@pytest.fixture
def world(user, api, django_capture_on_commit_callbacks, settings) -> World:
    return World(user, api, django_capture_on_commit_callbacks, settings)


# --- the cases ----------------------------------------------------------------------------------

CASES: dict[str, tuple[str, Callable[[World], list]]] = {}
# Cases where the code, not the schema, departs from the Camio reference (shared/seeds/004_…): the
# schema documents the reference, and the case is xfail(strict=True) with this reason until the code
# is fixed. None known at present.
CODE_DEPARTS_FROM_REFERENCE: dict[str, str] = {}


def case(operation_id: str, variant: str = ""):
    def register(fn):
        CASES[f"{operation_id}:{variant}" if variant else operation_id] = (operation_id, fn)
        return fn

    return register


# accounts


@case("settings_get")
def _(w):
    return [w.api.get("/api/users/me/settings")]


@case("settings_get", "401")
def _(w):
    return [w.anon.get("/api/users/me/settings"), w.api.get("/api/users/someone/settings")]


def _settings_update(method):
    def run(w):
        body = {
            "notifications": {"motion_alerts": {"state": "ON", "method": "PUSH", "options": "mute street"}},
            "recording_enabled": True,
            "upload_token": "ignored",
        }
        return [getattr(w.api, method)("/api/users/me/settings", body, format="json")]

    return run


for _method in ("post", "put", "patch"):
    case(f"settings_update_{_method}")(_settings_update(_method))


@case("settings_update_post", "400")
def _(w):
    return [
        w.api.post("/api/users/me/settings", {"notifications": {"motion_alerts": {"state": "MAYBE"}}}, format="json"),
        w.api.post("/api/users/me/settings", {"favourite_colour": "red"}, format="json"),
        w.api.post("/api/users/me/settings", [1, 2], format="json"),
    ]


@case("upload_token_get")
def _(w):
    return [w.api.get("/api/users/me/tokens/upload")]


@case("upload_token_rotate")
def _(w):
    return [w.api.post("/api/users/me/tokens/upload/rotate")]


@case("upload_token_hint_get")
def _(w):
    return [w.anon.get(f"/api/tokens/{w.upload_token}/hint"), w.anon.get("/api/tokens/nope/hint")]


@case("upload_token_hint_post")
def _(w):
    return [w.anon.post(f"/api/tokens/{w.upload_token}/hint")]


@case("guests_add")
def _(w):
    _ = w.bob
    return [
        w.api.post("/api/users/me/guests", {"email": "bob@example.com"}, format="json"),
        w.api.post("/api/users/me/guests", {"email": "bob@example.com"}, format="json"),
    ]


@case("guests_add", "errors")
def _(w):
    return [
        w.api.post("/api/users/me/guests", {"email": "nobody@example.com"}, format="json"),
        w.api.post("/api/users/me/guests", {"email": "not an address"}, format="json"),
        w.anon.post("/api/users/me/guests", {"email": "bob@example.com"}, format="json"),
    ]


@case("guests_list")
def _(w):
    Guest.objects.create(host=w.user, guest=w.bob)
    return [w.api.get("/api/users/me/guests")]


@case("guests_remove")
def _(w):
    Guest.objects.create(host=w.user, guest=w.bob)
    return [w.api.delete("/api/users/me/guests/bob@example.com"), w.api.delete("/api/users/me/guests/bob@example.com")]


@case("notifications_list")
def _(w):
    w.api.post("/api/users/me/settings", {"notifications": {"camera_diagnostics": {"method": "PUSH"}}}, format="json")
    notification_send(user=w.user, kind="camera_diagnostics", title="front is offline", data={"camera": "front"})
    notification_send(user=w.user, kind="camera_diagnostics", title="front is back", body="Since 10:00")
    return [w.api.get("/api/users/me/notifications"), w.api.get("/api/users/me/notifications?unread=true")]


@case("notifications_list", "400")
def _(w):
    return [w.api.get("/api/users/me/notifications?unread=perhaps")]


@case("notifications_mark_read")
def _(w):
    w.api.post("/api/users/me/settings", {"notifications": {"camera_diagnostics": {"method": "PUSH"}}}, format="json")
    notification_send(user=w.user, kind="camera_diagnostics", title="front is offline")
    listed = w.api.get("/api/users/me/notifications").json()
    return [
        w.api.post(f"/api/users/me/notifications/{listed[0]['id']}/read"),
        w.api.post("/api/users/me/notifications/99999/read"),
    ]


@case("oauth_access_token")
def _(w):
    app, secret = oauth_application_create(name="Partner", redirect_uris=["https://partner.example.com/oauth"])
    browser = Client()
    browser.force_login(w.user)
    page = browser.get("/api/login/oauth/authorize", {"client_id": app.client_id})
    form = page.context["form"]
    consent = {name: form[name].value() or "" for name in form.fields} | {"allow": "Authorize"}
    code = parse_qs(urlsplit(browser.post("/api/login/oauth/authorize", consent)["Location"]).query)["code"][0]
    exchange = {"client_id": app.client_id, "client_secret": secret, "code": code}
    return [
        Client().post("/api/login/oauth/access_token", exchange, HTTP_ACCEPT=JSON),
        Client().post("/api/login/oauth/access_token", exchange, HTTP_ACCEPT=JSON),  # the code is used: 400
    ]


# cameras, zones, devices


@case("cameras_list")
def _(w):
    _ = w.event
    Camera.objects.create(owner=w.user, name="back")  # never uploaded: no resolution
    return [
        w.api.get("/api/users/me/cameras"),
        w.api.get("/api/users/me/cameras?fetch_zones=true"),
        w.guest_api.get("/api/users/me/cameras", {"user": w.user.email, "fetch_zones": "true"}),
    ]


@case("cameras_list", "429")
def _(w):
    w.settings.API_RATE_LIMIT = "2/minute"
    answers = [w.api.get("/api/users/me/cameras/") for _ in range(3)]  # the reference's final slash too
    assert [a.status_code for a in answers] == [200, 200, 429]
    return answers


@case("upload_token_hint_get", "429")
def _(w):
    w.settings.API_RATE_LIMIT = "1/minute"
    answers = [w.anon.get(f"/api/tokens/{w.upload_token}/hint/") for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    return answers


@case("cameras_list", "errors")
def _(w):
    return [
        w.anon.get("/api/users/me/cameras"),
        w.bob_api.get("/api/users/me/cameras", {"user": w.user.email}),  # not a guest: 403
        w.api.get("/api/users/me/cameras?fetch_zones=perhaps"),
        w.api.get("/api/users/nobody/cameras"),
    ]


@case("cameras_get")
def _(w):
    _ = w.camera
    Camera.objects.create(owner=w.user, name="back")
    return [w.api.get("/api/users/me/cameras/front"), w.api.get("/api/users/me/cameras/back")]


@case("cameras_get", "404")
def _(w):
    return [
        w.api.get("/api/users/me/cameras/nowhere"),
        w.bob_api.get(f"/api/users/me/cameras/front?user={w.user.email}"),
    ]


@case("cameras_delete")
def _(w):
    _ = w.camera
    return [w.api.delete("/api/users/me/cameras/front"), w.api.delete("/api/users/me/cameras/front")]


@case("cameras_transitions")
def _(w):
    now = timezone.now()
    StatusTransition.objects.create(
        camera=w.camera,
        is_online=False,
        at=now - timedelta(hours=1),
        last_seen_at=now - timedelta(hours=1, minutes=2),
        alert=StatusTransition.ALERT_SENT,
        alerted_at=now - timedelta(minutes=50),
    )
    StatusTransition.objects.create(camera=w.camera, is_online=True, at=now, last_seen_at=now)
    StatusTransition.objects.create(camera=w.camera, is_online=True, at=now - timedelta(days=1))
    return [w.api.get("/api/users/me/cameras/front/transitions")]


@case("zones_list")
def _(w):
    _ = w.camera
    return [w.api.get("/api/users/me/cameras/front/zones")]


@case("zones_get")
def _(w):
    _ = w.camera
    return [w.api.get("/api/users/me/cameras/front/zones/door"), w.api.get("/api/users/me/cameras/front/zones/no")]


@case("zones_put_post")
def _(w):
    _ = w.camera
    replaced = w.api.post("/api/users/me/cameras/front/zones/door", {"name": "door", **ZONE}, format="json")
    return [w.zone_answer, replaced]


@case("zones_put_post", "errors")
def _(w):
    _ = w.camera
    base = "/api/users/me/cameras/front/zones"
    return [
        w.api.post(f"{base}/door", {"polygons": [{"points": [{"x": 0.1, "y": 0.1}]}]}, format="json"),
        w.api.post(f"{base}/door", {"name": "window", **ZONE}, format="json"),
        w.api.post("/api/users/me/cameras/nowhere/zones/door", ZONE, format="json"),
        w.guest_api.post(f"{base}/door?user={w.user.email}", ZONE, format="json"),
    ]


@case("zones_put_put")
def _(w):
    _ = w.camera
    return [
        w.api.put("/api/users/me/cameras/front/zones/door", ZONE, format="json"),
        w.api.put("/api/users/me/cameras/front/zones/walkway", ZONE, format="json"),
    ]


@case("zones_delete")
def _(w):
    _ = w.camera
    url = "/api/users/me/cameras/front/zones/door"
    return [w.api.delete(url), w.api.delete(url)]


@pytest.fixture
def _ftp_gateway(settings):
    settings.FTP_GATEWAY_PORT, settings.FTP_GATEWAY_HOST = 21, "localhost"


def _ipcam_polls(method):
    def run(w):
        camera = IPCamera()
        first = camera.poll(method=method)
        etag = first["ETag"]
        return [first, camera.poll(method=method, HTTP_IF_NONE_MATCH=etag), IPCamera(maker="").poll(method=method)]

    return run


for _method in ("get", "post", "put"):
    case(f"camera_poll_{_method}")(_ipcam_polls(_method))


@case("camera_poll_get", "claimed")
def _(w):
    camera = IPCamera()
    camera.poll()
    w.api.defaults["REMOTE_ADDR"] = PUBLIC_IP
    assert w.api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "porch"}, format="json").status_code == 201
    return [camera.poll()]


@case("devices_list")
def _(w):
    IPCamera().poll()
    IPCamera("aa:bb:cc:dd:ee:01", maker="Acme", model="X1").poll(local="")
    w.api.defaults["REMOTE_ADDR"] = PUBLIC_IP
    return [w.api.get("/api/users/me/devices")]


@case("devices_claim")
def _(w):
    IPCamera().poll()
    IPCamera("aa:bb:cc:dd:ee:01").poll()
    _ = w.camera  # front exists: the second claim links it
    Camera.objects.filter(pk=w.camera.pk).update(camera_id="")
    w.api.defaults["REMOTE_ADDR"] = PUBLIC_IP
    return [
        w.api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "porch"}, format="json"),
        w.api.post("/api/users/me/devices/aa:bb:cc:dd:ee:01/claim", {"name": "front"}, format="json"),
    ]


@case("devices_claim", "errors")
def _(w):
    IPCamera().poll()
    w.api.defaults["REMOTE_ADDR"] = PUBLIC_IP
    w.api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "porch"}, format="json")
    return [
        w.api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "porch"}, format="json"),  # already: 409
        w.api.post("/api/users/me/devices/aa:bb:cc:dd:ee:99/claim", {"name": "x"}, format="json"),  # 404
        w.api.post(f"/api/users/me/devices/{MAC}/claim", {"name": ""}, format="json"),
    ]


# uploads and content


@case("content_upload_post")
def _(w):
    body = scene_jpeg([RED])
    return [
        w.upload(body, at=w.t0),  # 201, with an Upload Token
        w.upload(body, at=w.t0),  # 200, a repeat
        w.upload(
            mp4_bytes(seconds=1),
            at=w.t0 + timedelta(seconds=9),
            query="camera_id=cam-front&upload_mode=video",
            content_type="video/mp4",
        ),
        w.api.generic(
            "POST",
            f"/api/users/me/cameras/front/content/{_name(w.t0 + timedelta(seconds=3))}?camera_id=cam-front",
            scene_jpeg([BLUE]),
            content_type="image/jpeg",
        ),
    ]


@case("content_upload_post", "alternate")
def _(w):
    at = w.content.captured_at
    answer = w.api.generic(
        "POST",
        f"/api/users/me/cameras/front/content/{_name(at)}?camera_id=cam-front&options=alternate",
        scene_jpeg([RED], width=320, height=180),
        content_type=JPEG,
    )
    assert answer.status_code == 201 and answer.json()["alternate_of"] == w.content.public_id, answer.content
    return [answer]


@case("content_upload_post", "not kept")
def _(w):
    w.api.post("/api/users/me/settings", {"recording_enabled": False}, format="json")
    return [w.upload(scene_jpeg(), at=w.t0)]


@case("content_upload_post", "errors")
def _(w):
    return [
        w.anon.generic("POST", "/api/users/nope/cameras/front/content/x.jpg?camera_id=1", b"x", content_type=JPEG),
        w.upload(b"<html></html>", at=w.t0, content_type="text/html"),
        w.upload(scene_jpeg(), at=w.t0, query=""),  # no camera_id
        w.anon.generic("POST", "/api/users/me/cameras/front/content/a.jpg?camera_id=1", b"x", content_type=JPEG),
    ]


@case("content_upload_put")
def _(w):
    return [w.upload(scene_jpeg(), at=w.t0, method="PUT")]


@case("content_upload_unnamed_post")
def _(w):
    return [w.upload(scene_jpeg([RED], width=320, height=180))]


@case("content_upload_unnamed_put")
def _(w):
    return [w.upload(scene_jpeg([BLUE]), method="PUT")]


@case("content_get")
def _(w):
    url = f"/api/users/me/cameras/front/content/{w.content.public_id}"
    return [
        w.api.get(url),
        w.api.get(url, HTTP_RANGE="bytes=0-99"),
        w.api.get(url, {"w": 100}),
        w.api.get(url, HTTP_IF_NONE_MATCH=w.api.get(url)["ETag"]),
    ]


@case("content_get", "errors")
def _(w):
    url = f"/api/users/me/cameras/front/content/{w.content.public_id}"
    return [
        w.api.get("/api/users/me/cameras/front/content/nothing"),
        w.anon.get(url),
        w.api.get(url, HTTP_RANGE=f"bytes={w.content.size + 10}-"),
        w.api.get(url, {"w": "wide"}),
        w.bob_api.get(url, {"user": w.user.email}),
    ]


# search


def _search(client, **params):
    return client.get("/api/search", params)


@case("search", "events")
def _(w):
    _ = w.event
    return [
        _search(w.api),
        _search(w.api, motion_type="all", sort="asc", num_results=1),
        w.api.get("/api/search/?motion_type=all"),  # the reference's final slash
    ]


@case("search", "fetch flags")
def _(w):
    _ = w.event
    flags = {f"fetch_{f}": "true" for f in ("motion_boxes", "cover_thumbnails", "all_thumbnails", "access_tokens")}
    return [_search(w.api, motion_type="all", **flags), _search(w.api, fetch_cover_thumbnails="true", w=64, h=48)]


@case("search", "text")
def _(w):
    _ = w.event
    return [_search(w.api, text="front door red"), _search(w.api, text="not door yesterday")]


@case("search", "filters")
def _(w):
    _ = w.event
    return [
        _search(w.api, sources="front", labels="door", motion_type="smo"),
        _search(w.api, event_as_date=w.event.public_id),
        _search(w.api, date=w.t0.strftime("%Y-%m-%dT%H:%M:%S.000-0000"), sort="asc"),
        _search(w.api, content_type="video"),
    ]


@case("search", "similar")
def _(w):
    _ = w.other_event
    return [_search(w.api, event=w.event.public_id, motion_type="all")]


@case("search", "seconds")
def _(w):
    _ = w.event
    return [_search(w.api, object_type="seconds", motion_type="all"), _search(w.api, object_type="seconds", w=150)]


@case("search", "hours")
def _(w):
    _ = w.event
    return [_search(w.api, object_type="hours", motion_type="all", sort="asc")]


@case("search", "camios")
def _(w):
    _ = w.camio
    return [_search(w.api, object_type="camios")]


@case("search", "view_tokens")
def _(w):
    _ = w.camio
    return [_search(w.anon, view_tokens=w.camio["view_token"], motion_type="all", fetch_motion_boxes="true")]


@case("search", "camios by view token")
def _(w):
    _ = w.camio
    short = w.camio["short_token"]
    return [
        _search(w.anon, object_type="camios", view_tokens=w.camio["view_token"]),
        _search(w.anon, object_type="camios", view_tokens=short),
    ]


@case("search", "guest")
def _(w):
    _ = w.event
    return [_search(w.guest_api, user=w.user.email, motion_type="all")]


@case("search", "errors")
def _(w):
    _ = w.event
    return [
        _search(w.api, object_type="hours", fetch_all_thumbnails="true"),  # 400
        _search(w.api, num_results=500),  # 400
        _search(w.anon),  # 401
        _search(w.bob_api, user=w.user.email),  # 403
        _search(w.anon, view_tokens="not-a-token"),  # 403
        _search(w.api, event="nosuchevent"),  # 404
    ]


# camios


@case("camios_create")
def _(w):
    _ = w.event
    return [
        w.camio_answer if w.camio else None,
        w.api.post("/api/users/me/camios", {"query": {}, "expiry": 3600, "type": "private"}, format="json"),
        w.api.post("/api/users/me/camios", {"query": {"events": [w.event.public_id]}}, format="json"),
    ]


@case("camios_create", "400")
def _(w):
    return [
        w.api.post("/api/users/me/camios", {"name": "no query"}, format="json"),
        w.api.post("/api/users/me/camios", {"query": {"colour": "red"}}, format="json"),
        w.api.post("/api/users/me/camios", {"query": {}, "expiry": 5}, format="json"),
    ]


@case("camios_list")
def _(w):
    _ = w.camio
    return [w.api.get("/api/users/me/camios")]


@case("camios_get")
def _(w):
    return [w.api.get(f"/api/users/me/camios/{w.camio['view_token']}"), w.api.get("/api/users/me/camios/nope")]


@case("camios_delete")
def _(w):
    token = w.camio["short_token"]
    return [w.api.delete(f"/api/users/me/camios/{token}"), w.api.delete(f"/api/users/me/camios/{token}")]


@case("content_by_access_token")
def _(w):
    items = w.shared_items
    return [
        w.anon.post("/api/content", items, format="json"),
        w.anon.post("/api/content?resize=true&w=64&h=48&quality=60", items[:1], format="json"),
        w.anon.post("/api/content", [{"id": items[0]["id"], "access_token": "forged"}], format="json"),
    ]


@case("content_by_access_token", "400")
def _(w):
    return [
        w.anon.post("/api/content", {"id": "x"}, format="json"),
        w.anon.post("/api/content", [{"id": "x"}], format="json"),
    ]


@case("content_media")
def _(w):
    item = w.shared_items[0]
    url = f"/api/content/{item['id']}?access_token={item['access_token']}"
    return [w.anon.get(url), w.anon.get(url, HTTP_RANGE="bytes=10-20"), w.anon.get(f"/api/content/{item['id']}")]


@case("content_live")
def _(w):
    token = w.camio["view_token"]
    return [
        w.api.get("/api/content/live/front/"),  # the reference's final slash
        w.api.get("/api/content/live/front", {"output": "jpeg", "w": 320, "h": 180}),
        w.anon.get("/api/content/live/front", {"view_tokens": token, "w": 64}),
        w.guest_api.get("/api/content/live/front", {"user": w.user.email}),
    ]


@case("content_live", "errors")
def _(w):
    _ = w.camera
    Camera.objects.create(owner=w.user, name="back")
    return [
        w.anon.get("/api/content/live/front"),  # 401
        w.api.get("/api/content/live/back"),  # 404: no image yet
        w.api.get("/api/content/live/front", {"output": "gif"}),  # 400
        w.bob_api.get("/api/content/live/front", {"user": w.user.email}),  # 403
    ]


@case("camio_download_create")
def _(w):
    token = w.camio["view_token"]
    pending = w.api.post(f"/api/camios/{token}/downloads")
    again = w.api.post(f"/api/camios/{token}/downloads")
    return [pending, again]


@case("camio_download_create", "errors")
def _(w):
    return [w.anon.post(f"/api/camios/{w.camio['view_token']}/downloads"), w.api.post("/api/camios/nope/downloads")]


@case("camio_download_get")
def _(w):
    token = w.camio["view_token"]
    with w.capture(execute=True):
        created = w.api.post(f"/api/camios/{token}/downloads")
    url = created["Location"]
    return [
        w.api.get(url),
        w.anon.get(url),
        w.api.get(f"/api/camios/{token}/downloads/nope"),
    ]


# hooks


@case("hooks_create")
def _(w):
    named = w.api.post(
        "/api/users/me/hooks",
        {"callback_url": "https://example.com/a", "type": "label_hit", "query": "people", "camera_name": "front"},
        format="json",
    )
    return [w.hook_answer if w.hook else None, named]


@case("hooks_create", "400")
def _(w):
    return [
        w.api.post("/api/users/me/hooks", {"type": "label_hit", "query": "people"}, format="json"),
        w.api.post("/api/users/me/hooks", [], format="json"),
        w.api.post(
            "/api/users/me/hooks",
            {"callback_url": "http://127.0.0.1/x", "type": "label_hit", "query": "people"},
            format="json",
        ),
    ]


@case("hooks_list")
def _(w):
    _ = w.hook
    w.api.post(f"/api/users/me/hooks/{w.hook['id']}/secret/rotate")
    return [w.api.get("/api/users/me/hooks")]


@case("hooks_get")
def _(w):
    return [w.api.get(f"/api/users/me/hooks/{w.hook['id']}"), w.api.get("/api/users/me/hooks/999999")]


@case("hooks_update")
def _(w):
    url = f"/api/users/me/hooks/{w.hook['id']}"
    return [
        w.api.patch(url, {"active": False}, format="json"),
        w.api.patch(url, {"camera_name": "front", "cooldown_seconds": 60, "active": True}, format="json"),
        w.api.patch(url, {}, format="json"),
    ]


@case("hooks_delete")
def _(w):
    url = f"/api/users/me/hooks/{w.hook['id']}"
    return [w.api.delete(url), w.api.delete(url)]


@case("hooks_rotate_secret")
def _(w):
    url = f"/api/users/me/hooks/{w.hook['id']}/secret/rotate"
    return [
        w.api.post(url),
        w.api.post(url, {"keep_previous_seconds": 0}, format="json"),
        w.api.post(url, {"keep_previous_seconds": -1}, format="json"),
    ]


@case("hooks_deliveries_list")
def _(w):
    _ = w.delivery
    Delivery.objects.create(hook_id=w.hook["id"], event=None, body="{}", state=Delivery.State.PENDING)
    url = f"/api/users/me/hooks/{w.hook['id']}/deliveries"
    return [w.api.get(url), w.api.get(url, {"limit": 1}), w.api.get(url, {"limit": 0})]


@case("hooks_delivery_redeliver")
def _(w):
    base = f"/api/users/me/hooks/{w.hook['id']}/deliveries"
    first = w.api.post(f"{base}/{w.delivery.webhook_id}/redeliver")
    w.api.patch(f"/api/users/me/hooks/{w.hook['id']}", {"active": False}, format="json")
    return [first, w.api.post(f"{base}/{w.delivery.webhook_id}/redeliver"), w.api.post(f"{base}/nope/redeliver")]


# --- the tests ----------------------------------------------------------------------------------


def _params():
    for case_id in CASES:
        reason = CODE_DEPARTS_FROM_REFERENCE.get(case_id)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(case_id, id=case_id, marks=marks)


@pytest.mark.usefixtures("_ftp_gateway")
@pytest.mark.parametrize("case_id", list(_params()))
def test_answers_match_the_documented_schema(schema, world, case_id):
    operation_id, run = CASES[case_id]
    responses = [r for r in run(world) if r is not None]
    assert responses
    for response in responses:
        schema.check(operation_id, response)
    RAN.add(case_id)


# Operations outside /api/users/:token/ (open, or authorized otherwise): not probed below.
NOT_UNDER_USERS = {
    "search",
    "camera_poll_get",
    "camera_poll_post",
    "camera_poll_put",
    "content_by_access_token",
    "content_live",
    "content_media",
    "camio_download_create",
    "camio_download_get",
    "upload_token_hint_get",
    "upload_token_hint_post",
    "oauth_access_token",
}
USER_OPERATIONS = sorted({operation_id for operation_id, _ in CASES.values()} - NOT_UNDER_USERS)


@pytest.mark.parametrize("operation_id", USER_OPERATIONS)
def test_refusals_match_the_documented_errors(schema, world, operation_id):
    """Every operation under /api/users/:token/ refused three ways: no credentials, a path token
    that is not ``me``, and ``user=`` naming an account the caller is no guest of. Each refusal is
    a documented status with the documented error body."""
    op = schema.operations[operation_id]
    _ = world.bob
    fill = {
        "camera": "front",
        "zone": "door",
        "name": "x.jpg",
        "hook": "1",
        "delivery": "d",
        "camio": "c",
        "email": "carol@example.com",
        "notification": "1",
        "mac_address": MAC,
    }
    probes = [
        (world.anon, op.path.format(token="me", **fill)),
        (world.api, op.path.format(token="someone", **fill)),
        (world.api, op.path.format(token="me", **fill) + "?user=bob%40example.com"),
    ]
    for client, path in probes:
        response = client.generic(op.method.upper(), path, b"{}", content_type=JSON)
        assert response.status_code >= 400, (path, response.status_code, response.content)
        schema.check(operation_id, response)
    RAN.add(f"{operation_id}:refused")


def test_the_callback_body_matches_its_documented_schema(schema, world):
    """The POST a hook's callback_url receives (``hooks_create``'s ``label_hit`` callback)."""
    created = schema.document["paths"]["/api/users/{token}/hooks"]["post"]
    (callback,) = created["callbacks"]["label_hit"].values()
    documented = callback["post"]["requestBody"]["content"][JSON]["schema"]
    _ = world.hook
    deliveries = hooks_fire_for_event(event=world.event)
    assert deliveries, "the hook did not fire for the event"
    validator = jsonschema.Draft4Validator({"components": schema.components, "allOf": [json_schema(documented)]})
    for delivery in deliveries:
        body = json.loads(delivery.body)
        problems = [f"at {e.json_path}: {e.message}" for e in _leaves(validator.iter_errors(body))]
        assert not problems, problems
        dates = [body["event"]["earliest_date"], body["event"]["latest_date"]]
        assert all(CAMIO_DATE.fullmatch(d) for d in dates), dates


def test_every_json_operation_is_called(schema):
    called = {operation_id for operation_id, _ in CASES.values()}
    assert called <= set(schema.operations), called - set(schema.operations)
    missing = schema.json_operations() - called - set(NOT_CALLED)
    assert not missing, f"JSON operations no case calls: {sorted(missing)}"
    assert not (called & set(NOT_CALLED))
    under_users = {op.id for op in schema.operations.values() if op.path.startswith("/api/users/{token}")}
    assert set(USER_OPERATIONS) == under_users & called


def test_strict_objects_catch_an_undocumented_member(schema):
    """The strictness this file relies on: an extra member, a missing required one, an undocumented null."""
    validator = jsonschema.Draft4Validator(
        {"components": schema.components, "allOf": [{"$ref": "#/components/schemas/Error"}]}
    )
    assert validator.is_valid({"message": "x"})
    assert not validator.is_valid({"message": "x", "detail": "y"})
    assert not validator.is_valid({})
    assert not validator.is_valid({"message": None})
    assert "additionalProperties" not in schema.document["components"]["schemas"]["Error"]  # left as generated


def test_every_documented_member_was_sent(schema):
    """Optional members pass validation by being absent: each must have been seen in some answer
    above, or the schema documents a member the code never sends (runs after the cases)."""
    if not set(CASES) <= RAN:
        pytest.skip("needs every case to have passed in this process")
    documented: set[tuple[str, str]] = set()
    for operation_id in {operation_id for operation_id, _ in CASES.values()}:
        for answer in schema.operations[operation_id].responses.values():
            if JSON in answer.get("content", {}):
                schema.documented_members(json_schema(answer["content"][JSON]["schema"]), operation_id, documented)
    unseen = documented - SEEN - NEVER_SENT_HERE
    assert not unseen, f"documented members no answer held: {sorted(unseen)}"
