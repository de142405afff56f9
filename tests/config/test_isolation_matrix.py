"""Every user's data is theirs alone, route by route and caller by caller.

Two accounts, A (alice) and B (bob), each hold a full set of data; G (gina) is A's guest. Every
route of the URLconf (and each method it accepts) is one line of ``ROUTES``, naming A's objects by
placeholders (``{a_cam}``, ``{a_hook}``, …). Each caller runs every line:

- B with OAuth, against A's ids, names and tokens (and once more with ``user=<A's email>``);
- G with ``user=<A's email>``: reads of A's data succeed where guests may read, writes are refused
  or land in G's own account, never in A's;
- an anonymous client; A's Upload Token sent as an OAuth token (header and ``?access_token=``);
  A's expired and revoked OAuth tokens;
- B with ``users/<token>/`` naming A by Upload Token, user name, id or email.

Every call checks that no value of A's (ids, names, tokens, secrets, e-mails) is in the answer
unless the caller sent it, that A's rows and stored files are unchanged, and (B's calls) that the
answer is the one a twin request naming a non-existent object gets, so it tells nothing of whether
A's object exists. Smaller tables cover view tokens of other Camios, expired or revoked Camios,
per-item access tokens, download links and the OAuth token endpoint.

Adding a route: one line in ``ROUTES`` (``test_matrix_covers_every_route_and_method`` fails until
it is there). Values a route hands out by the reference's design are named in its ``allow``.

The tests at the end pin leaks found by this matrix: the removed guest's item tokens (fixed:
tokens are bound to the viewer and the owner); an Upload Token's alternate upload naming the
owner's item (fixed); a Camio cutting an event paging by the event's own dates (fixed).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q
from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_refresh_token_model,
    set_token_value,
)
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import AccountSettings, Guest, Notification
from accounts.selectors import account_settings_get
from accounts.services import account_settings_update, oauth_application_create
from cameras.models import Camera, Device, StatusTransition, Zone
from hooks.models import Delivery, DeliveryAttempt, Hook, new_message_id
from hooks.services import event_payload
from search.access_tokens import item_access_token
from search.downloads import download_link
from search.models import Camio, Download, Event, EventLabel, ItemAnalysis
from search.models.camios import new_download_id, new_short_token, new_view_token
from search.models.events import new_event_id
from tests.factories import make_token, make_user
from tests.search.test_share_helpers import (
    hours_ago,
    jpeg_bytes,
    make_camera,
    make_camio,
    make_content,
    make_event,
    make_guest,
)
from uploads.models import Content, new_public_id

pytestmark = pytest.mark.django_db

A_IP, B_IP, G_IP = "203.0.113.7", "198.51.100.9", "192.0.2.33"
A_MAC, A_FREE_MAC, GHOST_MAC = "a1a1a1a1a1a1", "a2a2a2a2a2a2", "0f0f0f0f0f0f"
REDIRECT = "https://alpha-partner.example.com/oauth"
POLYGONS = [{"points": [{"x": 0.1, "y": 0.1}, {"x": 0.6, "y": 0.1}, {"x": 0.4, "y": 0.7}]}]
AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
Application, Grant = get_application_model(), get_grant_model()


# --- the world: A's, B's and G's data ----------------------------------------------------------------


@dataclass
class World:
    a: Any
    b: Any
    g: Any
    tokens: dict[str, str]  # caller -> raw OAuth token
    v: dict[str, str]  # placeholder -> A's value (B's where the key says so)
    ghost: dict[str, str]  # placeholder -> a value of the same form that names nothing
    secrets: dict[str, str]  # A's values that must not reach anyone else
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, who: str | None, *, ip: str | None = None, header: str | None = None) -> APIClient:
        client = APIClient(REMOTE_ADDR=ip or {"a": A_IP, "b": B_IP, "g": G_IP}.get(who or "", B_IP))
        raw = header if header is not None else self.tokens.get(who or "")
        if raw:
            client.credentials(HTTP_AUTHORIZATION=f"token {raw}")
        return client


@pytest.fixture(autouse=True)
def _private_media_and_fast_passwords(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _account(user, prefix: str, ip: str, mac: str | None):
    """A camera with a zone, content, an event, a transition; a hook with a failed delivery."""
    front = make_camera(user, f"{prefix}-front")
    back = make_camera(user, f"{prefix}-back")
    if mac:
        Camera.objects.filter(pk=front.pk).update(camera_id=mac, last_seen_at=timezone.now())
        front.refresh_from_db()
        Device.objects.create(
            mac_address=mac,
            maker="Sharx",
            model="SCNC3904",
            ip_address=ip,
            last_seen_at=timezone.now(),
            camera=front,
            claimed_at=timezone.now(),
        )
    Zone.objects.create(camera=front, name=f"{prefix}-zone", polygons=POLYGONS)
    StatusTransition.objects.create(camera=front, is_online=True, at=hours_ago(3), last_seen_at=hours_ago(3))
    items = [make_content(user, front, at=hours_ago(2) + timedelta(seconds=i)) for i in range(2)]
    event = make_event(user, front, items, labels=(f"{prefix}label",))
    back_items = [make_content(user, back, at=hours_ago(2.5))]
    back_event = make_event(user, back, back_items, labels=(f"{prefix}label",))
    hook = Hook.objects.create(
        owner=user, callback_url=f"https://{prefix}-hooks.example.com/cb", query=f"{prefix}-front {prefix}label"
    )
    delivery = Delivery.objects.create(
        hook=hook, event=event, body=event_payload(hook_id=hook.pk, event=event), state=Delivery.State.FAILED
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=timezone.now(),
        url=hook.callback_url,
        status_code=500,
        error=f"{prefix}-attempt-error",
    )
    return front, back, items, event, back_items, back_event, hook, delivery


@pytest.fixture
def w(db) -> World:
    User = get_user_model()
    a = make_user("alice", email="alice@example.com")
    b = make_user("bob", email="bob@example.com")
    g = make_user("gina", email="gina@example.com")
    tokens = {"a": make_token(a), "b": make_token(b), "g": make_token(g)}

    a_front, a_back, a_items, a_event, a_back_items, a_back_event, a_hook, a_delivery = _account(
        a, "alpha", A_IP, A_MAC
    )
    b_front, _, b_items, b_event, _, _, b_hook, b_delivery = _account(b, "bravo", B_IP, None)
    # An unclaimed camera on A's network, waiting for A to claim it.
    Device.objects.create(
        mac_address=A_FREE_MAC, maker="Sharx", model="SCNC3904", ip_address=A_IP, last_seen_at=timezone.now()
    )
    account_settings_update(
        user=a, data={"notifications": {"motion_alerts": {"options": "mute alpha-muted"}}, "recording_enabled": True}
    )
    a_upload = account_settings_get(user=a).upload_token
    account_settings_get(user=b)
    account_settings_get(user=g)
    make_guest(a, g)
    notice = Notification.objects.create(user=a, kind="motion_alerts", title="alpha-notice", body="alpha-notice-body")

    a_public = make_camio(a, cameras=["alpha-front"], start=hours_ago(48), name="alpha-public")
    a_private = make_camio(a, cameras=["alpha-front"], start=hours_ago(48), type="private", name="alpha-private")
    a_back_camio = make_camio(a, cameras=["alpha-back"], start=hours_ago(48), name="alpha-back-camio")
    b_camio = make_camio(b, cameras=["bravo-front"], start=hours_ago(48), name="bravo-camio")
    download = Download.objects.create(camio=a_public, requester=a)
    key = default_storage.save(f"downloads/{a.pk}/{download.public_id}.zip", ContentFile(b"PK-alpha-zip"))
    Download.objects.filter(pk=download.pk).update(
        status=Download.Status.READY, storage_key=key, size=12, finished_at=timezone.now(), items_total=2
    )
    download.refresh_from_db()

    # OAuth: A's partner application, a pending grant, and an access token with its refresh token.
    a_app, a_app_secret = oauth_application_create(name="alpha-app", redirect_uris=[REDIRECT], owner=a)
    b_app, b_app_secret = oauth_application_create(
        name="bravo-app", redirect_uris=["https://bravo-partner.example.com/oauth"], owner=b
    )
    grant = Grant.objects.create(
        user=a,
        application=a_app,
        code="alpha-grant-" + secrets.token_urlsafe(12),
        expires=timezone.now() + timedelta(minutes=10),
        redirect_uri=REDIRECT,
        scope="user",
    )
    a_app_token = "alpha-app-token-" + secrets.token_urlsafe(12)
    at = AccessToken(user=a, application=a_app, expires=timezone.now() + timedelta(hours=1), scope="user")
    set_token_value(at, a_app_token)
    at.save()
    a_refresh = "alpha-refresh-" + secrets.token_urlsafe(12)
    RefreshToken.objects.create(user=a, application=a_app, token=a_refresh, access_token=at)
    # A's dead tokens: one past its expiry, one revoked (deleted).
    expired = "alpha-expired-" + secrets.token_urlsafe(12)
    dead = AccessToken(user=a, application=a_app, expires=timezone.now() - timedelta(minutes=1), scope="user")
    set_token_value(dead, expired)
    dead.save()
    revoked = make_token(a)
    AccessToken.objects.filter(user=a).order_by("-pk").first().delete()

    v = {
        "a_email": a.email,
        "a_username": a.username,
        "a_id": str(a.pk),
        "a_upload": a_upload,
        "a_cam": a_front.name,
        "a_cam_back": a_back.name,
        "a_mac": A_MAC,
        "a_free_mac": A_FREE_MAC,
        "a_zone": "alpha-zone",
        "a_content": a_items[0].public_id,
        "a_back_content": a_back_items[0].public_id,
        "a_event": a_event.public_id,
        "a_back_event": a_back_event.public_id,
        "a_hook": str(a_hook.pk),
        "a_delivery": a_delivery.webhook_id,
        "a_camio": a_public.view_token,
        "a_camio_short": a_public.short_token,
        "a_private": a_private.view_token,
        "a_private_short": a_private.short_token,
        "a_back_camio": a_back_camio.view_token,
        "a_download": download.public_id,
        "a_notification": str(notice.pk),
        "a_guest_email": g.email,
        "a_client_id": a_app.client_id,
        "a_code": grant.code,
        "a_refresh": a_refresh,
        "b_hook": str(b_hook.pk),
        "b_camio": b_camio.view_token,
        "b_cam": b_front.name,
        "host": a.email,
    }
    ghost = dict(v)
    ghost.update(
        a_upload=secrets.token_urlsafe(24),
        a_cam="ghost-front",
        a_cam_back="ghost-back",
        a_mac=GHOST_MAC,
        a_free_mac="0e0e0e0e0e0e",
        a_zone="ghost-zone",
        a_content=new_public_id(),
        a_back_content=new_public_id(),
        a_event=new_event_id(),
        a_back_event=new_event_id(),
        a_hook=str(10**9 + a_hook.pk),
        a_delivery=new_message_id(),
        a_camio=new_view_token(),
        a_camio_short=new_short_token(),
        a_private=new_view_token(),
        a_private_short=new_short_token(),
        a_back_camio=new_view_token(),
        a_download=new_download_id(),
        a_notification=str(10**9 + notice.pk),
        a_guest_email="nobody@example.com",
        a_code="ghost-grant-" + secrets.token_urlsafe(12),
        a_refresh="ghost-refresh-" + secrets.token_urlsafe(12),
    )
    private_values = {
        "a_email": a.email,
        "a_upload": a_upload,
        "a_token": tokens["a"],
        "a_app_token": a_app_token,
        "a_refresh": a_refresh,
        "a_code": grant.code,
        "a_app_secret": a_app_secret,
        "a_app_name": "alpha-app",
        "a_cam": a_front.name,
        "a_cam_back": a_back.name,
        "a_session": a_front.session_id,
        "a_mac": A_MAC,
        "a_free_mac": A_FREE_MAC,
        "a_zone": "alpha-zone",
        "a_muted": "alpha-muted",
        "a_label": "alphalabel",
        "a_hook_url": "alpha-hooks.example.com",
        "a_hook_secret": a_hook.secret,
        "a_delivery": a_delivery.webhook_id,
        "a_attempt_error": "alpha-attempt-error",
        "a_camio": a_public.view_token,
        "a_camio_short": a_public.short_token,
        "a_camio_name": "alpha-public",
        "a_private": a_private.view_token,
        "a_private_short": a_private.short_token,
        "a_private_name": "alpha-private",
        "a_back_camio": a_back_camio.view_token,
        "a_download": download.public_id,
        "a_notification_title": "alpha-notice",
        "a_guest_email": g.email,
    }
    for i, item in enumerate(a_items + a_back_items):
        private_values[f"a_content_{i}"] = item.public_id
    private_values["a_event"] = a_event.public_id
    private_values["a_back_event"] = a_back_event.public_id
    tokens.update(expired=expired, revoked=revoked, a_upload=a_upload)
    world = World(a=a, b=b, g=g, tokens=tokens, v=v, ghost=ghost, secrets=private_values)
    world.extra.update(
        a_public=a_public,
        a_private=a_private,
        a_back_camio=a_back_camio,
        b_camio=b_camio,
        download=download,
        a_items=a_items,
        a_back_items=a_back_items,
        b_items=b_items,
        a_app=a_app,
        a_app_secret=a_app_secret,
        b_app=b_app,
        b_app_secret=b_app_secret,
        b_event=b_event,
        b_delivery=b_delivery,
        a_front=a_front,
    )
    assert User.objects.count() == 3
    return world


def a_state(w: World) -> dict[str, Any]:
    """Every row of A's (and the stored files): compared before and after each attempt."""
    a = w.a
    querysets = {
        "user": get_user_model().objects.filter(pk=a.pk),
        "settings": AccountSettings.objects.filter(user=a),
        "cameras": Camera.objects.filter(owner=a),
        "zones": Zone.objects.filter(camera__owner=a),
        "transitions": StatusTransition.objects.filter(camera__owner=a),
        "devices": Device.objects.filter(Q(camera__owner=a) | Q(mac_address=A_FREE_MAC)),
        "content": Content.objects.filter(owner=a),
        "events": Event.objects.filter(owner=a),
        "labels": EventLabel.objects.filter(owner=a),
        "analysis": ItemAnalysis.objects.filter(content__owner=a),
        "hooks": Hook.objects.filter(owner=a),
        "deliveries": Delivery.objects.filter(hook__owner=a),
        "attempts": DeliveryAttempt.objects.filter(delivery__hook__owner=a),
        "camios": Camio.objects.filter(owner=a),
        "downloads": Download.objects.filter(requester=a),
        "guests": Guest.objects.filter(host=a),
        "notifications": Notification.objects.filter(user=a),
        "tokens": AccessToken.objects.filter(user=a),
        "refresh": RefreshToken.objects.filter(user=a),
        "grants": Grant.objects.filter(user=a),
        "apps": Application.objects.filter(user=a),
    }
    state: dict[str, Any] = {name: list(qs.order_by("pk").values()) for name, qs in querysets.items()}
    keys = list(Content.objects.filter(owner=a).values_list("storage_key", flat=True))
    keys += [k for k in Download.objects.filter(requester=a).values_list("storage_key", flat=True) if k]
    state["files"] = sorted((k, default_storage.exists(k)) for k in keys)
    return state


