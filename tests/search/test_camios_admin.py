"""Django admin for Camios and downloads: lists, edits checked like the API, expire action."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from search.models import Camio, Download
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_client(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client.force_login(admin)
    return client


def test_lists_and_change_pages_render(admin_client, user):
    event(camera(user, "front"), T0, items=2)
    camio = Camio.objects.create(owner=user, name="porch", query={"cameras": ["front"]})
    Download.objects.create(camio=camio, requester=user)
    assert admin_client.get("/admin/search/camio/").status_code == 200
    page = admin_client.get(f"/admin/search/camio/{camio.pk}/change/")
    assert page.status_code == 200
    assert camio.short_token in page.content.decode()
    assert admin_client.get("/admin/search/download/").status_code == 200


def _form(user, query):
    return {
        "owner": user.pk,
        "name": "edited",
        "type": "public",
        "query": json.dumps(query),
        "expires_at_0": "",
        "expires_at_1": "",
        "downloads-TOTAL_FORMS": "0",
        "downloads-INITIAL_FORMS": "0",
        "downloads-MIN_NUM_FORMS": "0",
        "downloads-MAX_NUM_FORMS": "1000",
    }


def test_an_edited_query_is_checked_and_normalized(admin_client, user):
    camera(user, "Front")
    camio = Camio.objects.create(owner=user, name="x", query={})
    url = f"/admin/search/camio/{camio.pk}/change/"
    bad = admin_client.post(url, _form(user, {"cameras": ["nosuch"]}))
    assert bad.status_code == 200 and "Unknown camera" in bad.content.decode()
    good = admin_client.post(url, _form(user, {"cameras": ["front"], "labels": ["People"]}))
    assert good.status_code == 302, good.content.decode()[:2000]
    camio.refresh_from_db()
    assert camio.query["cameras"] == ["Front"] and camio.query["labels"] == ["people"]


def test_expire_now_revokes(admin_client, user, anon):
    camio = Camio.objects.create(owner=user, name="x", query={})
    assert anon.get("/api/search", {"view_tokens": camio.view_token}).status_code == 200
    admin_client.post("/admin/search/camio/", {"action": "expire_now", "_selected_action": [camio.pk]})
    assert anon.get("/api/search", {"view_tokens": camio.view_token}).status_code == 403
