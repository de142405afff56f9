"""The address a request came from, as the server sees it."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The caller's public address: ``REMOTE_ADDR``, or behind our proxy (``USE_X_FORWARDED_FOR``)
    the last ``X-Forwarded-For`` hop, the one our proxy appended (earlier hops are the client's word).
    """
    raw = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "USE_X_FORWARDED_FOR", False):
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            raw = hops[-1]
    return _canonical(raw)


# Every poll asks this; a front of many cameras shares few public addresses.
@lru_cache(maxsize=4096)
def _canonical(raw: str) -> str | None:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None