# --- the matrix ---------------------------------------------------------------------------------------

OAUTH = "oauth"  # DRF view, IsAuthenticated: any bad token is a 401
ANY = "any"  # DRF view, AllowAny: a token is still checked when one is sent
NOAUTH = "noauth"  # DRF view without authentication classes: the Authorization header is ignored
OPEN = "open"  # plain Django view (poll, OAuth endpoints, viewer, health): no API token at all
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Route:
    """One route and method, naming A's objects by placeholders (``World.v``).

    other: B's statuses. user: "read" (``user=`` is a host's email a guest may read),
    "write" (``user=`` other than the caller is refused), "own" (a read of what is private to the
    caller's account: ``user=`` other than the caller is refused too), "" (not consulted). guest:
    "read" (G, A's guest, gets A's data: 2xx), a tuple of statuses (refused), or "own" (acts on G's
    own account).
    anon: an anonymous caller's statuses. allow: keys of ``World.secrets`` the route hands out by
    the reference's design. mutable: keys of ``a_state`` it may change by design. ghost: how B's
    answer must match a twin naming nothing ("body", "status" or "" for none).
    """

    name: str
    method: str
    path: str
    query: dict | None = None
    body: Any = None
    ctype: str = "application/json"
    auth: str = OAUTH
    other: tuple = (404,)
    user: str = ""
    guest: Any = "own"
    anon: tuple = (401,)
    allow: tuple = ()
    mutable: tuple = ()
    ghost: str = "body"
    with_user: tuple | None = None  # B's statuses with user=<A's email> added, when not the default
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.name}:{self.method}" + (f":{self.label}" if self.label else "")


