"""Admin lists of tables that grow without bound (content, events, item analyses) stay cheap at a
million rows: no query reads the whole table for filter choices or a date hierarchy, the order is
an index's, the unfiltered count is PostgreSQL's estimate, and the search box asks only what an
index answers (measured on the search benchmark's database: docs/benchmarks.md, "Admin")."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from config import admin_large_tables
from config.admin_large_tables import LargeTablePaginator
from search.models import Event
from tests.factories import make_user
from tests.search.test_share_helpers import hours_ago, make_camera, make_content, make_event
from tests.uploads.conftest import _private_media  # noqa: F401 (autouse: a private MEDIA_ROOT)
from uploads.models import Content

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def items(user, other_user):
    front, back = make_camera(user, "front"), make_camera(other_user, "back yard")
    mine = [make_content(user, front, at=hours_ago(3 - i)) for i in range(3)]
    theirs = [make_content(other_user, back, at=hours_ago(1))]
    make_event(user, front, mine, labels=("people", "_color_red"))
    make_event(other_user, back, theirs, labels=("car",))
    return mine, theirs


def listed(page) -> set[str]:
    return {str(row.pk) for row in page.context["cl"].result_list}


def test_the_content_list_reads_no_table_for_its_filters_and_orders_by_arrival(operator, items):
    mine, theirs = items
    with CaptureQueriesContext(connection) as queries:
        page = operator.get("/admin/uploads/content/")
    assert page.status_code == 200
    sql = " ".join(q["sql"] for q in queries.captured_queries).upper()
    assert "DISTINCT" not in sql and "MIN(" not in sql, "filter choices or a date hierarchy read the table"
    assert [row.pk for row in page.context["cl"].result_list] == [c.pk for c in reversed([*mine, *theirs])]
    # The filters still offer what uploads accept.
    html = page.content.decode()
    for choice in ("video/quicktime", "image/png", "?upload_mode=video"):
        assert choice in html
    assert listed(operator.get("/admin/uploads/content/", {"content_type": "image/jpeg"})) == {
        str(c.pk) for c in [*mine, *theirs]
    }
    assert listed(operator.get("/admin/uploads/content/", {"upload_mode": "video"})) == set()


def test_the_content_search_finds_by_public_id_camera_or_account_with_indexed_lookups(operator, user, items):
    mine, theirs = items
    by = {
        mine[1].public_id: {mine[1].pk},
        "FRONT": {c.pk for c in mine},  # a camera's name, whatever the case
        "back yard": {c.pk for c in theirs},  # names with spaces are one term
        user.username: {c.pk for c in mine},
        user.email.upper(): {c.pk for c in mine},
        "nothing-by-that-name": set(),
    }
    for term, expected in by.items():
        with CaptureQueriesContext(connection) as queries:
            page = operator.get("/admin/uploads/content/", {"q": term})
        assert listed(page) == {str(pk) for pk in expected}, term
        content_sql = [q["sql"] for q in queries.captured_queries if 'FROM "uploads_content"' in q["sql"]]
        assert content_sql and not any("LIKE" in sql.upper() for sql in content_sql), content_sql


def test_the_event_and_analysis_searches_find_by_label_camera_and_account(operator, user, other_user, items):
    red = Event.objects.get(owner=user)
    assert listed(operator.get("/admin/search/event/", {"q": "_color_red"})) == {str(red.pk)}
    assert listed(operator.get("/admin/search/event/", {"q": "People"})) == {str(red.pk)}
    assert listed(operator.get("/admin/search/event/", {"q": "back yard"})) == {
        str(Event.objects.get(owner=other_user).pk)
    }
    assert listed(operator.get("/admin/search/event/", {"q": red.public_id})) == {str(red.pk)}
    mine, _theirs = items
    assert listed(operator.get("/admin/search/itemanalysis/", {"q": user.username})) == {str(c.pk) for c in mine}


def test_an_unfiltered_large_table_is_counted_by_the_planners_estimate(postgresql, user, monkeypatch):
    camera = make_camera(user, "front")
    for i in range(6):
        make_content(user, camera, at=hours_ago(i))
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{Content._meta.db_table}"')
    estimate = admin_large_tables.estimated_rows(Content)
    assert estimate == 6

    monkeypatch.setattr(admin_large_tables, "EXACT_UP_TO", 2)
    Content.objects.filter(pk=Content.objects.order_by("pk").first().pk).delete()  # the estimate lags
    with CaptureQueriesContext(connection) as queries:
        assert LargeTablePaginator(Content.objects.all(), 10).count == 6
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    # Filtered, or under the threshold, the count is exact.
    assert LargeTablePaginator(Content.objects.filter(kind="image"), 10).count == 5
    monkeypatch.setattr(admin_large_tables, "EXACT_UP_TO", 100)
    assert LargeTablePaginator(Content.objects.all(), 10).count == 5


def test_elsewhere_than_postgresql_counts_are_exact(user):
    if connection.vendor == "postgresql":
        pytest.skip("the estimate is PostgreSQL's")
    make_content(user, make_camera(user, "front"))
    assert admin_large_tables.estimated_rows(Content) is None
    assert LargeTablePaginator(Content.objects.all(), 10).count == 1


def test_staff_see_the_large_lists(client, items):
    staff = make_user("ops")
    staff.is_staff = True
    staff.save()
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_content", "view_event", "view_itemanalysis"])
    )
    client.force_login(staff)
    for url in ("/admin/uploads/content/", "/admin/search/event/", "/admin/search/itemanalysis/"):
        assert client.get(url, {"q": "front"}).status_code == 200
