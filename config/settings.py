"""Settings for camhub: one module, read from the environment.

With no environment at all this is the *embedded default*: a SQLite file, local media, a
filesystem Celery broker and a file cache, all under ``CAMHUB_DATA_DIR``. Production sets
``DATABASE_URL``, ``CELERY_BROKER_URL``, ``CACHE_URL`` and the ``AWS_*`` variables.

Every variable is read through the ``env_*`` helpers below, which fail loudly on a malformed
value instead of guessing. ``ENV_VARS`` records each name read, so ``.env.example`` and the
docker compose file can be checked against it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

ENV_VARS: set[str] = set()
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    ENV_VARS.add(name)
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    ENV_VARS.add(name)
    raw = os.environ.get(name)
    if raw is None or not raw.strip():  # empty: unset (compose's ${X:-} passes "")
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    ENV_VARS.add(name)
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    ENV_VARS.add(name)
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A DRF-style rate such as ``600/minute``; validated here so a typo fails at startup."""
    raw = env_str(name, default).strip()
    count, _, period = raw.partition("/")
    if not (count.isascii() and count.isdigit()) or int(count) < 1 or period not in {"second", "minute", "hour", "day"}:
        raise ImproperlyConfigured(f"{name} must look like 600/minute (count/second|minute|hour|day), not {raw!r}")
    return raw


# --- where the embedded default keeps its state --------------------------------------------------
DATA_DIR = Path(env_str("CAMHUB_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key(*, debug: bool) -> str:
    """SECRET_KEY from the environment, else one generated on first run and kept in DATA_DIR.

    Outside DEBUG, a given key must be one nobody else knows: not .env.example's placeholder, and
    not what Django's deploy check calls weak (under 50 characters, under 5 distinct ones, or
    ``django-insecure-``). Whoever knows the key forges download links, item access tokens and
    password resets.
    """
    key = env_str("SECRET_KEY")
    if key:
        weak = "change-me" in key or len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-")
        if weak and not debug:
            raise ImproperlyConfigured(
                "SECRET_KEY is a placeholder or too weak (50 random characters needed): generate one with "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
            )
        return key
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    # O_EXCL: when web, worker and beat start at once, one writes and the others read its key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = _secret_key(debug=DEBUG)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "config.api.fallback.csrf_failure"  # JSON under /api/
# Behind a TLS-terminating proxy (the production shape), trust its X-Forwarded-Proto.
_FORWARDED_PROTO = env_bool("USE_X_FORWARDED_PROTO", False)
if _FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client's address from the proxy's X-Forwarded-For (its last hop). By default whenever the
# proxy is trusted for the protocol: otherwise every request seems to come from the proxy, and
# device discovery offers every polling camera to everyone (all "on the caller's network").
USE_X_FORWARDED_FOR = env_bool("USE_X_FORWARDED_FOR", _FORWARDED_PROTO)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "config.apps.ConfigApp",
    "accounts",
    "cameras",
    "uploads",
    "search",
    "hooks",
]

MIDDLEWARE = [
    "config.api.middleware.RequestLogMiddleware",
    "config.api.middleware.ReleaseRenderedResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.api.middleware.ApiErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
_prepare_threshold = env_int("DATABASE_PREPARE_THRESHOLD", 5, minimum=0)  # PostgreSQL only
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that polls the socket instead of sending SELECT 1.
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    # Parameters bound by the server, so that psycopg prepares a statement once a connection has
    # run it DATABASE_PREPARE_THRESHOLD times: the planner then stops planning the same search,
    # poll and list queries on every request (0.4-0.6 ms each on the search's page and images,
    # more than running them). 0 turns it off: for a transaction-pooling PgBouncer before 1.21.
    if _prepare_threshold:
        DATABASES["default"].setdefault("OPTIONS", {})
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", _prepare_threshold)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: wait for the lock instead of failing at once, and let readers go on
    # while web, worker and beat share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not :memory:) so that a real Celery worker started by a test sees the test data; one
    # per test run, so two runs in one checkout do not write over each other's database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (throttling, coalesced heartbeats); shared by every process ----------------------------
CACHE_URL = env_str("CACHE_URL", f"file://{DATA_DIR / 'cache'}")


def _cache_from_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme in {"redis", "rediss"}:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if parts.scheme == "file":
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": parts.path}
    if parts.scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": parts.netloc}
    if parts.scheme == "dummy":
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    raise ImproperlyConfigured(f"CACHE_URL must be redis://, rediss://, file://, locmem:// or dummy://: {url!r}")


CACHES = {"default": _cache_from_url(CACHE_URL)}

# --- auth ----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/admin/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static and media ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve app static files (admin, bundled API docs) even before collectstatic has run.
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))

AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID") or None
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY") or None
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {
        # django-storages' S3Storage, with objects under the multipart threshold sent in one PUT.
        "BACKEND": "uploads.storage.ContentS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "access_key": AWS_ACCESS_KEY_ID,
            "secret_key": AWS_SECRET_ACCESS_KEY,
            "region_name": AWS_S3_REGION_NAME,
            # Content is private: it is read through the API, never by public bucket URLs.
            "default_acl": None,
            "querystring_auth": True,
            # Keys end in a fresh random public id, so none is ever reused: skip the HEAD that
            # checks for a free name before every PUT (half of an upload's S3 cost).
            "file_overwrite": True,
            # One PUT on the request's own thread, not a transfer thread pool per object.
            "use_threads": False,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- email (console in the embedded default) -----------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
# Seconds: an SMTP server that accepts and never answers must not hang the worker (motion alerts
# share the hooks queue with deliveries; the heartbeat sweep sends offline alerts).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
# At most one motion alert per camera in this many seconds (0: one per interesting event).
MOTION_ALERT_COOLDOWN_SECONDS = env_int("MOTION_ALERT_COOLDOWN_SECONDS", 300, minimum=0)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "camhub <noreply@localhost>")
# Absolute links in emails (download links, alerts).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")

# --- Celery (namespace CELERY_, read by config/celery.py) ----------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
REDIS_BROKER_TRANSPORT_OPTIONS = {
    # Redis: a task not acknowledged within this time is handed to another worker, so it must
    # exceed the longest countdown we schedule (hook retries wait up to 10 h).
    "visibility_timeout": 12 * 3600,
    # Publishing gives up after ~0.2 s when the broker cannot be reached (kombu's default retries
    # stall the request ~6 s, so an outage of the broker would pile up every upload in the web
    # workers). What was not published is picked up by the sweeps: analysis
    # (search.requeue_unanalysed) and hook deliveries (hooks.requeue_stuck_deliveries).
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: real queues, countdowns and retries with no server to run.
    _broker_dir = DATA_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Broadcast (pidbox) exchange tables; kombu's default is ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
    if CELERY_BROKER_URL.startswith("redis://"):
        # kombu's Redis transport, keeping one client per channel (config/broker.py says why).
        CELERY_BROKER_TRANSPORT = "config.broker:Transport"
# At-least-once: acknowledge after the task ran, and requeue when a worker dies mid-task.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every database connection around every task unless this is set; it
# then closes them once per this many tasks. Connections are kept across tasks instead, within
# CONN_MAX_AGE and health-checked (config/celery.py), so the fixup's count is only a backstop.
CELERY_DB_REUSE_MAX = 1000
# Nothing reads task results, so keep no result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish's own retries (Celery's default: 3, sleeping 0 + 0.2 + 0.4 s) on top of the
# connection's above: with both, a publish to a broker that is down gives up after ~0.2 s.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Apps add their periodic tasks here (cameras: heartbeat sweep, hooks: daily summary, ...).
CELERY_BEAT_SCHEDULE: dict = {}

# --- REST framework and the API conventions -------------------------------------------------------
API_RATE_LIMIT = env_rate("API_RATE_LIMIT", "600/minute")
# Seconds an access token may stay cached on Redis (config.api.token_cache); 0: no cache.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 60, minimum=0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["config.api.authentication.OAuthTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["config.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": API_RATE_LIMIT},
    "DEFAULT_RENDERER_CLASSES": ["config.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.api.negotiation.QuickContentNegotiation",
    "EXCEPTION_HANDLER": "config.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "camhub API",
    "DESCRIPTION": "A camera cloud API in the style of Camio. Authenticate with "
    "`Authorization: token <oauth token>`; GET requests may pass `?access_token=<token>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api",
    # Paths as the reference writes them; the OAuth and camera-poll endpoints (plain Django views).
    "PREPROCESSING_HOOKS": ["config.api.openapi.preprocess_endpoints"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.api.openapi.postprocess_schema"],
    "ENUM_NAME_OVERRIDES": {
        "HookTypeEnum": ["label_hit"],
        "CamioTypeEnum": ["public", "private"],
        "NotificationStateEnum": ["ON", "OFF"],
    },
}

# --- OAuth (django-oauth-toolkit) ----------------------------------------------------------------
OAUTH2_PROVIDER = {
    "SCOPES": {"user": "Your cameras, content, hooks and settings"},
    "DEFAULT_SCOPES": ["user"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS", 30 * 24 * 3600, minimum=60),
    "REFRESH_TOKEN_EXPIRE_SECONDS": 365 * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    # A rotated refresh token used again (stolen, replayed) revokes everything issued from it.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # PKCE is supported (a partner may send code_challenge) but not required: the reference's
    # flow has no code_verifier.
    "PKCE_REQUIRED": False,
    # Tokens are stored only as their SHA-256 checksums: a database dump grants no access.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
}
# Developer tokens (the "Generate" button) live long: they are revoked by hand.
DEV_TOKEN_EXPIRE_DAYS = env_int("DEV_TOKEN_EXPIRE_DAYS", 3650, minimum=1)

# --- feature settings read by the apps -----------------------------------------------------------
# A camera is online while it was seen (poll or upload) within this window: 3 missed 30 s polls.
CAMERA_OFFLINE_AFTER_SECONDS = env_int("CAMERA_OFFLINE_AFTER_SECONDS", 100, minimum=10)
HOOKS_ALLOW_PRIVATE_NETWORKS = env_bool("HOOKS_ALLOW_PRIVATE_NETWORKS", False)

# cameras: polling and heartbeats
CAMERA_POLL_INTERVAL_SECONDS = env_int("CAMERA_POLL_INTERVAL_SECONDS", 30, minimum=5)
# A device's last sight is written to the database at most this often (the cache has every poll).
CAMERA_HEARTBEAT_WRITE_SECONDS = env_int("CAMERA_HEARTBEAT_WRITE_SECONDS", 300, minimum=1)
# An offline camera alerts its owner only after staying offline this long (no paging on a blink).
CAMERA_ALERT_GRACE_SECONDS = env_int("CAMERA_ALERT_GRACE_SECONDS", 300, minimum=0)
# After an offline alert, no other for the same camera for this long (a flapping uplink).
CAMERA_ALERT_HOLDOFF_SECONDS = env_int("CAMERA_ALERT_HOLDOFF_SECONDS", 3600, minimum=0)
CELERY_BEAT_SCHEDULE["cameras.heartbeat_sweep"] = {"task": "cameras.heartbeat_sweep", "schedule": 30.0}
# Bytes of cameras and accounts deleted while the broker was down (their purge message was lost).
CELERY_BEAT_SCHEDULE["cameras.purge_orphaned_storage"] = {"task": "cameras.purge_orphaned_storage", "schedule": 86400.0}

# uploads: limits and the FTP gateway
UPLOAD_MAX_IMAGE_BYTES = env_int("UPLOAD_MAX_IMAGE_BYTES", 20 * 1024 * 1024, minimum=1024)
UPLOAD_MAX_VIDEO_BYTES = env_int("UPLOAD_MAX_VIDEO_BYTES", 2 * 1024 * 1024 * 1024, minimum=1024)
# FTP gateway: 0 disables it in `serve`; the host and port are what camera commands are told.
FTP_GATEWAY_PORT = env_int("FTP_GATEWAY_PORT", 0, minimum=0)
# What cameras are told to send to: by default the host of the service's public address.
# (Empty counts as unset: compose passes ${FTP_GATEWAY_HOST:-} as "".)
FTP_GATEWAY_HOST = env_str("FTP_GATEWAY_HOST").strip() or urlsplit(PUBLIC_BASE_URL).hostname or "localhost"
FTP_PASSIVE_PORTS = env_str("FTP_PASSIVE_PORTS", "")  # e.g. 30000-30009
# The IPv4 address passive-mode replies name, when the gateway's own is not the one cameras reach
# (behind NAT, in a container): else cameras open their data connection to a private address.
FTP_MASQUERADE_ADDRESS = env_str("FTP_MASQUERADE_ADDRESS", "").strip()
if FTP_MASQUERADE_ADDRESS:
    try:
        ipaddress.IPv4Address(FTP_MASQUERADE_ADDRESS)
    except ValueError:
        raise ImproperlyConfigured(
            f"FTP_MASQUERADE_ADDRESS must be an IPv4 address (what PASV replies carry), not {FTP_MASQUERADE_ADDRESS!r}"
        ) from None

# search: analysis
# OpenCV threads per process. Workers are processes, about one per core (Celery's prefork pool,
# gunicorn), so OpenCV's own pool of a thread per core in each oversubscribes the cores, and its
# threads spin while they wait: 25-30 % more CPU per analysed frame for no more frames per second
# on a busy machine (docs/benchmarks.md). 0 leaves OpenCV's default (a thread per core).
ANALYSIS_OPENCV_THREADS = env_int("ANALYSIS_OPENCV_THREADS", 1, minimum=0)

# search: events, Camios, shared content, downloads
# A camera's items closer than this belong to one event.
EVENT_GAP_SECONDS = env_int("EVENT_GAP_SECONDS", 30, minimum=1)
# Per-item access tokens in Camio search results expire after this long.
CONTENT_ACCESS_TOKEN_SECONDS = env_int("CONTENT_ACCESS_TOKEN_SECONDS", 24 * 3600, minimum=60)
# A ready download's emailed link works this long.
DOWNLOAD_LINK_SECONDS = env_int("DOWNLOAD_LINK_SECONDS", 7 * 24 * 3600, minimum=60)

# hooks: delivery of label_hit callbacks
HOOK_CONNECT_TIMEOUT_SECONDS = env_int("HOOK_CONNECT_TIMEOUT_SECONDS", 5, minimum=1)
HOOK_TIMEOUT_SECONDS = env_int("HOOK_TIMEOUT_SECONDS", 15, minimum=1)
# Due deliveries to one receiver (scheme, host and port; any of the owner's hooks there) sent by
# one task on one connection; 1 turns batching off.
HOOK_BATCH_SIZE = env_int("HOOK_BATCH_SIZE", 20, minimum=1)
# Tasks that may drain one receiver's backlog at once (each on its own connection).
HOOK_DRAINS_PER_RECEIVER = env_int("HOOK_DRAINS_PER_RECEIVER", 4, minimum=1)
# A hook whose every attempt failed for this long is disabled and its owner told.
HOOK_DISABLE_AFTER_DAYS = env_int("HOOK_DISABLE_AFTER_DAYS", 5, minimum=1)
# Finished deliveries (with their attempts' headers and response excerpts) are kept this long.
HOOK_DELIVERY_RETENTION_DAYS = env_int("HOOK_DELIVERY_RETENTION_DAYS", 30, minimum=1)
# Hooks' work has its own queue, so a slow receiver or mail server never holds up analysis and a
# camera's analysis backlog never holds up its hooks and alerts: the deliveries, and the hand-off
# of a changed event (which fires hooks and sends the motion alert mail).
CELERY_TASK_ROUTES = {
    "hooks.deliver": {"queue": "hooks"},
    "hooks.event_labels_changed": {"queue": "hooks"},
    "hooks.motion_alert": {"queue": "hooks"},
    "hooks.camera_renamed": {"queue": "hooks"},
}
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_BEAT_SCHEDULE["hooks.disable_failing_hooks"] = {"task": "hooks.disable_failing_hooks", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["hooks.send_daily_summaries"] = {"task": "hooks.send_daily_summaries", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["hooks.prune_deliveries"] = {"task": "hooks.prune_deliveries", "schedule": 86400.0}
CELERY_BEAT_SCHEDULE["accounts.clear_expired_tokens"] = {"task": "accounts.clear_expired_tokens", "schedule": 86400.0}
# Deliveries whose worker died mid-send (or whose queued task was lost) are handed out again.
CELERY_BEAT_SCHEDULE["hooks.requeue_stuck_deliveries"] = {"task": "hooks.requeue_stuck_deliveries", "schedule": 300.0}
# Items stored while the broker was unreachable (their analysis message never sent) are queued.
CELERY_BEAT_SCHEDULE["search.requeue_unanalysed"] = {"task": "search.requeue_unanalysed", "schedule": 300.0}
# Viewer page loads per API key, counted in the cache, written to the database.
CELERY_BEAT_SCHEDULE["search.flush_viewer_usage"] = {"task": "search.flush_viewer_usage", "schedule": 60.0}
# Zips whose links expired, or whose Camio was deleted, are removed from storage.
CELERY_BEAT_SCHEDULE["search.purge_downloads"] = {"task": "search.purge_downloads", "schedule": 3600.0}
# Zips no download names (an account deleted while the broker was down) and dead builds' spools.
CELERY_BEAT_SCHEDULE["search.purge_orphaned_zips"] = {"task": "search.purge_orphaned_zips", "schedule": 86400.0}
# Downloads whose task was lost (broker down when asked) or whose worker died mid-build.
CELERY_BEAT_SCHEDULE["search.requeue_stuck_downloads"] = {"task": "search.requeue_stuck_downloads", "schedule": 300.0}

# --- logging: one line per request, to stdout ----------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "config.request_id.RequestIdLogFilter"},
        "secret_path": {"()": "config.log_redaction.SecretPathLogFilter"},
    },
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Our request line replaces Django's own per-request warnings.
        "django.request": {"level": "ERROR", "filters": ["secret_path"]},
        "django.server": {"level": "WARNING"},
    },
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    # Behind TLS (the proxy says so, or the links we hand out are https), the session and CSRF
    # cookies travel over TLS only: a plain http:// link to the host must not carry them in clear.
    _behind_tls = _FORWARDED_PROTO or PUBLIC_BASE_URL.startswith("https://")
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _behind_tls)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _behind_tls)