R = Route
ME = "/api/users/me"
CAM = f"{ME}/cameras/{{a_cam}}"
HOOK = f"{ME}/hooks/{{a_hook}}"
JPEG = jpeg_bytes(size=(64, 48))
UPLOAD_Q = {"camera_id": "{a_mac}"}
CAMIO_BODY = {"name": "b-share", "query": {"cameras": ["{a_cam}"]}}
HOOK_BODY = {"type": "label_hit", "callback_url": "https://bravo.example.com/cb", "query": "{a_cam} people"}

# fmt: off
ROUTES: list[Route] = [
    # cameras: polling (open: cameras hold no credentials), discovery and claiming
    R("camera-poll", "GET", "/api/cameras/{a_mac}", {"maker": "Sharx", "model": "SCNC3904"}, auth=OPEN,
      other=(200,), anon=(200,), allow=("a_upload", "a_cam"), mutable=("devices", "cameras"), ghost=""),
    R("camera-poll", "POST", "/api/cameras/{a_mac}", {"maker": "Sharx", "model": "SCNC3904"}, auth=OPEN,
      other=(200,), anon=(200,), allow=("a_upload", "a_cam"), mutable=("devices", "cameras"), ghost=""),
    R("camera-poll", "PUT", "/api/cameras/{a_mac}", {"maker": "Sharx", "model": "SCNC3904"}, auth=OPEN,
      other=(200,), anon=(200,), allow=("a_upload", "a_cam"), mutable=("devices", "cameras"), ghost=""),
    R("device-list", "GET", f"{ME}/devices", other=(200,), user="own", guest=(403,)),
    R("device-claim", "POST", f"{ME}/devices/{{a_mac}}/claim", body={"name": "mine"}, label="claimed"),
    R("device-claim", "POST", f"{ME}/devices/{{a_free_mac}}/claim", body={"name": "mine"}, label="unclaimed"),
    # accounts
    R("oauth-authorize", "GET", "/api/login/oauth/authorize", {"client_id": "{a_client_id}"}, auth=OPEN,
      other=(302,), anon=(302,), ghost="status"),
    R("oauth-authorize", "POST", "/api/login/oauth/authorize", body={"client_id": "{a_client_id}", "allow": "1"},
      ctype=FORM, auth=OPEN, other=(302,), anon=(302,), ghost="status"),
    R("oauth-access-token", "POST", "/api/login/oauth/access_token", ctype=FORM, auth=OPEN,
      body={"client_id": "{a_client_id}", "code": "{a_code}", "redirect_uri": REDIRECT}, other=(401,), anon=(401,)),
    # Reads of what is private to an account: user=<host> is a 403 (it used to answer the caller's own).
    R("settings", "GET", f"{ME}/settings", other=(200,), user="own", guest=(403,)),
    R("settings", "POST", f"{ME}/settings", body={"recording_enabled": False}, other=(200,)),
    R("settings", "PUT", f"{ME}/settings", body={"recording_enabled": False}, other=(200,)),
    R("settings", "PATCH", f"{ME}/settings", body={"recording_enabled": False}, other=(200,)),
    R("upload-token", "GET", f"{ME}/tokens/upload", other=(200,), user="own", guest=(403,)),
    R("upload-token-rotate", "POST", f"{ME}/tokens/upload/rotate", other=(200,)),
    # The reference's installer hint: part of the owner's e-mail (never all of it) to any holder.
    R("upload-token-hint", "GET", "/api/tokens/{a_upload}/hint", auth=NOAUTH, other=(200,), anon=(200,), ghost=""),
    R("upload-token-hint", "POST", "/api/tokens/{a_upload}/hint", auth=NOAUTH, other=(200,), anon=(200,), ghost=""),
    R("guest-list", "GET", f"{ME}/guests", other=(200,), user="own", guest=(403,)),
    # Adding A's guest as B's own guest: 201 (B's data); an unknown address is a 404 (see report).
    R("guest-list", "POST", f"{ME}/guests", body={"email": "{a_guest_email}"}, other=(201,), ghost=""),
    R("guest-detail", "DELETE", f"{ME}/guests/{{a_guest_email}}"),
    R("notification-list", "GET", f"{ME}/notifications", other=(200,), user="own", guest=(403,)),
    R("notification-read", "POST", f"{ME}/notifications/{{a_notification}}/read"),
    # cameras and zones
    R("camera-list", "GET", f"{ME}/cameras", other=(200,), user="read", guest="read"),
    R("camera-detail", "GET", CAM, user="read", guest="read"),
    R("camera-detail", "DELETE", CAM, user="write", guest=(403,)),
    R("camera-transitions", "GET", f"{CAM}/transitions", user="read", guest="read"),
    R("zone-list", "GET", f"{CAM}/zones", user="read", guest="read"),
    R("zone-detail", "GET", f"{CAM}/zones/{{a_zone}}", user="read", guest="read"),
    R("zone-detail", "POST", f"{CAM}/zones/{{a_zone}}", body={"polygons": POLYGONS}, user="write", guest=(403,)),
    R("zone-detail", "PUT", f"{CAM}/zones/{{a_zone}}", body={"polygons": POLYGONS}, user="write", guest=(403,)),
    R("zone-detail", "DELETE", f"{CAM}/zones/{{a_zone}}", user="write", guest=(403,)),
    # uploads: "me" uploads go to the caller's own camera of that name; content by id
    R("content-upload", "POST", f"{CAM}/content", UPLOAD_Q, body=JPEG, ctype="image/jpeg", auth=ANY,
      other=(201,), ghost="status"),
    R("content-upload", "PUT", f"{CAM}/content", UPLOAD_Q, body=JPEG, ctype="image/jpeg", auth=ANY,
      other=(201,), ghost="status"),
    R("content-upload", "GET", f"{CAM}/content", auth=ANY, guest=(404,)),  # no id: a 404 for everyone
    R("content-detail", "GET", f"{CAM}/content/{{a_content}}", auth=ANY, user="read", guest="read"),
    R("content-detail", "POST", f"{CAM}/content/{{a_content}}", UPLOAD_Q, body=JPEG, ctype="image/jpeg",
      auth=ANY, other=(201,), ghost="status"),
    R("content-detail", "PUT", f"{CAM}/content/{{a_content}}", UPLOAD_Q, body=JPEG, ctype="image/jpeg",
      auth=ANY, other=(201,), ghost="status"),
    # search
    R("search", "GET", "/api/search", {"motion_type": "all"}, auth=ANY, other=(200,), user="read", guest="read"),
    R("search", "GET", "/api/search", {"motion_type": "all", "object_type": "hours"}, auth=ANY, other=(200,),
      user="read", guest="read", label="hours"),
    R("search", "GET", "/api/search", {"event": "{a_event}"}, auth=ANY, user="read", guest="read", label="event"),
    R("search", "GET", "/api/search", {"event_as_date": "{a_event}"}, auth=ANY, user="read", guest="read",
      label="event_as_date"),
    R("search", "GET", "/api/search", {"sources": "{a_cam}"}, auth=ANY, other=(400,), user="read", guest="read",
      label="sources"),
    R("search", "GET", "/api/search", {"object_type": "camios"}, auth=ANY, other=(200,), user="read",
      guest=(403,), label="camios"),
    # A private Camio: its owner's guests only. (401 vs 403 tells a holder the token is live: report.)
    R("search", "GET", "/api/search", {"view_tokens": "{a_private}"}, auth=ANY, other=(403,), guest="read",
      anon=(401,), ghost="status", with_user=(400,), label="private-camio"),
    # shared content
    R("content-by-access-token", "POST", "/api/content", auth=ANY, other=(200,), anon=(200,), ghost="",
      body=[{"id": "{a_content}", "access_token": "{a_content_token_for_b}"}]),
    R("content-live", "GET", "/api/content/live/{a_cam}", auth=ANY, user="read", guest="read"),
    R("content-live", "GET", "/api/content/live/{a_cam}", {"view_tokens": "{a_private}"}, auth=ANY, guest="read",
      anon=(404,), label="private-camio"),
    R("content-media", "GET", "/api/content/{a_content}", {"access_token": "{a_content_token_for_b}"},
      auth=NOAUTH, anon=(404,), ghost="status"),
    R("camio-download-create", "POST", "/api/camios/{a_private}/downloads", guest="read", label="private"),
    R("camio-download-create", "POST", "/api/camios/{a_camio}/downloads", other=(200,), guest="read",
      ghost="", label="public"),
    R("camio-download-detail", "GET", "/api/camios/{a_camio}/downloads/{a_download}", guest=(404,)),
    # camios
    R("camio-list", "GET", f"{ME}/camios", other=(200,), user="own", guest=(403,)),
    R("camio-list", "POST", f"{ME}/camios", body=CAMIO_BODY, other=(400,)),
    R("camio-list", "POST", f"{ME}/camios", body={"query": {"events": ["{a_event}"]}}, other=(400,),
      label="events"),
    R("camio-detail", "GET", f"{ME}/camios/{{a_camio}}", user="own", guest=(403,)),
    R("camio-detail", "GET", f"{ME}/camios/{{a_private_short}}", user="own", guest=(403,), label="short"),
    R("camio-detail", "DELETE", f"{ME}/camios/{{a_camio}}", guest=(404,)),
    R("camio-detail", "DELETE", f"{ME}/camios/{{a_camio_short}}", guest=(404,), label="short"),
    # hooks
    R("hook-list", "GET", f"{ME}/hooks", other=(200,), user="own", guest=(403,)),
    R("hook-list", "POST", f"{ME}/hooks", body=HOOK_BODY, other=(200,), ghost="status"),
    R("hook-detail", "GET", HOOK, user="own", guest=(403,)),
    R("hook-detail", "PATCH", HOOK, body={"active": False}, guest=(404,)),
    R("hook-detail", "DELETE", HOOK, guest=(404,)),
    R("hook-secret-rotate", "POST", f"{HOOK}/secret/rotate", body={"keep_previous_seconds": 0}, guest=(404,)),
    R("hook-delivery-list", "GET", f"{HOOK}/deliveries", user="own", guest=(403,)),
    R("hook-delivery-redeliver", "POST", f"{HOOK}/deliveries/{{a_delivery}}/redeliver", guest=(404,)),
    R("hook-delivery-redeliver", "POST", f"{ME}/hooks/{{b_hook}}/deliveries/{{a_delivery}}/redeliver",
      label="own-hook"),
    # documentation, the catch-all, health, sign-in, the viewer, download links
    R("schema", "GET", "/api/schema/", auth=ANY, other=(200,), anon=(200,), ghost=""),
    R("docs", "GET", "/api/docs/", auth=ANY, other=(200,), anon=(200,), ghost=""),
    R("api-fallback", "GET", f"{ME}/nothing/{{a_cam}}", auth=OPEN, anon=(404,)),
    R("api-fallback", "POST", "/api/users/{a_username}/anything", auth=OPEN, anon=(404,), label="post"),
    R("healthz", "GET", "/healthz", auth=OPEN, other=(200,), anon=(200,), ghost=""),
    R("readyz", "GET", "/readyz", auth=OPEN, other=(200, 503), anon=(200, 503), ghost=""),
    R("login", "GET", "/login/", auth=OPEN, other=(200,), anon=(200,), ghost=""),
    R("login", "POST", "/login/", body={"username": "{a_username}", "password": "wrong"}, ctype=FORM, auth=OPEN,
      other=(200,), anon=(200,), ghost="status"),
    R("logout", "POST", "/logout/", auth=OPEN, other=(200, 302), anon=(200, 302), ghost=""),
    # The viewer says a private Camio is private (403) and an unknown one unknown (404): report.
    R("viewer", "GET", "/", {"v": "{a_private}", "key": "{a_client_id}"}, auth=OPEN, other=(403,), anon=(403,),
      guest=(403,), ghost=""),
    R("download-file", "GET", "/downloads/{a_forged_link}", auth=OPEN, anon=(404,)),
]
# fmt: on

