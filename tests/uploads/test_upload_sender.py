"""The Upload Token lookup of the ingest path: the token's account and its camera, in one query."""

from __future__ import annotations

import pytest

from accounts.models import AccountSettings
from accounts.selectors import account_settings_get
from cameras.models import Camera
from uploads.selectors import upload_sender_get

pytestmark = pytest.mark.django_db


def test_the_token_finds_its_account_user_and_camera_in_one_query(user, django_assert_num_queries):
    token = account_settings_get(user=user).upload_token
    camera = Camera.objects.create(owner=user, name="front", camera_id="1234", resolution_width=640)
    with django_assert_num_queries(1):
        sender = upload_sender_get(token=token, camera_name="front")
        assert sender.account.user == user and sender.account.recording_enabled is True
        assert sender.camera == camera and sender.camera.owner == user
        assert (sender.camera.camera_id, sender.camera.recording_enabled) == ("1234", True)
        assert (sender.camera.resolution_width, sender.camera.last_seen_at) == (640, None)
    assert sender.account.notifications == AccountSettings.objects.get(user=user).notifications


def test_a_camera_not_made_yet_is_none(user):
    token = account_settings_get(user=user).upload_token
    sender = upload_sender_get(token=token, camera_name="front")
    assert sender.account.user == user and sender.camera is None and sender.camera_name == "front"


def test_another_accounts_camera_of_the_same_name_is_never_found(user, other_user):
    Camera.objects.create(owner=other_user, name="front")
    sender = upload_sender_get(token=account_settings_get(user=user).upload_token, camera_name="front")
    assert sender.account.user == user and sender.camera is None


def test_unknown_empty_and_inactive_users_tokens_find_nothing(user):
    token = account_settings_get(user=user).upload_token
    assert upload_sender_get(token="nope", camera_name="front") is None
    assert upload_sender_get(token="", camera_name="front") is None
    user.is_active = False
    user.save()
    assert upload_sender_get(token=token, camera_name="front") is None
