"""A camera renamed (``cameras.services.camera_rename``): the Camios and hooks that name it follow it."""

from __future__ import annotations

import pytest
from django.test import TestCase

from tests.config.test_admin_integrity import _form_errors, form_data
from tests.search.test_search_factories import camera

pytestmark = pytest.mark.django_db


def _rename(cam, name: str) -> None:
    from cameras.services import camera_rename

    with TestCase.captureOnCommitCallbacks(execute=True):
        camera_rename(camera=cam, name=name)


def _hook(user, query: str, camera_name: str = ""):
    from hooks.models import Hook

    return Hook.objects.create(owner=user, callback_url="http://example.com/cb", query=query, camera_name=camera_name)


@pytest.mark.parametrize(
    ("old", "new", "query", "expected"),
    [
        ("front", "porch", "front people", "porch people"),
        ("front", "porch", "front, people", "porch, people"),
        ("front", "porch", "people not front", "people not porch"),
        ("front", "porch", '"front" people', "porch people"),
        ("front", "back yard", "front people", '"back yard" people'),
        ("back yard", "porch", "back yard people", "porch people"),
        ("back yard", "porch", "\u201cback yard\u201d people", "porch people"),
        # A date word unquoted would be read as the date: the name is quoted.
        ("front", "today", "front people", '"today" people'),
        # A label that is only spelled like the camera elsewhere stays (a zone or other camera too).
        ("front", "porch", "gate people", "gate people"),
    ],
)
def test_hook_queries_name_the_renamed_camera(user, old, new, query, expected):
    from hooks.models import Hook

    camera(user, old)
    camera(user, "gate")
    hook = _hook(user, query)
    _rename(camera(user, old), new)
    assert Hook.objects.get(pk=hook.pk).query == expected


def test_hooks_follow_the_renamed_camera_and_fire_for_it(user):
    from hooks import services
    from tests.hooks.conftest import make_event

    cam = camera(user, "front")
    other = camera(user, "gate")
    by_name = _hook(user, "people", camera_name="FRONT")  # names are compared case-insensitively
    by_query = _hook(user, "front people")
    excluding = _hook(user, "people not front")
    _rename(cam, "back yard")
    fired = {d.hook_id for d in services.hooks_fire_for_event(event=make_event(cam, ["people"]))}
    assert fired == {by_name.pk, by_query.pk}
    fired = {d.hook_id for d in services.hooks_fire_for_event(event=make_event(other, ["people"]))}
    assert fired == {excluding.pk}


def test_the_rename_tasks_are_idempotent_and_keep_to_a_camera_named_anew(user):
    """At least once: a task run again changes nothing; a camera created since under the old name
    (an upload still using it) keeps the Camios and hooks that name it."""
    from hooks.models import Hook
    from hooks.services import hooks_camera_renamed
    from search.camios import camio_create, camios_camera_renamed
    from search.models import Camio

    cam = camera(user, "front")
    camio = camio_create(owner=user, query={"cameras": ["front"]})
    hook = _hook(user, "front people", camera_name="front")
    _rename(cam, "porch")
    assert hooks_camera_renamed(owner_id=user.pk, old="front", new="porch") == []
    assert camios_camera_renamed(owner_id=user.pk, old="front", new="porch") == 0
    hook.refresh_from_db()
    assert (hook.query, hook.camera_name) == ("porch people", "porch")

    camera(user, "back")
    _rename(camera(user, "back"), "front")
    camera(user, "gate")
    again = _hook(user, "front people")
    # A late replay of an old rename of another camera once named "gate": "front" exists now.
    assert hooks_camera_renamed(owner_id=user.pk, old="front", new="gate") == []
    assert camios_camera_renamed(owner_id=user.pk, old="front", new="gate") == 0
    assert Hook.objects.get(pk=again.pk).query == "front people"
    assert Camio.objects.get(pk=camio.pk).query["cameras"] == ["porch"]


def test_a_camios_default_name_follows_the_camera_and_a_chosen_one_stays(user):
    from search.camios import camio_create
    from search.models import Camio

    cam = camera(user, "front")
    camera(user, "gate")
    default = camio_create(owner=user, query={"cameras": ["front", "gate"]})
    chosen = camio_create(owner=user, query={"cameras": ["front"]}, name="For the neighbours")
    untouched = camio_create(owner=user, query={"cameras": ["gate"]})
    _rename(cam, "porch")
    default, chosen, untouched = (Camio.objects.get(pk=c.pk) for c in (default, chosen, untouched))
    assert default.query["cameras"] == ["porch", "gate"] and default.name == "porch or gate"
    assert chosen.query["cameras"] == ["porch"] and chosen.name == "For the neighbours"
    assert untouched.query["cameras"] == ["gate"]


def test_renaming_to_a_name_the_owner_has_is_a_form_error(root, user):
    from cameras.models import Camera

    cam = camera(user, "front")
    camera(user, "porch")
    url = f"/admin/cameras/camera/{cam.pk}/change/"
    data = form_data(root.get(url))
    data["name"] = "porch"
    response = root.post(url, data)
    assert response.status_code == 200 and _form_errors(response)
    assert Camera.objects.get(pk=cam.pk).name == "front"


def test_the_service_refuses_a_taken_or_invalid_name(user):
    from cameras.services import camera_rename
    from config.api.errors import BadRequest, Conflict

    cam = camera(user, "front")
    camera(user, "porch")
    with pytest.raises(Conflict):
        camera_rename(camera=cam, name="porch")
    with pytest.raises(BadRequest):
        camera_rename(camera=cam, name=" porch")
    cam.refresh_from_db()
    assert cam.name == "front"