# Routes a test cannot call for what they are, with the reason.
NOT_COVERED = {
    "admin:*": "Django admin (staff sessions, not the API): reviewed in tests/config/test_admin_integrity.py",
}


def _a_content_token_for_b(w: World) -> str:
    # A real per-item token, issued under B's Camio for one of B's items: it opens that item only.
    return item_access_token(w.extra["b_items"][0].public_id, camio_id=w.extra["b_camio"].pk)


def _values(w: World, *, ghost: bool = False) -> dict[str, str]:
    """The placeholders' values: A's (or the ghost's), and tokens derived from the world."""
    values = dict(w.ghost if ghost else w.v)
    ex = w.extra
    values.update(
        a_content_token_for_b=_a_content_token_for_b(w),
        a_forged_link=signing.dumps(values["a_download"], salt="not-the-link-salt", compress=False),
        # A real item token of the back Camio, for its own (back) item.
        back_item_token=item_access_token(ex["a_back_items"][0].public_id, camio_id=ex["a_back_camio"].pk),
        # A real item token of the public Camio, for the front item it shares.
        front_item_token=item_access_token(ex["a_items"][0].public_id, camio_id=ex["a_public"].pk),
        a_link=download_link(ex["download"]).rsplit("/", 1)[-1],
        a_token=w.tokens["a"],
        b_client=ex["b_app"].client_id,
        b_secret=ex["b_app_secret"],
    )
    return values


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, list):
        return [_fill(t, values) for t in template]
    if isinstance(template, dict):
        return {k: _fill(t, values) for k, t in template.items()}
    return template


@dataclass
class Answer:
    status: int
    text: str  # body and headers, decoded
    sent: str  # what the request carried: values echoed from it are not leaks
    json: Any = None


def call(
    w: World, client: APIClient, route: Route, *, ghost: bool = False, extra: dict | None = None, path=None
) -> Answer:
    values = _values(w, ghost=ghost)
    url = _fill(path or route.path, values)
    query = {**_fill(route.query or {}, values), **(extra or {})}
    if query:
        url += "?" + urlencode(query)
    body = _fill(route.body, values)
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    elif route.ctype == FORM:
        data = urlencode(body).encode()
    else:
        data = json.dumps(body).encode()
    response = client.generic(route.method, url, data, content_type=route.ctype)
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)
    else:
        raw = response.content  # (the test client has closed it: closing again would close the database)
    headers = " ".join(f"{k}: {v}" for k, v in response.items())
    text = raw.decode("utf-8", "replace") + "\n" + headers
    parsed = None
    if response.get("Content-Type", "").startswith("application/json"):
        parsed = json.loads(raw or b"null")
    sent = unquote(url) + "\n" + data.decode("utf-8", "replace")
    return Answer(response.status_code, text, sent, parsed)


