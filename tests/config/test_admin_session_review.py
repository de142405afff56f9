"""Defects a review found in the Django admin (after this session's changes), fixed.

1. Unpausing a hook in admin kept its old failure record: the next sweep disabled it at once.
2. Renaming a camera in admin emptied every Camio that shared it (Camios name cameras).
3. Renaming a camera in admin silently stopped every hook that named it (camera_name or query).
4. The motion alert list read the whole (never pruned) table for its filter's choices.
5. A hook's cooldown was saved in admin beyond the API's limit.
6. A camera's tags, capabilities and attribution were saved in any JSON shape.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.config.test_admin_integrity import (
    _fast_passwords_private_media,  # noqa: F401 (autouse)
    _form_errors,
    form_data,
)
from tests.config.test_admin_review import _edit
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


def _rename(browser: Client, cam, name: str) -> None:
    # The tasks the rename enqueues run after its commit, as in production.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = _edit(browser, f"/admin/cameras/camera/{cam.pk}/change/", name=name)
    assert response.status_code == 302, _form_errors(response)
    cam.refresh_from_db()
    assert cam.name == name


# --- hooks -------------------------------------------------------------------------------------------


def test_unpausing_a_hook_in_admin_starts_a_clean_failure_record(root, user, settings):
    """An operator unticking "paused" on a hook its owner paused while its receiver was failing
    used to keep the old ``failing_since`` and streak (the admin forgot them only when
    ``disabled_reason`` was cleared), so the next hourly sweep disabled the hook at once and emailed
    its owner, though it had made no attempt since. Now unpausing starts a clean failure record,
    as the API's resume (``hook_update`` with ``active: true``) does: the sweep leaves it alone."""
    from hooks import services
    from hooks.models import Hook

    long_ago = timezone.now() - timedelta(days=settings.HOOK_DISABLE_AFTER_DAYS + 3)
    hook = Hook.objects.create(
        owner=user,
        callback_url="http://example.com/cb",
        query="people",
        paused=True,
        failing_since=long_ago,
        failure_streak=7,
        last_status="503",
    )
    url = f"/admin/hooks/hook/{hook.pk}/change/"
    data = form_data(root.get(url))
    data.pop("paused", None)  # the checkbox unticked
    response = root.post(url, data)
    assert response.status_code == 302, _form_errors(response)
    hook.refresh_from_db()
    assert hook.active

    disabled = services.hooks_disable_failing()
    hook.refresh_from_db()
    assert disabled == [] and hook.active, "the hook resumed in admin is disabled by the next sweep"
    assert not mail.outbox, [m.subject for m in mail.outbox]


def test_a_hook_cooldown_beyond_the_apis_limit_is_refused_in_admin(root, user, api):
    """The admin used to save a cooldown of 999999999 s (the API takes 0 to 86400, ``HookInput``):
    the hook fired once in 31 years, and a partner's PATCH of the value it read back was a 400.
    Now the admin refuses it as a form error (``MAX_COOLDOWN_SECONDS``), as it does a callback URL
    or query the API refuses."""
    from hooks.models import Hook
    from hooks.services import MAX_COOLDOWN_SECONDS

    hook = Hook.objects.create(owner=user, callback_url="http://example.com/cb", query="people")
    response = _edit(root, f"/admin/hooks/hook/{hook.pk}/change/", cooldown_seconds="999999999")
    hook.refresh_from_db()
    assert hook.cooldown_seconds <= MAX_COOLDOWN_SECONDS, "admin saved a cooldown the API refuses"
    assert response.status_code == 200 and _form_errors(response)
    shown = api.get(f"/api/users/me/hooks/{hook.pk}").json()["cooldown_seconds"]
    assert api.patch(f"/api/users/me/hooks/{hook.pk}", {"cooldown_seconds": shown}, format="json").status_code == 200


