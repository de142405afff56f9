"""Content in the admin: list with thumbnails and filters, image and video views for staff only."""

from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.test import Client
from PIL import Image

from accounts.selectors import account_settings_get
from tests.uploads.samples import jpeg_bytes, mp4_bytes
from uploads.models import Content


def upload(anon, user, name, body, content_type):
    token = account_settings_get(user=user).upload_token
    r = anon.generic(
        "PUT", f"/api/users/{token}/cameras/front/content/{name}?camera_id=1", body, content_type=content_type
    )
    assert r.status_code == 201
    return Content.objects.get(public_id=r.json()["id"])


def test_admin_lists_content_with_thumbnails_filters_and_search(anon, user, db):
    image = upload(anon, user, "a.jpg", jpeg_bytes(400, 300), "image/jpeg")
    video = upload(anon, user, "b.mp4", mp4_bytes(), "video/mp4")
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))

    page = staff.get("/admin/uploads/content/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/admin/uploads/content/{image.pk}/thumbnail/" in html and image.public_id in html
    assert staff.get("/admin/uploads/content/?kind=video").content.decode().count(video.public_id) >= 1
    assert image.public_id not in staff.get("/admin/uploads/content/?kind=video").content.decode()
    assert staff.get(f"/admin/uploads/content/?img_type=h&camera__id__exact={image.camera_id}").status_code == 200
    assert video.public_id not in staff.get("/admin/uploads/content/?q=a.jpg").content.decode()

    thumb = staff.get(f"/admin/uploads/content/{image.pk}/thumbnail/")
    with Image.open(io.BytesIO(thumb.content)) as img:
        assert img.format == "JPEG" and img.size == (160, 120)
    detail = staff.get(f"/admin/uploads/content/{video.pk}/change/")
    assert detail.status_code == 200 and "<video" in detail.content.decode()
    media = staff.get(f"/admin/uploads/content/{video.pk}/media/", HTTP_RANGE="bytes=0-9")
    assert media.status_code == 206 and len(b"".join(media.streaming_content)) == 10


def test_admin_media_is_for_staff_only(anon, user, db):
    image = upload(anon, user, "a.jpg", jpeg_bytes(), "image/jpeg")
    visitor = Client()
    visitor.force_login(user)  # a signed-in customer, not staff
    assert visitor.get(f"/admin/uploads/content/{image.pk}/thumbnail/").status_code == 302
    assert Client().get(f"/admin/uploads/content/{image.pk}/media/").status_code == 302


def test_admin_queues_analysis_of_items_never_analysed(anon, user, db, django_capture_on_commit_callbacks):
    from search.models import ItemAnalysis

    with django_capture_on_commit_callbacks(execute=True):  # its hand-off to analysis runs
        first = upload(anon, user, "a.jpg", jpeg_bytes(400, 300), "image/jpeg")
    # The hand-off after this one's commit never runs here: as if the broker had been down.
    second = upload(anon, user, "c.jpg", jpeg_bytes(400, 300, color=(20, 200, 20)), "image/jpeg")
    assert ItemAnalysis.objects.filter(pk=first.pk).exists()
    assert not ItemAnalysis.objects.filter(pk=second.pk).exists()
    before = ItemAnalysis.objects.get(pk=first.pk).analyzed_at
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    with django_capture_on_commit_callbacks(execute=True):
        page = staff.post(
            "/admin/uploads/content/",
            {"action": "queue_analysis", "_selected_action": [first.pk, second.pk]},
            follow=True,
        )
    assert "Queued the analysis of 1 items; 1 already analysed, left alone." in page.content.decode()
    assert ItemAnalysis.objects.filter(pk=second.pk, status=ItemAnalysis.Status.DONE).exists()
    assert ItemAnalysis.objects.get(pk=first.pk).analyzed_at == before  # untouched