def leaked(w: World, answer: Answer, *, allow=(), also_own: tuple = ()) -> list[str]:
    """Keys of A's values in the answer that the caller did not send and the route may not disclose."""
    return [
        key
        for key, value in w.secrets.items()
        if key not in allow and key not in also_own and value not in answer.sent and value in answer.text
    ]


def normalized(answer: Answer, values: dict[str, str], keys) -> tuple[int, str]:
    text = answer.text.rsplit("\n", 1)[0]  # the body, without the headers (request ids differ)
    for key in sorted(keys, key=lambda k: -len(values[k])):
        text = text.replace(values[key], f"<{key}>")
    return answer.status, text


def placeholder_keys(route: Route) -> set[str]:
    blob = json.dumps([route.path, route.query, route.body if not isinstance(route.body, bytes) else None])
    return {key for key in _PLACEHOLDERS if "{" + key + "}" in blob}


_PLACEHOLDERS = [
    "a_email", "a_username", "a_id", "a_upload", "a_cam", "a_cam_back", "a_mac", "a_free_mac", "a_zone",
    "a_content", "a_back_content", "a_event", "a_back_event", "a_hook", "a_delivery", "a_camio", "a_camio_short",
    "a_private", "a_private_short", "a_back_camio", "a_download", "a_notification", "a_guest_email",
    "a_client_id", "a_code", "a_refresh", "b_hook", "b_camio", "b_cam", "host", "a_content_token_for_b",
    "a_forged_link", "back_item_token", "front_item_token", "a_link", "a_token", "b_client", "b_secret",
]  # fmt: skip


def attempt(w: World, client: APIClient, route: Route, *, server_error_ok: bool = False, **kwargs) -> Answer:
    """Call the route and check A's data is as it was."""
    before = a_state(w)
    answer = call(w, client, route, **kwargs)
    after = a_state(w)
    changed = [k for k in before if before[k] != after[k] and k not in route.mutable]
    assert not changed, f"{route.id}: A's {changed} changed ({answer.status}: {answer.text[:300]})"
    assert server_error_ok or answer.status < 500, answer.text[:500]
    return answer


def as_guest(w: World, route: Route) -> dict:
    """What a guest adds to read a host's data: ``user=``, except beside ``view_tokens`` (the token
    is then the authorization, and both at once are a 400)."""
    return {} if "view_tokens" in (route.query or {}) else {"user": w.a.email}


def expect(answer: Answer, statuses: tuple, route: Route, who: str) -> None:
    assert answer.status in statuses, f"{route.id} as {who}: {answer.status} not in {statuses}: {answer.text[:400]}"


def ids(routes):
    return [r.id for r in routes]


# --- the matrix's completeness ---------------------------------------------------------------------


def _patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue
            yield from _patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


FUNCTION_VIEW_METHODS = {
    "camera-poll": {"GET", "POST", "PUT"},
    "api-fallback": {"GET", "POST"},  # any method: one read and one write stand for all
    "healthz": {"GET"},
    "readyz": {"GET"},
    "viewer": {"GET"},
    "download-file": {"GET"},
}


def _methods(callback) -> set[str]:
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is None:
        return set()
    names = {m for m in cls.http_method_names if hasattr(cls, m)} - {"options", "head"}
    if issubclass(cls, APIView):
        names -= {"trace"}
    return {m.upper() for m in names}


def test_matrix_covers_every_route_and_method():
    """Every route of the URLconf and every method its view answers has a line (admin aside: NOT_COVERED)."""
    covered: dict[str, set[str]] = {}
    for route in ROUTES:
        covered.setdefault(route.name, set()).add(route.method)
    missing = []
    for pattern, p in _patterns():
        name = p.name or ("api-fallback" if pattern.endswith("^.*$") else pattern)
        wanted = FUNCTION_VIEW_METHODS.get(name) or _methods(p.callback)
        if name == "oauth-authorize":
            wanted = {"GET", "POST"}  # its dispatch answers 405 to the rest, before anything else
        if name == "login":
            wanted = {"GET", "POST"}
        if name == "logout":
            wanted = {"POST"}  # GET is a 405 in Django 5
        if name in ("schema", "docs"):
            wanted = {"GET"}
        gap = wanted - covered.get(name, set())
        if gap:
            missing.append(f"{name} {sorted(gap)}")
    assert not missing, f"routes or methods missing from ROUTES: {missing}"


# --- B, another account ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=ids(ROUTES))
def test_other_account(w, route):
    """B names A's objects: nothing of A's comes back or changes, and the answer is the one a
    request naming nothing gets."""
    client = w.client("b")
    answer = attempt(w, client, route)
    expect(answer, route.other, route, "B")
    assert not leaked(w, answer, allow=route.allow), f"{route.id}: {leaked(w, answer, allow=route.allow)}"
    if route.ghost and placeholder_keys(route):
        twin = attempt(w, client, route, ghost=True)
        keys = placeholder_keys(route)
        if route.ghost == "status":
            assert twin.status == answer.status, f"{route.id}: {answer.status} for A's object, {twin.status} for none"
        else:
            assert normalized(answer, _values(w), keys) == normalized(twin, _values(w, ghost=True), keys)


@pytest.mark.parametrize("route", ROUTES, ids=ids(ROUTES))
def test_other_account_naming_the_host(w, route):
    """B adds ``user=<A's email>``: refused where the route reads a host's data, on reads of what is
    private to an account and on every write under ``users/me`` (guests only read); else ignored."""
    answer = attempt(w, w.client("b"), route, extra={"user": w.a.email})
    statuses = route.with_user or ((403,) if route.user or _me_write(route) else route.other)
    expect(answer, statuses, route, "B with user=A")
    assert not leaked(w, answer, allow=(*route.allow, "a_email"))


def _me_write(route) -> bool:
    """A write under ``users/me`` (config.api.views.MeAPIView, and uploads as ``me``: a guest's
    upload naming the host used to be filed in the guest's own account)."""
    return route.method not in ("GET", "HEAD", "OPTIONS") and route.path.startswith("/api/users/me/")


@pytest.mark.parametrize("route", ROUTES, ids=ids(ROUTES))
def test_guest_of_the_host(w, route):
    """G, A's guest, with ``user=<A's email>``: reads where guests may read; writes under
    ``users/me`` are refused (403), others land in G's own account; A's data never changes."""
    extra = as_guest(w, route)
    answer = attempt(w, w.client("g"), route, extra=extra)
    if route.guest == "read":
        assert 200 <= answer.status < 300, f"{route.id}: a guest's read answered {answer.status}: {answer.text[:300]}"
        return
    if _me_write(route) and extra.get("user"):
        expect(answer, (403,), route, "G (guest)")
    elif isinstance(route.guest, tuple):
        expect(answer, route.guest, route, "G (guest)")
    own = ("a_guest_email", "a_email")  # G's own address, and the host it named
    assert not leaked(w, answer, allow=route.allow, also_own=own), leaked(w, answer, allow=route.allow, also_own=own)


@pytest.mark.parametrize("route", ROUTES, ids=ids(ROUTES))
def test_anonymous(w, route):
    answer = attempt(w, w.client(None), route)
    expect(answer, route.anon, route, "anonymous")
    assert not leaked(w, answer, allow=route.allow)


def _token_statuses(route: Route) -> tuple:
    return (401,) if route.auth in (OAUTH, ANY) else route.anon


