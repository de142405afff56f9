"""The outbound HTTP client of hooks: sign a message the Standard Webhooks way and POST it.

One function, :func:`post`, does one attempt: check the URL with the SSRF guard, connect to the
address that was checked (the URL's host travels in ``Host`` and, for https, in SNI and the
certificate check), never follow redirects, stop at the configured timeouts, and classify the
outcome: success (2xx), retry (network error, 5xx, 429), gone (410) or failure without retry
(3xx, other 4xx, a URL the guard refuses).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import certifi
import httpcore
import httpx
from django.conf import settings

from hooks import ssrf

USER_AGENT = "camhub-hooks/1 (+label_hit callbacks; Standard Webhooks)"
EXCERPT_BYTES = 2048


def sign(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` with the key of a ``whsec_`` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, secrets: Sequence[str], msg_id: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers of one attempt: a fresh timestamp and signature, the same message id.

    One ``v1,`` signature per secret, space-separated (a rotation's overlap signs with both)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets),
    }


@dataclass
class AttemptResult:
    """What one POST came to; ``retry``/``gone`` tell the caller what to do next."""

    ok: bool
    status_code: int | None = None
    error: str = ""
    retry: bool = False
    gone: bool = False
    retry_after: float | None = None  # seconds, from a Retry-After header
    latency_ms: int = 0
    response_excerpt: str = ""
    request_headers: dict[str, str] = field(default_factory=dict)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# --- one attempt, one deadline ---------------------------------------------------------------------
# httpx's timeouts bound each connect, read and write, not the whole attempt: a receiver dripping
# a byte every few seconds could hold a worker thread (and outlive the delivery's lease, so the
# sweep would send it twice). Every socket operation of an attempt is therefore clamped to the
# attempt's deadline, kept per thread (a worker thread runs one attempt at a time).
_deadline = threading.local()


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` clamped to what is left of this thread's attempt; ``error`` once none is left."""
    at = getattr(_deadline, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the attempt's time is up")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(super().connect_tcp(host, port, timeout, local_address, socket_options))


class _Pool(httpcore.ConnectionPool):
    """httpcore's connection pool over sockets that honour the attempt's deadline.

    Deliveries talk to httpcore directly, not through ``httpx.Client``: a delivery needs none of
    the client's layers (URL building, cookies, auth, redirects: never followed), and skipping them
    halves the CPU of a post (0.20 against 0.39 ms on loopback; the worker's throughput is bound
    by it)."""

    def __init__(self, *, max_connections: int, max_keepalive_connections: int, keepalive_expiry: float | None = None):
        super().__init__(
            ssl_context=_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_DeadlineBackend(),
        )
        self.closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


_ssl_lock = threading.Lock()
_ssl: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process (certifi's roots), shared by every pool."""
    global _ssl
    with _ssl_lock:
        if _ssl is None:
            _ssl = ssl.create_default_context(cafile=certifi.where())
        return _ssl


# What a connection or exchange can raise in httpcore (it has no common base class).
_HTTP_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
    httpcore.ProxyError,
)

_pool_lock = threading.Lock()
_http_pool: _Pool | None = None
# This thread's receiver session (a batch): https pools per (host, port), and the SSRF checks of
# its URLs' hosts; None outside a session.
_session = threading.local()


@contextmanager
def receiver_session() -> Iterator[None]:
    """Within it, this thread's https posts to one host name share one keep-alive connection (a
    batch of deliveries to one receiver; the connections are closed at the end), and a host is
    resolved and checked by the SSRF guard once, at the batch's first post (a batch lasts seconds;
    every post still connects to the address that was checked). Plain http uses the process's pool
    either way."""
    _session.clients, _session.targets = {}, {}
    try:
        yield
    finally:
        clients, _session.clients, _session.targets = _session.clients, None, None
        for c in clients.values():
            c.close()


def _client_for(target: ssrf.CheckedTarget) -> tuple[_Pool, bool]:
    """(pool, close_after). Plain http shares one keep-alive pool per process: connections are
    keyed by the checked address and every request carries its own Host. https gets a pool of
    its own per host name (kept for a receiver session), so a pooled TLS connection made for one
    host name is never reused for another."""
    global _http_pool
    if target.scheme == "https":
        clients = getattr(_session, "clients", None)
        if clients is None:
            return _Pool(max_connections=1, max_keepalive_connections=0), True
        key = (target.host, target.port)
        if key not in clients:
            clients[key] = _Pool(max_connections=1, max_keepalive_connections=1)
        return clients[key], False
    with _pool_lock:
        if _http_pool is None:
            _http_pool = _Pool(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30)
        return _http_pool, False


def _checked_target(url: str) -> ssrf.CheckedTarget:
    """The SSRF guard's verdict on ``url`` (raises :class:`ssrf.UnsafeURL`); once per host in a
    receiver session."""
    targets = getattr(_session, "targets", None)
    if targets is None:
        return ssrf.check_url(url)
    key = (*ssrf.split_url(url), settings.HOOKS_ALLOW_PRIVATE_NETWORKS)
    if key not in targets:
        try:
            targets[key] = ssrf.check_url(url)
        except ssrf.UnsafeURL as exc:
            targets[key] = exc
    found = targets[key]
    if isinstance(found, ssrf.UnsafeURL):
        raise found
    return found


@functools.lru_cache(maxsize=4096)
def _request_target(url: str) -> bytes:
    """The request line's target (path and query, percent-encoded as httpx encodes them)."""
    return httpx.URL(url).raw_path


def _host_header(target: ssrf.CheckedTarget) -> str:
    host = f"[{target.host}]" if ":" in target.host else ssrf.ascii_host(target.host)
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def post(*, url: str, secrets: Sequence[str], msg_id: str, body: str) -> AttemptResult:
    """POST ``body`` to ``url`` once, signed with each of ``secrets``; never raises for anything the
    network does."""
    headers = signed_headers(secrets=secrets, msg_id=msg_id, body=body)
    try:
        target = _checked_target(url)
    except ssrf.UnsafeURL as exc:
        # Refused now (e.g. the name now resolves to a private address): a failure, retried, as
        # DNS may change back; the failing-hooks sweep disables a hook that stays refused.
        return AttemptResult(ok=False, error=f"refused: {exc}"[:500], retry=True, request_headers=headers)
    deadline = time.monotonic() + settings.HOOK_TIMEOUT_SECONDS
    _deadline.at = deadline  # every socket operation of this attempt stops by then
    try:
        host_header, request_target = _host_header(target), _request_target(url)
        sni_hostname = ssrf.ascii_host(target.host) if target.scheme == "https" else None
    except (httpx.InvalidURL, UnicodeError) as exc:
        # Stored before the form check refused such URLs (or through a path that skipped it): it
        # will never be sendable, so no retry; the batch it rides in goes on.
        return AttemptResult(
            ok=False, error=f"refused: unsendable URL: {exc}"[:500], retry=False, request_headers=headers
        )
    pool, close_after = _client_for(target)
    content = body.encode()
    request_headers = [
        ("host", host_header),
        *headers.items(),
        ("content-length", str(len(content))),
    ]
    extensions: dict = {
        "timeout": {
            "connect": settings.HOOK_CONNECT_TIMEOUT_SECONDS,
            "read": settings.HOOK_TIMEOUT_SECONDS,
            "write": settings.HOOK_TIMEOUT_SECONDS,
            "pool": settings.HOOK_TIMEOUT_SECONDS,
        }
    }
    if sni_hostname is not None:
        extensions["sni_hostname"] = sni_hostname
    started = time.monotonic()
    last_error = ""
    try:
        # Try each checked address in resolver order until one accepts the connection.
        for address in target.addresses:
            request_url = httpcore.URL(
                scheme=target.scheme.encode(), host=address.encode(), port=target.port, target=request_target
            )
            try:
                with pool.stream(
                    "POST", request_url, headers=request_headers, content=content, extensions=extensions
                ) as response:
                    excerpt = bytearray()
                    try:
                        for chunk in response.iter_stream():
                            excerpt.extend(chunk)
                            # Keep payloads and time bounded: read a little, then stop.
                            if len(excerpt) >= EXCERPT_BYTES or time.monotonic() > deadline:
                                break
                    except _HTTP_ERRORS:
                        pass  # the status line decides; a body cut short only shortens the excerpt
                    return _classify(
                        response.status,
                        {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers},
                        bytes(excerpt[:EXCERPT_BYTES]),
                        started,
                        headers,
                    )
            except httpcore.ConnectError as exc:
                last_error = f"connect error: {exc}" or "connect error"
                continue
            except httpcore.TimeoutException as exc:
                return _network_failure(f"timeout: {type(exc).__name__}", started, headers)
            except _HTTP_ERRORS as exc:
                return _network_failure(f"{type(exc).__name__}: {exc}", started, headers)
        return _network_failure(last_error or "no address to connect to", started, headers)
    finally:
        _deadline.at = None
        if close_after:
            pool.close()


def _network_failure(error: str, started: float, headers: dict[str, str]) -> AttemptResult:
    return AttemptResult(
        ok=False,
        error=error[:500],
        retry=True,
        latency_ms=int((time.monotonic() - started) * 1000),
        request_headers=headers,
    )


def _classify(
    code: int, response_headers: dict[str, str], excerpt: bytes, started: float, headers: dict[str, str]
) -> AttemptResult:
    result = AttemptResult(
        ok=200 <= code < 300,
        status_code=code,
        latency_ms=int((time.monotonic() - started) * 1000),
        # Receivers answer what they like: a NUL (binary, a C string's end) cannot be stored in a
        # PostgreSQL text column, and the attempt must be recorded whatever the answer held.
        response_excerpt=excerpt.decode("utf-8", "replace").replace("\x00", "\ufffd"),
        request_headers=headers,
    )
    if result.ok:
        return result
    if 300 <= code < 400:
        result.error = f"redirect ({code}) to {response_headers.get('location', '?')[:200]} not followed"
    elif code == 410:
        result.error, result.gone = "410 Gone: the receiver asked to stop", True
    elif code == 429 or code >= 500:
        result.error, result.retry = f"HTTP {code}", True
        result.retry_after = parse_retry_after(response_headers.get("retry-after"))
    else:
        result.error = f"HTTP {code}"
    return result
