"""The API's JSON renderer (orjson) writes what DRF's renderer wrote, value for value."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from config.api.renderers import JSONRenderer

SAMPLES = [
    [],
    {},
    {"id": "abc", "n": 3, "f": 0.1234, "tiny": 1e-05, "big": 1.2345678901234568e17, "t": True, "none": None},
    {"when": datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC), "day": date(2026, 11, 20), "at": time(7, 30)},
    {"price": Decimal("1.10"), "id": uuid.UUID(int=7), "lazy": gettext_lazy("Not found")},
    {"text": 'é ü 中 \u2028 \u2029 " \\ \n \x01', "keys": {1: "int key", "s": "str"}},
    ReturnDict({"a": ReturnList([1, 2, {"b": "c"}], serializer=None)}, serializer=None),
    {"labels": ["people", "_color_red"], "nested": [[[0.5, 0.25]]], "tuple": (1, 2)},
]


@pytest.mark.parametrize("data", SAMPLES)
def test_same_values_as_drf(data):
    ours = JSONRenderer().render(data, "application/json", {})
    theirs = DRFJSONRenderer().render(data, "application/json", {})
    assert json.loads(ours) == json.loads(theirs)
    # U+2028 and U+2029 escaped, like DRF's.
    assert b"\xe2\x80\xa8" not in ours and b"\xe2\x80\xa9" not in ours


def test_compact_and_unescaped_like_drf():
    data = {"a": 1, "b": [1, 2], "name": "café"}
    assert JSONRenderer().render(data) == DRFJSONRenderer().render(data) == '{"a":1,"b":[1,2],"name":"café"}'.encode()


def test_drf_spelling_of_dates_and_byte_identical_common_answers():
    data = {"date_created": datetime(2026, 11, 20, 12, 0, 0, 123000, tzinfo=UTC), "name": "Front", "count": 2}
    assert JSONRenderer().render(data) == DRFJSONRenderer().render(data)


def test_what_orjson_refuses_goes_through_drf():
    huge = {"n": 2**70}
    assert JSONRenderer().render(huge) == DRFJSONRenderer().render(huge)


def test_an_indented_answer_is_drfs():
    data = {"a": [1, 2]}
    accepted = "application/json; indent=2"
    assert JSONRenderer().render(data, accepted, {}) == DRFJSONRenderer().render(data, accepted, {})
    assert b"\n  " in JSONRenderer().render(data, accepted, {})


def test_none_is_an_empty_body():
    assert JSONRenderer().render(None) == b""


def test_api_answers_come_from_this_renderer(api):
    response = api.get("/api/users/me/cameras", HTTP_ACCEPT="application/json; indent=4")
    assert response.status_code == 200 and response.content == b"[]"
    response = api.get("/api/users/me/settings")
    assert response.status_code == 200
    assert isinstance(response.accepted_renderer, JSONRenderer)