@pytest.mark.parametrize("route", ROUTES, ids=ids(ROUTES))
def test_upload_token_as_oauth_token(w, route):
    """A's Upload Token where an OAuth token belongs (the header; ``?access_token=`` too on reads)."""
    answer = attempt(w, w.client(None, header=w.tokens["a_upload"]), route)
    expect(answer, _token_statuses(route), route, "A's Upload Token as OAuth")
    assert not leaked(w, answer, allow=route.allow)
    if route.method in ("GET", "DELETE") and "access_token" not in (route.query or {}):
        answer = attempt(w, w.client(None), route, extra={"access_token": w.tokens["a_upload"]})
        expect(answer, _token_statuses(route), route, "A's Upload Token as ?access_token")
        assert not leaked(w, answer, allow=route.allow)


@pytest.mark.parametrize("kind", ["expired", "revoked"])
@pytest.mark.parametrize("route", ROUTES, ids=ids(ROUTES))
def test_expired_or_revoked_oauth_token_of_the_owner(w, route, kind):
    answer = attempt(w, w.client(None, header=w.tokens[kind]), route)
    expect(answer, _token_statuses(route), route, f"A's {kind} token")
    assert not leaked(w, answer, allow=route.allow)


USER_ROUTES = [r for r in ROUTES if r.path.startswith(ME + "/")]
TOKEN_FORMS = ["a_upload", "a_username", "a_id", "a_email"]


# Uploads are the one place a path token means something other than ``me``: A's Upload Token there
# *is* the credential to upload into A's account (the reference's design), checked on its own in
# ``test_upload_token_in_the_path_uploads_only``.
PATH_TOKEN_CASES = [
    (route, form)
    for route in USER_ROUTES
    for form in TOKEN_FORMS
    if not (route.name.startswith("content") and route.method in ("POST", "PUT") and form == "a_upload")
]


@pytest.mark.parametrize("route,form", PATH_TOKEN_CASES, ids=[f"{r.id}-{f}" for r, f in PATH_TOKEN_CASES])
def test_path_token_naming_the_owner_is_unknown(w, route, form):
    """``users/<token>/…`` naming A (Upload Token, user name, id, e-mail) instead of ``me``."""
    path = "/api/users/{" + form + "}/" + route.path.removeprefix(ME + "/")
    statuses = (401,) if route.name.startswith("content") and route.method in ("POST", "PUT") else (404,)
    answer = attempt(w, w.client("b"), route, path=path)
    expect(answer, statuses, route, f"B with users/<{form}>")
    assert not leaked(w, answer, allow=route.allow)
    anon = attempt(w, w.client(None), route, path=path)
    expect(anon, (401, 404), route, f"anonymous with users/<{form}>")
    assert not leaked(w, anon, allow=route.allow)


def test_upload_token_in_the_path_uploads_only(w):
    """The Upload Token's holder uploads into A's account and learns nothing else of it."""
    route = replace(
        ROUTES[[r.id for r in ROUTES].index("content-upload:POST")],
        path="/api/users/{a_upload}/cameras/fresh-cam/content",
        query={"camera_id": "fresh-1"},
        mutable=("cameras", "content", "files"),
    )
    answer = attempt(w, w.client(None), route)
    assert answer.status == 201
    assert not leaked(w, answer, allow=("a_upload", "a_mac"))
    # A rotated (revoked) Upload Token uploads nothing.
    old = w.tokens["a_upload"]
    AccountSettings.objects.filter(user=w.a).update(upload_token="rotated-" + secrets.token_urlsafe(12))
    route = replace(route, path=f"/api/users/{old}/cameras/fresh-cam/content")
    answer = attempt(w, w.client(None), route)
    assert answer.status == 401


@pytest.mark.parametrize("method", ["OPTIONS", "HEAD"])
@pytest.mark.parametrize("route", ROUTES, ids=ids(ROUTES))
def test_options_and_head_tell_nothing(w, route, method):
    probe = replace(route, method=method, body=None)
    for client in (w.client("b"), w.client(None)):
        answer = attempt(w, client, probe)
        assert not leaked(w, answer, allow=route.allow), (method, leaked(w, answer, allow=route.allow))


# --- a guest removed, and positive controls --------------------------------------------------------

GUEST_READS = [r for r in ROUTES if r.guest == "read"]
# A public Camio's download is open to any signed-in holder of its token, guest or not.
HOST_READS = [r for r in GUEST_READS if r.id != "camio-download-create:POST:public"]


@pytest.mark.parametrize("route", HOST_READS, ids=ids(HOST_READS))
def test_a_removed_guest_reads_nothing(w, route):
    Guest.objects.filter(host=w.a, guest=w.g).delete()
    answer = attempt(w, w.client("g"), route, extra=as_guest(w, route))
    assert answer.status in (401, 403, 404), f"{route.id}: {answer.status}"
    assert not leaked(w, answer, allow=route.allow, also_own=("a_guest_email", "a_email"))


@pytest.mark.parametrize("route", GUEST_READS, ids=ids(GUEST_READS))
def test_positive_control_the_owner_reads_its_own(w, route):
    """The same lines as A: they work, so B's refusals are refusals, not a broken setup."""
    answer = call(w, w.client("a"), route)
    assert 200 <= answer.status < 300, f"{route.id}: {answer.status}: {answer.text[:300]}"


@pytest.mark.parametrize("route", HOST_READS, ids=ids(HOST_READS))
def test_a_guest_relation_opens_one_direction_only(w, route):
    """B makes A its guest: A may now read B's data, and B still reads nothing of A's."""
    Guest.objects.create(host=w.b, guest=w.a)
    answer = attempt(w, w.client("b"), route, extra=as_guest(w, route))
    assert answer.status in (401, 403, 404), f"{route.id}: {answer.status}"
    assert not leaked(w, answer, allow=(*route.allow, "a_email"))


# --- view tokens of other Camios -------------------------------------------------------------------

# What A shares with its "alpha-back" Camio: a viewer of that Camio sees these, and nothing else.
BACK_SHARED = ("a_back_camio", "a_cam_back", "a_content_2", "a_back_event", "a_label")
VIEW_TOKEN_CASES = [
    # (label, route, statuses)
    ("search-back-camio-event-of-front", R("search", "GET", "/api/search",
     {"view_tokens": "{a_back_camio}", "event": "{a_event}"}, auth=ANY), (404,)),
    ("search-back-camio-date-of-front", R("search", "GET", "/api/search",
     {"view_tokens": "{a_back_camio}", "event_as_date": "{a_event}"}, auth=ANY), (404,)),
    ("search-back-camio-front-source", R("search", "GET", "/api/search",
     {"view_tokens": "{a_back_camio}", "sources": "{a_cam}"}, auth=ANY), (403,)),
    ("search-back-camio-front-in-text", R("search", "GET", "/api/search",
     {"view_tokens": "{a_back_camio}", "text": "{a_cam} {a_zone}", "motion_type": "all"}, auth=ANY), (200,)),
    ("search-back-camio-hours", R("search", "GET", "/api/search",
     {"view_tokens": "{a_back_camio}", "object_type": "seconds", "motion_type": "all"}, auth=ANY), (200,)),
    ("search-back-camio-camios", R("search", "GET", "/api/search",
     {"view_tokens": "{a_back_camio}", "object_type": "camios"}, auth=ANY), (200,)),
    ("search-back-camio-thumbnails", R("search", "GET", "/api/search",
     {"view_tokens": "{a_back_camio}", "motion_type": "all", "fetch_all_thumbnails": "true",
      "fetch_motion_boxes": "true"}, auth=ANY), (200,)),
    ("search-b-camio-event-of-a", R("search", "GET", "/api/search",
     {"view_tokens": "{b_camio}", "event": "{a_event}"}, auth=ANY), (404,)),
    ("search-b-camio-a-source", R("search", "GET", "/api/search",
     {"view_tokens": "{b_camio}", "sources": "{a_cam}"}, auth=ANY), (403,)),
    ("live-back-camio-front-camera", R("content-live", "GET", "/api/content/live/{a_cam}",
     {"view_tokens": "{a_back_camio}"}, auth=ANY), (404,)),
    ("live-b-camio-a-camera", R("content-live", "GET", "/api/content/live/{a_cam}",
     {"view_tokens": "{b_camio}"}, auth=ANY), (404,)),
    ("content-back-token-front-item", R("content-by-access-token", "POST", "/api/content", auth=ANY,
     body=[{"id": "{a_content}", "access_token": "{back_item_token}"}]), (200,)),
    ("media-back-token-front-item", R("content-media", "GET", "/api/content/{a_content}",
     {"access_token": "{back_item_token}"}, auth=NOAUTH), (404,)),
    ("media-oauth-token-as-item-token", R("content-media", "GET", "/api/content/{a_content}",
     {"access_token": "{a_token}"}, auth=NOAUTH), (404,)),
    ("download-status-under-b-camio", R("camio-download-detail", "GET", "/api/camios/{b_camio}/downloads/{a_download}"),
     (401, 404)),
    ("download-status-under-back-camio", R("camio-download-detail", "GET",
     "/api/camios/{a_back_camio}/downloads/{a_download}"), (401, 404)),
]  # fmt: skip


