"""The outbound HTTP client of hooks: sign a message the Standard Webhooks way and POST it.

One function, :func:`post`, does one attempt: check the URL with the SSRF guard, connect to the
address that was checked (the URL's host travels in ``Host`` and, for https, in SNI and the
certificate check), never follow redirects, stop at the configured timeouts, and classify the
outcome: success (2xx), retry (network error, 5xx, 429), gone (410) or failure without retry
(3xx, other 4xx, a URL the guard refuses).
"""

from __future__ import annotations

import base64
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
    if value.isdigit():
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


class _Transport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose sockets honour the attempt's deadline."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False, http1=True, http2=False)
        # The pool httpx made is swapped for the same pool with our network backend (httpx has no
        # public switch for it; httpcore does).
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_DeadlineBackend(),
        )


_pool_lock = threading.Lock()
_http_pool: httpx.Client | None = None
# https clients of the current thread's receiver session, per (host, port); None outside a session.
_session = threading.local()


def _new_client(limits: httpx.Limits) -> httpx.Client:
    return httpx.Client(transport=_Transport(limits=limits), follow_redirects=False, trust_env=False)


@contextmanager
def receiver_session() -> Iterator[None]:
    """Within it, this thread's https posts to one host name share one keep-alive connection (a
    batch of deliveries to one receiver); the connections are closed at the end. Plain http uses
    the process's pool either way."""
    _session.clients = {}
    try:
        yield
    finally:
        clients, _session.clients = _session.clients, None
        for c in clients.values():
            c.close()


def _client_for(target: ssrf.CheckedTarget) -> tuple[httpx.Client, bool]:
    """(client, close_after). Plain http shares one keep-alive pool per process: connections are
    keyed by the checked address and every request carries its own Host. https gets a client of
    its own per host name (kept for a receiver session), so a pooled TLS connection made for one
    host name is never reused for another."""
    global _http_pool
    if target.scheme == "https":
        clients = getattr(_session, "clients", None)
        if clients is None:
            return _new_client(httpx.Limits(max_connections=1, max_keepalive_connections=0)), True
        key = (target.host, target.port)
        if key not in clients:
            clients[key] = _new_client(httpx.Limits(max_connections=1, max_keepalive_connections=1))
        return clients[key], False
    with _pool_lock:
        if _http_pool is None:
            _http_pool = _new_client(
                httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30)
            )
        return _http_pool, False


def _address_url(target: ssrf.CheckedTarget, url: str, address: str) -> httpx.URL:
    # Same scheme, port, path and query; only the host becomes the checked address.
    return httpx.URL(url).copy_with(host=address)


def _host_header(target: ssrf.CheckedTarget) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def post(*, url: str, secrets: Sequence[str], msg_id: str, body: str) -> AttemptResult:
    """POST ``body`` to ``url`` once, signed with each of ``secrets``; never raises for anything the
    network does."""
    headers = signed_headers(secrets=secrets, msg_id=msg_id, body=body)
    try:
        target = ssrf.check_url(url)
    except ssrf.UnsafeURL as exc:
        # Refused now (e.g. the name now resolves to a private address): a failure, retried, as
        # DNS may change back; the failing-hooks sweep disables a hook that stays refused.
        return AttemptResult(ok=False, error=f"refused: {exc}"[:500], retry=True, request_headers=headers)
    timeout = httpx.Timeout(settings.HOOK_TIMEOUT_SECONDS, connect=settings.HOOK_CONNECT_TIMEOUT_SECONDS)
    deadline = time.monotonic() + settings.HOOK_TIMEOUT_SECONDS
    _deadline.at = deadline  # every socket operation of this attempt stops by then
    client, close_after = _client_for(target)
    request_headers = {**headers, "host": _host_header(target)}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    started = time.monotonic()
    last_error = ""
    try:
        # Try each checked address in resolver order until one accepts the connection.
        for address in target.addresses:
            try:
                with client.stream(
                    "POST",
                    _address_url(target, url, address),
                    content=body.encode(),
                    headers=request_headers,
                    timeout=timeout,
                    extensions=extensions,
                ) as response:
                    excerpt = bytearray()
                    try:
                        for chunk in response.iter_bytes():
                            excerpt.extend(chunk)
                            # Keep payloads and time bounded: read a little, then stop.
                            if len(excerpt) >= EXCERPT_BYTES or time.monotonic() > deadline:
                                break
                    except httpx.HTTPError:
                        pass  # the status line decides; a body cut short only shortens the excerpt
                    return _classify(response, bytes(excerpt[:EXCERPT_BYTES]), started, headers)
            except httpx.ConnectError as exc:
                last_error = f"connect error: {exc}" or "connect error"
                continue
            except httpx.TimeoutException as exc:
                return _network_failure(f"timeout: {type(exc).__name__}", started, headers)
            except httpx.HTTPError as exc:
                return _network_failure(f"{type(exc).__name__}: {exc}", started, headers)
        return _network_failure(last_error or "no address to connect to", started, headers)
    finally:
        _deadline.at = None
        if close_after:
            client.close()


def _network_failure(error: str, started: float, headers: dict[str, str]) -> AttemptResult:
    return AttemptResult(
        ok=False,
        error=error[:500],
        retry=True,
        latency_ms=int((time.monotonic() - started) * 1000),
        request_headers=headers,
    )


def _classify(response: httpx.Response, excerpt: bytes, started: float, headers: dict[str, str]) -> AttemptResult:
    code = response.status_code
    result = AttemptResult(
        ok=200 <= code < 300,
        status_code=code,
        latency_ms=int((time.monotonic() - started) * 1000),
        response_excerpt=excerpt.decode("utf-8", "replace"),
        request_headers=headers,
    )
    if result.ok:
        return result
    if 300 <= code < 400:
        result.error = f"redirect ({code}) to {response.headers.get('location', '?')[:200]} not followed"
    elif code == 410:
        result.error, result.gone = "410 Gone: the receiver asked to stop", True
    elif code == 429 or code >= 500:
        result.error, result.retry = f"HTTP {code}", True
        result.retry_after = parse_retry_after(response.headers.get("retry-after"))
    else:
        result.error = f"HTTP {code}"
    return result
