"""The API's routes are found by their literal segments (``SegmentIndexedResolver``): every path
must resolve exactly as Django's own resolver of the same routes resolves it."""

from __future__ import annotations

import itertools
import re

import pytest
from django.urls import Resolver404, URLResolver, get_resolver, re_path, reverse
from django.urls.resolvers import RoutePattern

from config.api.routing import SegmentIndexedResolver, api_route, route_key
from config.urls import api_patterns


def _view(request, **kwargs):  # pragma: no cover - never called: only resolved
    raise AssertionError


def _sample_paths(route) -> list[str]:
    """Paths a route matches and near misses: its regex with each placeholder filled in."""
    text = getattr(route.pattern, "_regex", None) or route.pattern._route
    text = text.removeprefix("^").removesuffix("$").removesuffix("/?")
    text = text.replace(r"[\s\S]*", "anything/else")
    filled = re.sub(r"\(\?P<\w+>\[\^/\]\+\)", "x1", text)
    filled = re.sub(r"<(?:str:)?\w+>", "x1", filled)
    return [filled, filled + "/", filled + "/extra", filled.replace("x1", "cameras")]


SEGMENTS = ["users", "me", "cameras", "hooks", "search", "content", "camios", "x", "", "Search", "USERS", "%20"]
PATHS = sorted(
    {p for route in api_patterns for p in _sample_paths(route)}
    | {"/".join(parts) for n in (1, 2, 3, 4) for parts in itertools.product(SEGMENTS[:8], repeat=n) if n < 4}
    | {"", "/", "users//cameras", "users/me/", "users/me/cameras//", "search\n", "search%0A", "docs", "schema"}
)


def _outcome(resolver, path: str):
    try:
        match = resolver.resolve(path)
    except Resolver404:
        return None
    return (match.func, match.args, match.kwargs, match.url_name, match.route, match.app_names, match.namespaces)


@pytest.mark.parametrize("prefix", ["api/", ""])
def test_every_path_resolves_as_djangos_resolver_does(prefix):
    indexed = SegmentIndexedResolver(prefix, api_patterns)
    plain = URLResolver(RoutePattern(prefix), api_patterns)
    for path in PATHS:
        assert _outcome(indexed, prefix + path) == _outcome(plain, prefix + path), path
    assert _outcome(indexed, "elsewhere/search") == _outcome(plain, "elsewhere/search")


def test_the_project_resolves_and_reverses_api_routes_through_the_index():
    resolver = get_resolver()
    assert isinstance(resolver.url_patterns[0], SegmentIndexedResolver)
    assert resolver.resolve("/api/users/me/cameras").url_name == "camera-list"
    assert resolver.resolve("/api/users/me/cameras/front/zones/").kwargs == {"token": "me", "camera": "front"}
    assert resolver.resolve("/api/nowhere").func.__name__ == "api_not_found"
    assert reverse("camera-detail", kwargs={"token": "me", "camera": "front"}) == "/api/users/me/cameras/front"
    assert reverse("schema") == "/api/schema/"


def test_route_keys_name_only_literal_segments():
    assert route_key(api_route("users/<token>/cameras/<camera>", _view, "a")) == ("users", "cameras")
    assert route_key(api_route("search", _view, "b")) == ("search", None)
    assert route_key(api_route("content/live/<camera>", _view, "c")) == ("content", None)
    assert route_key(api_route("<token>/cameras", _view, "d")) == (None, None)
    assert route_key(re_path(r"^users-(?P<x>\d+)/", _view)) == (None, None)  # not a whole segment
    assert route_key(re_path(r"(?i)^search/?$", _view)) == (None, None)  # any case: not indexed
    assert route_key(re_path(r"^[\s\S]*$", _view)) == (None, None)


def test_routes_without_literals_keep_their_place_in_every_group():
    first = re_path(r"^(?P<anything>[^/]+)/cameras/?$", _view, name="any-cameras")
    routes = [first, api_route("users/<token>/cameras", _view, "user-cameras"), re_path(r"^.*$", _view, name="all")]
    indexed = SegmentIndexedResolver("", routes)
    assert indexed.resolve("users/cameras").url_name == "any-cameras"
    assert indexed.resolve("users/me/cameras").url_name == "user-cameras"
    assert indexed.resolve("nobody/knows").url_name == "all"
