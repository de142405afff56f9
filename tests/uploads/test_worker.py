"""An HTTP upload reaches analysis through a real Celery worker on Redis, after its commit."""

from __future__ import annotations

import pytest

from accounts.selectors import account_settings_get
from tests.conftest import wait_for
from tests.uploads.samples import jpeg_bytes, mp4_bytes
from uploads.models import Content


@pytest.fixture
def shared_media(monkeypatch, _private_media):
    # The worker is another process: it must read the bytes from the folder this test stores into.
    monkeypatch.setenv("MEDIA_ROOT", str(_private_media))
    return _private_media


@pytest.mark.worker
def test_uploads_are_analysed_by_the_worker(shared_media, celery_worker, anon, user):
    from search.models import ItemAnalysis

    token = account_settings_get(user=user).upload_token
    ids = []
    for name, body, content_type in (
        ("2014-07-21T20:38:31.000-07:00.jpg", jpeg_bytes(color=(10, 10, 10)), "image/jpeg"),
        ("2014-07-21T20:38:32.000-07:00.jpg", jpeg_bytes(color=(250, 250, 250)), "image/jpeg"),
        ("2014-07-21T20:38:33.000-07:00.mp4", mp4_bytes(), "video/mp4"),
    ):
        r = anon.generic(
            "PUT", f"/api/users/{token}/cameras/front/content/{name}?camera_id=1", body, content_type=content_type
        )
        assert r.status_code == 201, r.content
        ids.append(r.json()["id"])
    pks = list(Content.objects.filter(public_id__in=ids).values_list("pk", flat=True))

    def analysed():
        rows = ItemAnalysis.objects.filter(content_id__in=pks).exclude(status=ItemAnalysis.Status.PENDING)
        return rows.count() == len(pks)

    wait_for(analysed, timeout=120)  # a loaded two-core machine analyses slowly
    assert not ItemAnalysis.objects.filter(content_id__in=pks, status="failed").exists(), celery_worker.output()
