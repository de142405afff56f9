"""A real Celery worker (subprocess on Redis) builds a download; the zip is streamed, with progress."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from search.downloads import zip_contents, zip_items
from search.models import Download
from tests.conftest import wait_for
from tests.search.test_share_helpers import hours_ago, jpeg_bytes, make_camera, make_camio, make_content

# The worker's console mail backend prints the email to its stdout, which the fixture collects.
LINK = re.compile(r"https?://[^/\s]+(/downloads/[^\s]+)")


def test_worker_builds_the_zip_and_mails_the_link(celery_worker, user, token):
    cam = make_camera(user, "front")
    items = [make_content(user, cam, at=hours_ago(3 - i * 0.1), data=jpeg_bytes(color=(i, 9, 9))) for i in range(12)]
    camio = make_camio(user, cameras=["front"], name="Driveway")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"token {token}")

    created = client.post(f"/api/camios/{camio.view_token}/downloads").json()
    status_url = f"/api/camios/{camio.view_token}/downloads/{created['id']}"

    def ready():
        resp = client.get(status_url)
        assert resp.status_code == 200, resp.json()
        body = resp.json()
        assert body["status"] != "failed", body
        return body if body["status"] == "ready" else None

    try:
        status = wait_for(ready, timeout=90, interval=0.5)  # generous: CI machines are shared
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log:\n{celery_worker.output()[-4000:]}") from None
    assert status["items_done"] == status["items_total"] == 12

    match = wait_for(lambda: LINK.search(celery_worker.output()), timeout=30)
    assert "Subject: Your download of Driveway is ready" in celery_worker.output()
    resp = APIClient().get(match.group(1))
    assert resp.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(resp.streaming_content)))
    assert archive.testzip() is None
    entries = [n for n in archive.namelist() if n != "manifest.json"]
    assert len(entries) == 12
    assert all(n.endswith(f"Z_{c.public_id}.jpg") for n, c in zip(entries, items, strict=True))
    row = Download.objects.get(public_id=created["id"])
    assert default_storage.exists(row.storage_key)


@pytest.mark.django_db
def test_zip_is_streamed_item_by_item_with_progress(user, tmp_path):
    # Eight 2 MB items: the build's Python memory stays well under one item's worth of copies.
    cam = make_camera(user, "big")
    payload = bytes(range(256)) * (8 * 1024)  # 2 MiB
    for i in range(8):
        make_content(user, cam, at=hours_ago(8 - i), data=payload, content_type="video/mp4", kind="video")
    contents = zip_items(cam.contents.all())
    seen: list[int] = []
    tracemalloc.start()
    with open(tmp_path / "out.zip", "wb") as target:
        count = zip_contents(contents, target, on_progress=seen.append)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 8 and seen == list(range(1, 9))
    assert peak < 4 * 1024 * 1024, peak
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.testzip() is None
        assert sum(i.file_size for i in archive.infolist() if i.filename.endswith(".mp4")) == 8 * len(payload)
