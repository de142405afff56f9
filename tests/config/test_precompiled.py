"""config.precompiled.ShapedValuesQuery: the ORM's own SQL, compiled once per shape, rows as the ORM's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from cameras.models import Camera
from config.precompiled import ShapedValuesQuery
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _cameras(values):
    owner_id, *names = values
    return Camera.objects.filter(Q(owner_id=owner_id) & Q(name__in=names)).order_by("name").values("id", "name")


def test_one_shape_compiled_once_runs_with_each_callers_values():
    alice, bob = make_user("alice"), make_user("bob")
    for owner in (alice, bob):
        for name in ("front", "back", "side"):
            Camera.objects.create(owner=owner, name=name)
    query, builds = ShapedValuesQuery(), []

    def build(values):
        builds.append(list(values))
        return _cameras(values)

    for owner in (alice, bob, alice):
        for names in (["front", "back"], ["side", "front"]):
            got = query.rows("default", shape=("two names",), values=[owner.pk, *names], build=build)
            assert got == list(_cameras([owner.pk, *names]))
            assert {row["id"] for row in got} <= set(Camera.objects.filter(owner=owner).values_list("pk", flat=True))
    assert len(builds) == 1  # compiled once (with stand-ins), never built again


def test_a_shape_that_cannot_be_precompiled_runs_on_the_orm_and_is_not_tried_again():
    alice = make_user("alice")
    Camera.objects.create(owner=alice, name="front")
    query, builds = ShapedValuesQuery(), []

    def build(values):  # uses its one value twice: the stand-in cannot say which parameter is which
        builds.append(list(values))
        return Camera.objects.filter(owner_id=values[0]).filter(owner__id=values[0]).values("name")

    for _ in range(3):
        with CaptureQueriesContext(connection) as ctx:
            assert query.rows("default", shape="odd", values=[alice.pk], build=build) == [{"name": "front"}]
        assert len(ctx.captured_queries) == 1
    assert len(builds) == 1 + 3  # one try with stand-ins, then the ORM for each call
