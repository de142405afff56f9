"""Viewer usage per API key: counted in the cache, persisted per day in batches, shown in admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import oauth_application_create
from search.models import ViewerKeyUsage
from search.tasks import flush_viewer_usage
from search.viewer_usage import viewer_usage, viewer_usage_flush_all, viewer_usage_record
from tests.search.test_share_helpers import make_camio

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def application():
    app, _secret = oauth_application_create(name="Partner site", redirect_uris=["https://partner.example.com/cb"])
    return app


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def _stored(client_id: str) -> dict:
    return dict(ViewerKeyUsage.objects.filter(client_id=client_id).values_list("day", "count"))


def _load(client: Client, camio, key: str):
    return client.get(f"/?v={camio.view_token}&key={key}")


def test_loads_are_counted_at_once_and_persisted_in_batches(user, application):
    camio, browser, key = make_camio(user), Client(), application.client_id
    today = timezone.now().date()
    assert _load(browser, camio, key).status_code == 200
    # The first load of a minute writes its batch (of one).
    assert _stored(key) == {today: 1}
    with CaptureQueriesContext(connection) as queries:
        for _ in range(4):
            assert _load(browser, camio, key).status_code == 200
    # The next loads of that minute touch only the cache: the page never waits on the usage row.
    assert not any("viewerkeyusage" in q["sql"].lower() for q in queries.captured_queries)
    assert _stored(key) == {today: 1}
    assert viewer_usage(api_key=key, day=today) == 5  # persisted plus pending
    # The periodic task writes the rest, once.
    assert flush_viewer_usage() == 4
    assert flush_viewer_usage() == 0
    assert _stored(key) == {today: 5}
    assert viewer_usage(api_key=key, day=today) == 5
    row = ViewerKeyUsage.objects.get(client_id=key)
    assert timezone.now() - row.last_used_at < timedelta(minutes=1)


def test_failed_loads_and_unknown_keys_are_not_counted(user, application):
    camio, browser = make_camio(user), Client()
    assert browser.get(f"/?v=nonsense&key={application.client_id}").status_code == 404
    assert browser.get(f"/?v={camio.view_token}&key=not-a-key").status_code == 403
    viewer_usage_flush_all()
    assert ViewerKeyUsage.objects.count() == 0


def test_counts_are_per_key_and_per_utc_day(application):
    other, _ = oauth_application_create(name="Other", redirect_uris=["https://other.example.com/cb"])
    late = datetime(2026, 11, 30, 23, 59, 30, tzinfo=UTC)
    for _ in range(3):
        viewer_usage_record(client_id=application.client_id, now=late)
    viewer_usage_record(client_id=other.client_id, now=late)
    # After midnight: yesterday's tail is flushed into yesterday's row, today's into today's.
    early = datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC)
    viewer_usage_record(client_id=application.client_id, now=early)
    viewer_usage_flush_all(now=early)
    assert _stored(application.client_id) == {late.date(): 3, early.date(): 1}
    assert _stored(other.client_id) == {late.date(): 1}
    yesterday = ViewerKeyUsage.objects.get(client_id=application.client_id, day=late.date())
    assert yesterday.last_used_at == late


def test_a_flush_adds_to_an_existing_row_and_keeps_the_latest_use(application):
    key = application.client_id
    first = datetime(2026, 12, 1, 10, tzinfo=UTC)
    viewer_usage_record(client_id=key, now=first)  # writes the row
    viewer_usage_record(client_id=key, now=first + timedelta(seconds=5))
    viewer_usage_flush_all(now=first + timedelta(seconds=10))
    row = ViewerKeyUsage.objects.get(client_id=key)
    assert (row.count, row.last_used_at) == (2, first + timedelta(seconds=5))


def test_the_api_key_admin_shows_usage(admin_client, user, application):
    camio, browser = make_camio(user), Client()
    for _ in range(3):
        _load(browser, camio, application.client_id)
    ViewerKeyUsage.objects.create(
        client_id=application.client_id,
        day=timezone.now().date() - timedelta(days=3),
        count=7,
        last_used_at=timezone.now() - timedelta(days=3),
    )
    ViewerKeyUsage.objects.create(  # older than 30 days: not in the 30-day figure
        client_id=application.client_id,
        day=timezone.now().date() - timedelta(days=40),
        count=100,
        last_used_at=timezone.now() - timedelta(days=40),
    )
    page = admin_client.get("/admin/oauth2_provider/application/")
    assert page.status_code == 200
    html = page.content.decode().lower()
    assert "viewer loads today" in html and "viewer last used" in html
    # Showing the list flushed the pending loads: today 3, 30 days 3 + 7.
    assert '<td class="field-requests_today">3</td>' in html
    assert '<td class="field-requests_30_days">10</td>' in html
    change = admin_client.get(f"/admin/oauth2_provider/application/{application.pk}/change/")
    assert change.status_code == 200
    assert "viewer usage, last 30 days" in change.content.decode().lower()
    assert admin_client.get("/admin/search/viewerkeyusage/").status_code == 200


def test_the_api_key_list_is_one_query_for_usage_however_many_keys(admin_client, application):
    for n in range(5):
        oauth_application_create(name=f"Partner {n}", redirect_uris=[f"https://p{n}.example.com/cb"])
        ViewerKeyUsage.objects.create(
            client_id=f"k{n}", day=timezone.now().date(), count=1, last_used_at=timezone.now()
        )
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get("/admin/oauth2_provider/application/").status_code == 200
    usage = [q for q in queries.captured_queries if "viewerkeyusage" in q["sql"].lower()]
    assert len(usage) == 1
