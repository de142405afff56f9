"""The SSRF guard: callback URLs must point at the public internet.

A callback URL is checked when a hook is created or changed, and again at every send, where the
resolved and checked address is the one connected to (no second DNS lookup a rebinding server
could answer differently). Refused: loopback, private, shared (CGNAT), link-local (cloud metadata
at 169.254.169.254 included), multicast, reserved, unspecified and documentation ranges, in
whatever spelling: IPv4-mapped/compatible IPv6, NAT64, 6to4 and Teredo embeddings, and the
decimal, octal, hex and short forms the C resolver accepts (``2130706433``, ``0177.1``,
``0x7f.0.0.1``, ``127.1``). ``HOOKS_ALLOW_PRIVATE_NETWORKS`` turns the guard off (development,
tests, receivers on a private network).

Before the guard, :func:`check_url_form` refuses at creation what could never be delivered,
wherever it points: a malformed host or port, or a user name and password in the URL.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import idna
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges `is_global` misses or that carry another address inside them.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_EXTRA_BLOCKED = [
    ipaddress.IPv4Network("100.64.0.0/10"),  # shared address space (CGNAT; Alibaba's metadata)
    ipaddress.IPv4Network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.IPv4Network("198.18.0.0/15"),  # benchmarking
    ipaddress.IPv4Network("240.0.0.0/4"),  # reserved, broadcast
]


class UnsafeURL(ValueError):
    """A callback URL the guard refuses; the message says why (shown to the API client)."""


@dataclass(frozen=True)
class CheckedTarget:
    """Where to connect: the URL's parts and the addresses that passed the guard, in resolver order."""

    scheme: str
    host: str  # as written (a name, or an address literal without brackets)
    port: int
    addresses: tuple[str, ...]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]  # the client address
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip))  # deprecated IPv4-compatible ::a.b.c.d
    return None


