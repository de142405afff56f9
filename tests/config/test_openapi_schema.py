"""The OpenAPI document partners read (/api/schema/, /api/docs/): complete, valid, and cached."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.views import APIView

from config.api.schema import schema_cache_clear

METHODS = ("get", "post", "put", "patch", "delete")
# Plain Django views under /api/ (drf-spectacular cannot see them; config.api.openapi describes
# them) and the methods partners and cameras use. The authorize endpoint's POST is the consent
# form a signed-in user submits in the browser, not an API call.
PLAIN_VIEWS = {
    "camera-poll": {"get", "post", "put"},
    "oauth-authorize": {"get"},
    "oauth-access-token": {"post"},
}
# Not for partners: the schema and its docs page, and the catch-all JSON 404.
NOT_DOCUMENTED = {"schema", "docs", None}


@pytest.fixture(scope="module")
def schema():
    GENERATOR_STATS.reset()
    document = SchemaGenerator().get_schema(request=None, public=True)
    warnings, errors = dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)
    return document, warnings, errors


def _served_routes():
    """(OpenAPI path, route name, methods) of every route the URLconf serves under /api/."""

    def walk(patterns, prefix):
        for pattern in patterns:
            regex = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, regex)
            elif isinstance(pattern, URLPattern):
                yield regex, pattern

    for regex, pattern in walk(get_resolver().url_patterns, ""):
        if not regex.startswith("api/"):
            continue
        path = "/" + re.sub(r"\(\?P<(\w+)>\[\^/\]\+\)", r"{\1}", regex).replace("^", "").removesuffix("$")
        path = path.removesuffix("/?").removesuffix("/")
        yield path, pattern.name, pattern.callback


def test_generating_the_schema_warns_of_nothing(schema):
    _, warnings, errors = schema
    assert errors == {} and warnings == {}


def test_the_management_command_validates_it_and_fails_on_no_warning(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.read_text().startswith("openapi: 3.")


def test_every_partner_route_is_documented_with_its_methods(schema):
    document = schema[0]
    served = {}
    for path, name, callback in _served_routes():
        if name in NOT_DOCUMENTED:
            continue
        view = getattr(callback, "cls", None)
        if view is not None and issubclass(view, APIView):
            methods = {m for m in METHODS if hasattr(view, m)}
            if path.endswith("/content") and path.startswith("/api/users/"):
                methods.discard("get")  # without a content id: only ever 404
        else:
            methods = PLAIN_VIEWS[name]
        served[path] = methods
    documented = {path: set(operations) for path, operations in document["paths"].items()}
    assert documented == served


def test_operations_are_complete_and_uniquely_named(schema):
    document = schema[0]
    ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            ids.append(operation["operationId"])
            assert operation.get("summary"), where
            assert operation.get("tags"), where
            assert any(code.startswith("2") for code in operation["responses"]), where
            assert "``" not in operation.get("description", ""), f"{where}: an internal docstring leaked"
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), where
            if path in ("/api/login/oauth/authorize", "/api/login/oauth/access_token"):
                continue
            for code in ("400", "401", "403", "404"):
                if code in operation["responses"]:
                    body = operation["responses"][code]["content"]["application/json"]["schema"]
                    assert body == {"$ref": "#/components/schemas/Error"}, (where, code)
    assert len(ids) == len(set(ids))
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["message"] and set(error["properties"]) == {"message", "errors"}


def test_search_documents_the_reference_parameters(schema):
    operation = schema[0]["paths"]["/api/search"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert {
        "object_type",
        "date",
        "event_as_date",
        "sort",
        "sources",
        "labels",
        "event",
        "content_type",
        "motion_type",
        "num_results",
        "user",
        "view_tokens",
        "fetch_motion_boxes",
        "fetch_cover_thumbnails",
        "fetch_all_thumbnails",
        "fetch_access_tokens",
        "w",
        "h",
        "quality",
        "text",
    } == set(params)
    assert all(p["in"] == "query" for p in params.values())
    assert set(params["object_type"]["schema"]["enum"]) == {"events", "seconds", "hours", "camios"}
    assert set(params["motion_type"]["schema"]["enum"]) == {"all", "smo", "imo", "lmo"}
    assert params["num_results"]["schema"]["type"] == "integer"
    assert params["fetch_all_thumbnails"]["schema"]["type"] == "boolean"
    assert params["sources"]["schema"]["type"] == "string"  # comma separated, as the view reads it
    # Anonymous callers may search with view_tokens: authentication is optional here.
    assert {} in operation["security"]
    result = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert result == {"$ref": "#/components/schemas/SearchResponse"}


def test_hooks_document_their_body_responses_and_callback(schema):
    document = schema[0]
    components = document["components"]["schemas"]
    create = document["paths"]["/api/users/{token}/hooks"]["post"]
    body = components[create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert {"callback_url", "type", "query", "camera_name"} <= set(body["properties"])
    assert set(body["required"]) == {"callback_url", "type", "query"}
    answer = components["Hook"]
    assert {"id", "type", "callback_url", "query", "secret"} <= set(answer["properties"])
    assert "label_hit" in create["callbacks"]
    patch = document["paths"]["/api/users/{token}/hooks/{hook}"]["patch"]
    patched = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "required" not in components[patched]  # PATCH takes any subset
    assert set(document["paths"]["/api/users/{token}/hooks/{hook}"]["delete"]["responses"]) >= {"204", "404"}


def test_the_token_scheme_is_applied(schema):
    document = schema[0]
    schemes = document["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {**schemes["tokenAuth"], "type": "apiKey", "in": "header", "name": "Authorization"}
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["accessTokenQuery"] == {**schemes["accessTokenQuery"], "in": "query", "name": "access_token"}
    reads = document["paths"]["/api/users/{token}/cameras"]["get"]["security"]
    assert reads == [{"tokenAuth": []}, {"bearerAuth": []}, {"accessTokenQuery": []}]
    # Writes must carry the header (config.api.authentication reads the query on GET only).
    writes = document["paths"]["/api/users/{token}/cameras/{camera}/zones/{zone}"]["post"]["security"]
    assert writes == [{"tokenAuth": []}, {"bearerAuth": []}]
    # Open endpoints say so.
    assert document["paths"]["/api/tokens/{upload_token}/hint"]["get"]["security"] == [{}]
    assert document["paths"]["/api/cameras/{mac_address}"]["get"]["security"] == [{}]


def test_uploads_document_binary_bodies_and_their_parameters(schema):
    paths = schema[0]["paths"]
    upload = paths["/api/users/{token}/cameras/{camera}/content/{name}"]["post"]
    assert {"image/jpeg", "video/mp4"} <= set(upload["requestBody"]["content"])
    params = {p["name"]: p for p in upload["parameters"]}
    assert params["camera_id"]["required"] is True
    assert set(params["upload_mode"]["schema"]["enum"]) == {"image", "video"}
    assert "name" not in {p["name"] for p in paths["/api/users/{token}/cameras/{camera}/content"]["post"]["parameters"]}
    fetch = paths["/api/users/{token}/cameras/{camera}/content/{name}"]["get"]
    assert "image/jpeg" in fetch["responses"]["200"]["content"]


@pytest.mark.django_db
def test_the_schema_view_builds_once_and_serves_every_format(anon, monkeypatch):
    schema_cache_clear()
    calls = []
    original = SchemaGenerator.get_schema

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counting)
    started = time.perf_counter()
    first = anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    second_seconds = time.perf_counter() - started
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert second_seconds < first_seconds
    assert first["Content-Type"] == "application/vnd.oai.openapi+json"
    assert "/api/search" in json.loads(second.content)["paths"]
    yaml = anon.get("/api/schema/", HTTP_ACCEPT="*/*")
    assert yaml.status_code == 200 and yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.content.startswith(b"openapi: 3.")
    assert anon.get("/api/schema/?lang=xx-nowhere&version=9").content == yaml.content
    assert len(calls) == 1
    schema_cache_clear()


@pytest.mark.django_db
def test_the_docs_page_still_works_offline(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "/static/drf_spectacular_sidecar/" in text
    assert not re.search(r"cdn|unpkg|jsdelivr|https?://", text, re.IGNORECASE)