def test_the_motion_alert_list_reads_no_whole_table_for_its_filter(root, user):
    """The MotionAlert changelist's "method" filter (a field without choices) used to list its
    values with ``SELECT DISTINCT method`` over the whole never-pruned table on every page view.
    Now it offers constant choices (``constant_choices_filter``: EMAIL, PUSH, SENDING, none)."""
    from hooks.models import MotionAlert

    cam = camera(user, "front")
    for i, method in enumerate(["EMAIL", "", "SENDING"]):
        ev = event(cam, T0 + timedelta(minutes=i), labels=["people"], items=1)
        MotionAlert.objects.create(
            event=ev, camera=cam, earliest_date=ev.earliest_date, latest_date=ev.latest_date, method=method
        )
    with CaptureQueriesContext(connection) as queries:
        page = root.get("/admin/hooks/motionalert/")
    assert page.status_code == 200
    scans = [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper() and "motionalert" in q["sql"]]
    assert not scans, scans


# --- cameras renamed in admin -------------------------------------------------------------------------


def test_renaming_a_camera_in_admin_keeps_the_camios_that_share_it(root, user, anon):
    """A Camio stores its cameras' *names*: renaming the shared camera ``front`` to ``porch`` in
    admin used to leave the Camio naming ``front``, so the link the user handed out showed nothing
    (and a camera named ``front`` later would have been shared instead). Now the rename goes
    through ``camera_rename``, whose task (``search.camera_renamed``) carries the Camios naming the
    camera along: the share still shows its events."""
    from search.camios import camio_create

    cam = camera(user, "front")
    ev = event(cam, T0, labels=["people"], items=2)
    camio = camio_create(owner=user, query={"cameras": ["front"]})
    shared = anon.get("/api/search", {"view_tokens": camio.view_token, "motion_type": "all"})
    assert shared.status_code == 200 and ev.public_id in shared.content.decode()

    _rename(root, cam, "porch")
    shared = anon.get("/api/search", {"view_tokens": camio.view_token, "motion_type": "all"})
    assert shared.status_code == 200
    assert ev.public_id in shared.content.decode(), "the renamed camera dropped out of its Camio"


def test_renaming_a_camera_in_admin_keeps_the_hooks_that_name_it_firing(root, user):
    """Hooks naming the camera (``camera_name``, or ``front`` in the query ``front people``) used to
    go silent when it was renamed ``porch`` in admin: ``hook_matches`` compares names, and
    ``front`` was then read as a label no event has. Now the rename's task
    (``hooks.camera_renamed``) rewrites ``camera_name`` and the query's term (through the query
    language's own tokens and grouping): both hooks fire for the renamed camera."""
    from hooks import services
    from hooks.models import Hook
    from tests.hooks.conftest import make_event

    cam = camera(user, "front")
    by_name = Hook.objects.create(owner=user, callback_url="http://example.com/a", query="people", camera_name="front")
    by_query = Hook.objects.create(owner=user, callback_url="http://example.com/b", query="front people")
    _rename(root, cam, "porch")
    fired = {d.hook_id for d in services.hooks_fire_for_event(event=make_event(cam, ["people"]))}
    assert fired == {by_name.pk, by_query.pk}, f"fired {fired}: hooks naming the renamed camera went silent"


def test_camera_json_fields_keep_the_references_shape_when_edited_in_admin(root, user, api):
    """The admin used to save any JSON in a camera's ``tags``, ``capabilities`` and ``attribution``
    (the only place they are written): saved as ``"porch"``, ``{"a": 1}`` and ``[1]``, the camera
    API answered shapes the reference does not have (its camera has lists of strings and an
    object). Now other shapes are form errors and the camera keeps the reference's shapes."""
    cam = camera(user, "front")
    response = _edit(
        root,
        f"/admin/cameras/camera/{cam.pk}/change/",
        tags='"porch"',
        capabilities='{"a": 1}',
        attribution="[1]",
    )
    body = api.get("/api/users/me/cameras/front").json()
    assert isinstance(body["tags"], list) and all(isinstance(t, str) for t in body["tags"]), body["tags"]
    assert isinstance(body["capabilities"], list), body["capabilities"]
    assert isinstance(body["attribution"], dict), body["attribution"]
    assert response.status_code == 200 and _form_errors(response)