def is_public_address(ip: IPAddress) -> bool:
    """Whether ``ip`` is a public unicast address (any embedded IPv4 address checked too)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        if ip.ipv4_mapped:
            return is_public_address(ip.ipv4_mapped)  # the IPv4 address is what is reached
        inner = _embedded_ipv4(ip)
        if inner is not None and not is_public_address(inner):
            return False
        if ip in _SIXTOFOUR or ip in _TEREDO:
            return inner is not None
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback or ip.is_link_local or ip.is_reserved:
        return False
    if isinstance(ip, ipaddress.IPv4Address) and any(ip in net for net in _EXTRA_BLOCKED):
        return False
    return ip.is_global


def literal_address(host: str) -> IPAddress | None:
    """The address a host *literal* means, in any spelling the resolver would accept, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # inet_aton accepts the legacy forms: 2130706433, 0x7f000001, 0177.0.0.1, 127.1.
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def split_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute http(s) URL; UnsafeURL if it is not one."""
    if not isinstance(url, str) or not url:
        raise UnsafeURL("callback_url must be an absolute http or https URL")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"callback_url is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("callback_url must be an absolute http or https URL")
    if any(ch.isspace() for ch in url.strip()):
        raise UnsafeURL("callback_url must not contain spaces")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


# One DNS label (RFC 1035, RFC 1123): letters, digits and hyphens, no hyphen at either end.
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE | re.ASCII)
MAX_DNS_NAME = 253


def ascii_host(host: str) -> str:
    """The ASCII (``xn--``) form of a DNS name, by IDNA 2008 as httpx and browsers spell it.

    Not Python's ``idna`` codec (IDNA 2003), which maps ``straße.example`` to ``strasse.example``,
    another registrable domain: the lookup, ``Host`` and TLS name would all go to its owner.
    ``idna.IDNAError`` (a ``UnicodeError``) for a name IDNA 2008 refuses (``☃.example``).
    """
    if host.isascii():
        return host
    return idna.encode(host.lower()).decode("ascii")


def _dns_name_problem(host: str) -> str | None:
    """Why ``host`` (not an IP literal) is not a DNS name a resolver can look up, or None."""
    name = host
    if not host.isascii():
        try:
            name = ascii_host(host)  # an internationalised name is looked up by its xn-- form
        except UnicodeError:
            return "is not a valid internationalised domain name (IDNA 2008)"
    name = name[:-1] if name.endswith(".") else name  # a fully qualified name's root dot
    if not name or len(name) > MAX_DNS_NAME:
        return f"must be 1 to {MAX_DNS_NAME} characters long"
    labels = name.split(".")
    for label in labels:
        if not _DNS_LABEL.fullmatch(label):
            return "must be dot-separated labels of 1 to 63 letters, digits or hyphens, no hyphen at either end"
        if label.lower().startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")  # an A-label must decode (valid Punycode)
            except UnicodeError:
                return f"has a malformed internationalised label {label!r}"
    if labels[-1].isdigit():
        # A numeric last label makes it an IPv4 address to resolvers (and this one is not valid).
        return "is not a valid IP address"
    return None


def check_url_form(url: str) -> None:
    """Refuse a URL no delivery could use: not absolute http(s), user info, port outside
    1-65535, a host that is neither an IP literal nor a valid DNS name, or anything the sender's
    URL parser (httpx) refuses, such as control characters (UnsafeURL says which)."""
    split_url(url)  # scheme and presence of a host
    try:
        httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise UnsafeURL(f"callback_url cannot be sent to: {exc}") from None
    parts = urlsplit(url.strip())
    if "@" in parts.netloc:
        # The sender never sends them (deliveries are signed instead), and the API and admin
        # would show them back in the hook's URL.
        raise UnsafeURL("callback_url must not contain a user name or password")
    if parts.port is not None and not 1 <= parts.port <= 65535:
        raise UnsafeURL("callback_url port must be between 1 and 65535")
    host = parts.hostname or ""
    if "[" in parts.netloc:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeURL(f"callback_url host [{host}] is not a valid IPv6 address") from None
        return
    if literal_address(host) is not None:
        return  # an IPv4 address, in any spelling the resolver accepts (the guard judges where)
    problem = _dns_name_problem(host)
    if problem:
        raise UnsafeURL(f"callback_url host {host!r} {problem}")


def url_origin(url: str) -> str:
    """``scheme://host:port`` of a callback URL (the receiver a delivery connects to); the URL
    itself, cut to 300 characters, when it is not an absolute http(s) URL."""
    try:
        scheme, host, port = split_url(url)
    except UnsafeURL:
        return (url or "")[:300]
    return f"{scheme}://{host}:{port}"[:300]


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal resolves to itself)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        # Python would IDNA-2003-encode a non-ASCII name here: give it the IDNA 2008 form.
        infos = socket.getaddrinfo(ascii_host(host), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL(f"callback_url host {host!r} does not resolve: {exc}") from None
    seen: dict[str, IPAddress] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        seen.setdefault(address, ipaddress.ip_address(address))
    if not seen:
        raise UnsafeURL(f"callback_url host {host!r} does not resolve")
    return list(seen.values())


def check_url(url: str, *, allow_private: bool | None = None, allow_unresolved: bool = False) -> CheckedTarget:
    """Resolve ``url``'s host and refuse it unless every address is public.

    Every address must pass (a name resolving to one public and one private address is refused),
    so whichever the sender connects to is safe. ``allow_unresolved`` (at creation) accepts a name
    that does not resolve yet: it is checked again at every send.
    """
    scheme, host, port = split_url(url)
    if allow_private is None:
        allow_private = settings.HOOKS_ALLOW_PRIVATE_NETWORKS
    name = host.rstrip(".").lower()
    if not allow_private and (name == "localhost" or name.endswith(".localhost")):
        # RFC 6761: always loopback, whatever a resolver here says.
        raise UnsafeURL(f"callback_url must point to a public address, not loopback ({host})")
    try:
        addresses = resolve(host, port)
    except UnsafeURL:
        if not allow_unresolved:
            raise
        addresses = []
    if not allow_private:
        for ip in addresses:
            if not is_public_address(ip):
                raise UnsafeURL(f"callback_url must point to a public address, not {ip} ({host})")
    return CheckedTarget(scheme=scheme, host=host, port=port, addresses=tuple(str(ip) for ip in addresses))