@pytest.mark.parametrize("who", ["anon", "b", "a"])
@pytest.mark.parametrize("label,route,statuses", VIEW_TOKEN_CASES, ids=[c[0] for c in VIEW_TOKEN_CASES])
def test_view_token_of_another_camio(w, label, route, statuses, who):
    """A view (or item) token of one Camio opens that Camio only: never A's other content, nor
    the content of the Camio's owner outside it (A itself calls with the token alone too)."""
    client = w.client(None) if who in ("anon", "a") else w.client("b")
    if route.name == "camio-download-detail" and who == "a":
        client = w.client("a")  # A's own download, under a token that is not its Camio's
    answer = attempt(w, client, route)
    expect(answer, statuses if not (who == "anon" and 401 in statuses) else (401,), route, who)
    found = leaked(w, answer, allow=BACK_SHARED)
    assert not found, f"{label} as {who}: {found}"


def test_view_token_positive_control(w):
    """The back Camio's token does open the back camera's content (the refusals above are real)."""
    route = R("search", "GET", "/api/search", {"view_tokens": "{a_back_camio}", "motion_type": "all"}, auth=ANY)
    answer = call(w, w.client(None), route)
    assert answer.status == 200
    assert w.secrets["a_content_2"] in answer.text and w.secrets["a_content_0"] not in answer.text
    live = call(w, w.client(None), R("content-live", "GET", "/api/content/live/{a_cam}", {"view_tokens": "{a_camio}"}))
    assert live.status == 200 and live.json["source"] == "alpha-front"


# --- expired, revoked and deleted Camios; item tokens; download links --------------------------------


