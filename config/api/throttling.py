"""Per-token rate limiting on the shared cache (Redis in production)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period]


class TokenRateThrottle(BaseThrottle):
    """A fixed-window counter per access token (per client address for anonymous calls).

    Two O(1) cache operations per request (add, incr), unlike DRF's history list, which grows
    with the limit. The limit is read on each request so ``API_RATE_LIMIT`` changes apply.
    """

    def allow_request(self, request, view) -> bool:
        limit, period = parse_rate(settings.API_RATE_LIMIT)
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self._ident(request)}:{window}"
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=period + 1)
            count = 1
        if count <= limit:
            return True
        self._wait = (window + 1) * period - now
        return False

    def wait(self) -> float:
        return getattr(self, "_wait", 1.0)

    def _ident(self, request) -> str:
        auth = request.auth
        if auth is not None and getattr(auth, "pk", None) is not None:
            return f"token:{auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"addr:{self.get_ident(request)}"