def _camio_gone(w: World, how: str) -> None:
    camio = w.extra["a_public"]
    if how == "expired":
        Camio.objects.filter(pk=camio.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "deleted":
        Camio.objects.filter(pk=camio.pk).delete()
    else:  # the owner's account is deactivated
        get_user_model().objects.filter(pk=w.a.pk).update(is_active=False)


DEAD_CAMIO_CASES = [
    ("search", R("search", "GET", "/api/search", {"view_tokens": "{a_camio}"}, auth=ANY), (403,)),
    ("search-short", R("search", "GET", "/api/search", {"view_tokens": "{a_camio_short}"}, auth=ANY), (403,)),
    ("live", R("content-live", "GET", "/api/content/live/{a_cam}", {"view_tokens": "{a_camio}"}, auth=ANY), (404,)),
    ("download-create", R("camio-download-create", "POST", "/api/camios/{a_camio}/downloads"), (404,)),
    ("viewer", R("viewer", "GET", "/", {"v": "{a_camio}", "key": "{a_client_id}"}, auth=OPEN), (404,)),
    ("content", R("content-by-access-token", "POST", "/api/content", auth=ANY,
                  body=[{"id": "{a_content}", "access_token": "{front_item_token}"}]), (200,)),
    ("media", R("content-media", "GET", "/api/content/{a_content}", {"access_token": "{front_item_token}"},
                auth=NOAUTH), (404,)),
    ("download-link", R("download-file", "GET", "/downloads/{a_link}", auth=OPEN), (404,)),
]  # fmt: skip


@pytest.mark.parametrize("how", ["expired", "deleted", "owner-deactivated"])
@pytest.mark.parametrize("label,route,statuses", DEAD_CAMIO_CASES, ids=[c[0] for c in DEAD_CAMIO_CASES])
def test_expired_or_revoked_camio_opens_nothing(w, label, route, statuses, how):
    front = w.extra["a_items"][0].public_id
    # Each works while the Camio lives (positive control), then opens nothing once it is gone.
    client = w.client("b")
    if label == "download-create":
        before = call(w, client, route)
        assert before.status == 200, before.text[:300]
    elif label != "search-short":
        before = call(w, w.client(None) if label != "download-create" else client, route)
        assert before.status == 200, (label, before.status, before.text[:300])
        if label == "content":
            assert before.json and before.json[0]["id"] == front
    _camio_gone(w, how)
    answer = call(w, client, route)
    assert answer.status in statuses, (label, how, answer.status, answer.text[:300])
    if label == "content":
        assert answer.json == []
    assert not leaked(w, answer, allow=("a_camio", "a_camio_short", "a_client_id"))


@pytest.mark.parametrize("case", ["expired", "moved", "forged", "other-salt"])
def test_item_access_tokens_open_their_own_item_only_and_expire(w, settings, case):
    front, other = w.extra["a_items"][0].public_id, w.extra["a_items"][1].public_id
    camio = w.extra["a_public"].pk
    token = item_access_token(front, camio_id=camio)
    pid = front
    if case == "expired":
        settings.CONTENT_ACCESS_TOKEN_SECONDS = 0
    elif case == "moved":
        pid = other
    elif case == "forged":
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    else:
        token = signing.TimestampSigner(salt="camhub.search.item-access").sign(f"{front}:0").split(":", 2)[-1]
    for client in (w.client(None), w.client("b")):
        got = client.post("/api/content", [{"id": pid, "access_token": token}], format="json")
        assert got.status_code == 200 and got.json() == []
        assert client.get(f"/api/content/{pid}", {"access_token": token}).status_code == 404


def test_download_links_expire_and_die_with_the_camio_or_the_guest(w, settings):
    download = w.extra["download"]
    link = download_link(download).removeprefix(settings.PUBLIC_BASE_URL)
    anon = w.client(None)
    assert anon.get(link).status_code == 200  # a bearer link while it lives (the reference's e-mail)
    settings.DOWNLOAD_LINK_SECONDS = 0
    assert anon.get(link).status_code == 404
    settings.DOWNLOAD_LINK_SECONDS = 3600
    # A guest's download of A's private Camio dies when the guest is removed.
    private = w.extra["a_private"]
    made = w.client("g").post(f"/api/camios/{private.view_token}/downloads")
    assert made.status_code == 200
    theirs = Download.objects.get(public_id=made.json()["id"])
    key = default_storage.save(f"downloads/{w.a.pk}/{theirs.public_id}.zip", ContentFile(b"PK-alpha-private"))
    Download.objects.filter(pk=theirs.pk).update(status=Download.Status.READY, storage_key=key)
    guest_link = download_link(theirs).removeprefix(settings.PUBLIC_BASE_URL)
    assert anon.get(guest_link).status_code == 200
    Guest.objects.filter(host=w.a, guest=w.g).delete()
    assert anon.get(guest_link).status_code == 404
    # Its status too: the Camio is no longer theirs to see.
    status = w.client("g").get(f"/api/camios/{private.view_token}/downloads/{theirs.public_id}")
    assert status.status_code == 404
    Camio.objects.filter(pk=w.extra["a_public"].pk).delete()
    assert anon.get(link).status_code == 404


# --- the OAuth token endpoint: another's grant, refresh token or client ------------------------------

OAUTH_CASES = [
    ("b-app-a-code", {"client_id": "{b_client}", "client_secret": "{b_secret}", "code": "{a_code}"}, (400,)),
    ("b-app-a-code-a-redirect", {"client_id": "{b_client}", "client_secret": "{b_secret}", "code": "{a_code}",
                                 "redirect_uri": REDIRECT}, (400,)),
    ("b-app-a-refresh", {"client_id": "{b_client}", "client_secret": "{b_secret}", "refresh_token": "{a_refresh}"},
     (400,)),
    ("a-app-b-secret-a-code", {"client_id": "{a_client_id}", "client_secret": "{b_secret}", "code": "{a_code}"},
     (401,)),
    ("a-app-no-secret-a-refresh", {"client_id": "{a_client_id}", "refresh_token": "{a_refresh}"}, (401,)),
    ("b-app-upload-token-as-code", {"client_id": "{b_client}", "client_secret": "{b_secret}", "code": "{a_upload}"},
     (400,)),
    ("b-app-a-token-as-refresh", {"client_id": "{b_client}", "client_secret": "{b_secret}",
                                  "refresh_token": "{a_token}"}, (400,)),
]  # fmt: skip


@pytest.mark.parametrize("label,body,statuses", OAUTH_CASES, ids=[c[0] for c in OAUTH_CASES])
def test_oauth_token_endpoint_refuses_anothers_grants(w, label, body, statuses):
    route = R("oauth-access-token", "POST", "/api/login/oauth/access_token", body=body, ctype=FORM, auth=OPEN)
    for accept in ("application/json", "*/*"):
        client = w.client(None)
        client.defaults["HTTP_ACCEPT"] = accept
        answer = attempt(w, client, route)
        assert answer.status in statuses, (label, answer.status, answer.text[:300])
        assert "access_token=" not in answer.text and '"access_token"' not in answer.text
        assert not leaked(w, answer)
        # The same request naming a grant, refresh token or client that does not exist: no
        # answer tells whether A's exists.
        twin = attempt(w, client, route, ghost=True)
        assert twin.status == answer.status, (label, answer.text[:200], twin.text[:200])


def test_oauth_positive_control_the_partner_refreshes_its_own(w):
    """A's partner application does refresh A's token (so the refusals above are about ownership)."""
    a_app = w.extra["a_app"]
    got = w.client(None).post(
        "/api/login/oauth/access_token",
        {"client_id": a_app.client_id, "client_secret": w.extra["a_app_secret"], "refresh_token": w.v["a_refresh"]},
        HTTP_ACCEPT="application/json",
    )
    assert got.status_code == 200, got.content
    assert got.json()["access_token"]


# --- polling: what a MAC address alone obtains -----------------------------------------------------


def test_polling_an_unclaimed_or_unknown_mac_tells_nothing_of_anyone(w):
    for mac in (A_FREE_MAC, GHOST_MAC):
        got = w.client(None).get(f"/api/cameras/{mac}", {"maker": "Sharx", "model": "SCNC3904"})
        assert got.status_code == 200
        answer = Answer(got.status_code, got.content.decode(), "")
        assert not leaked(w, answer, allow=("a_free_mac",)), leaked(w, answer, allow=("a_free_mac",))


def test_devices_are_offered_only_on_their_own_network(w):
    near = w.client("b", ip=A_IP).get(f"{ME}/devices").json()
    far = w.client("b").get(f"{ME}/devices").json()
    assert [d["mac_address"] for d in near] == [A_FREE_MAC]  # the same public address: by design
    assert far == []
    # Claimed devices are never offered, even on their own network.
    assert A_MAC not in {d["mac_address"] for d in near}


# --- leaks this matrix found ----------------------------------------------------------------------


# FIXED LEAK: removing a guest did not revoke the per-item access tokens the guest was handed by
# the host's search (fetch_access_tokens=true with user=<host>): they were signed as the owner's
# own search and accepted for 24 h, by anyone the guest passed them to. Item tokens of signed-in
# searches now name the viewer and the owner (search.access_tokens), checked when redeemed.
def test_LEAK_fixed_a_removed_guests_item_tokens_no_longer_open_the_hosts_content(w):
    got = w.client("g").get("/api/search", {"user": w.a.email, "motion_type": "all", "fetch_access_tokens": "true"})
    assert got.status_code == 200
    pairs = {i["id"]: i["access_token"] for b in got.json()["result"]["buckets"] for i in b["images"]}
    assert set(pairs) >= {w.secrets["a_content_0"], w.secrets["a_content_1"]}
    Guest.objects.filter(host=w.a, guest=w.g).delete()
    assert w.client("g").get("/api/search", {"user": w.a.email}).status_code == 403  # reads are refused now
    anon = w.client(None)
    redeemed = anon.post("/api/content", [{"id": i, "access_token": t} for i, t in pairs.items()], format="json")
    pid, token = next(iter(pairs.items()))
    media = anon.get(f"/api/content/{pid}", {"access_token": token})
    assert (redeemed.json(), media.status_code) == ([], 404), "the removed guest's tokens still open A's content"


# An Upload Token "permits only the uploading of content - without any permission to access your
# account" (the reference): the answer to an upload with ``options=alternate`` named the owner's
# existing item it attached to (``alternate_of``), for any capture time the uploader picks through
# the file name, and the camera's stored ``camera_id`` (not the one sent). Fixed in
# uploads/serializers.py upload_answer.
def test_an_upload_tokens_alternate_upload_names_none_of_the_owners_content(w):
    item = w.extra["a_items"][0]
    name = item.captured_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "-00:00.jpeg"
    got = w.client(None).generic(
        "POST",
        f"/api/users/{w.v['a_upload']}/cameras/alpha-front/content/{name}?camera_id=probe&options=alternate",
        jpeg_bytes(size=(32, 24)),
        content_type="image/jpeg",
    )
    assert got.status_code == 201, got.content
    answer = Answer(got.status_code, got.content.decode(), name)
    assert not leaked(w, answer, allow=("a_upload", "a_cam")), f"the uploader learns {leaked(w, answer)}"


# A Camio whose start_date cuts an event shows its viewers only the in-slice items and a summary
# of them, but the answer's ``earliest_date_considered`` (and, with ``event_as_date``,
# ``query.date``) was the event's own earliest_date: the capture time of an item before the
# Camio's start, which the owner did not share. Fixed: search/selectors.py _clamp_to_camios.
@pytest.mark.parametrize("params", [{"sort": "asc"}, {"sort": "desc"}, {"event_as_date": "{event}"}],
                         ids=["asc", "desc", "event_as_date"])  # fmt: skip
def test_a_camio_cutting_an_event_names_no_unshared_capture_time(w, params):
    from config.api.dates import camio_date
    from tests.search.test_search_factories import event as factory_event

    t0 = timezone.now() - timedelta(hours=5)
    ev = factory_event(w.extra["a_front"], t0, items=4, spacing=timedelta(seconds=30), labels=("people",))
    camio = make_camio(
        w.a, cameras=["alpha-front"], start=t0 + timedelta(seconds=45), end=t0 + timedelta(seconds=75), name="cut"
    )
    query = {"view_tokens": camio.view_token, "motion_type": "all", **params}
    if "event_as_date" in query:
        query["event_as_date"] = ev.public_id
    got = w.client(None).get("/api/search", query)
    assert got.status_code == 200
    shown = [i["id"] for b in got.json()["result"]["buckets"] for i in b["images"]]
    assert len(shown) <= 1  # the one in-slice item (t0 + 60 s), or none before the cursor
    text = got.content.decode()
    unshared = [camio_date(t0 + timedelta(seconds=s)) for s in (0, 30, 90)]
    assert not [d for d in unshared if d in text], f"the answer names unshared capture times: {text[:600]}"
