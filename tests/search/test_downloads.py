"""Camio downloads: POST /api/camios/:token/downloads, the status resource, the emailed link."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.utils import timezone

from search.models import Download
from tests.search.test_share_helpers import (
    hours_ago,
    jpeg_bytes,
    make_camera,
    make_camio,
    make_content,
    make_guest,
)

pytestmark = pytest.mark.django_db
LINK = re.compile(r"http://testserver(/downloads/\S+)")


@pytest.fixture
def shared(user, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    front, back = make_camera(user, "front"), make_camera(user, "back")
    inside = [make_content(user, front, at=hours_ago(5 - i), data=jpeg_bytes(color=(i * 40, 0, 0))) for i in range(4)]
    make_content(user, back, at=hours_ago(2))  # another camera: outside the Camio
    make_content(user, front, at=hours_ago(30))  # before the start: outside
    camio = make_camio(user, cameras=["front"], start=hours_ago(24), name="Front door")
    return camio, inside


def request_download(client, token, capture):
    with capture(execute=True):
        resp = client.post(f"/api/camios/{token}/downloads")
    return resp


def link_from_mail() -> str:
    assert len(mail.outbox) == 1
    match = LINK.search(mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match.group(1)


def zip_of(resp) -> zipfile.ZipFile:
    data = b"".join(resp.streaming_content) if resp.streaming else resp.content
    return zipfile.ZipFile(io.BytesIO(data))


def test_download_builds_a_zip_of_the_camio_and_emails_a_link(api, anon, shared, django_capture_on_commit_callbacks):
    camio, inside = shared
    resp = request_download(api, camio.view_token, django_capture_on_commit_callbacks)
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "pending" and body["id"]
    assert resp["Location"] == f"/api/camios/{camio.view_token}/downloads/{body['id']}"

    status = api.get(resp["Location"]).json()
    assert status["status"] == "ready"
    assert status["items_total"] == status["items_done"] == 4
    assert status["size"] > 0 and status["url"].startswith("http://testserver/downloads/")

    assert mail.outbox[0].to == ["alice@example.com"]
    assert "Front door" in mail.outbox[0].subject
    got = anon.get(link_from_mail())  # the link needs no sign-in
    assert got.status_code == 200
    assert got["Content-Type"] == "application/zip"
    assert "attachment" in got["Content-Disposition"] and ".zip" in got["Content-Disposition"]
    archive = zip_of(got)
    names = [n for n in archive.namelist() if n != "manifest.json"]
    assert len(names) == 4 and all(n.startswith("front/") for n in names)
    # Oldest first, each entry the stored bytes exactly.
    for content, name in zip(inside, names, strict=True):
        assert content.public_id in name
        assert archive.read(name) == open_stored(content)
    manifest = json.loads(archive.read("manifest.json"))
    assert [i["id"] for i in manifest["items"]] == [c.public_id for c in inside]


def open_stored(content) -> bytes:
    from django.core.files.storage import default_storage

    with default_storage.open(content.storage_key, "rb") as f:
        return f.read()


def test_short_token_works_and_repeated_requests_join_one_download(api, shared):
    camio, _ = shared
    first = api.post(f"/api/camios/{camio.short_token}/downloads").json()  # not committed: stays pending
    second = api.post(f"/api/camios/{camio.view_token}/downloads").json()
    assert first["id"] == second["id"]
    assert Download.objects.count() == 1


def test_oauth_is_required(anon, shared):
    camio, _ = shared
    resp = anon.post(f"/api/camios/{camio.view_token}/downloads")
    assert resp.status_code == 401
    assert resp.json()["message"]


def test_unknown_expired_or_deleted_camio_is_404(api, user, shared):
    camio, _ = shared
    assert api.post("/api/camios/nope/downloads").status_code == 404
    expired = make_camio(user, cameras=["front"], expires_at=timezone.now() - timedelta(seconds=1))
    assert api.post(f"/api/camios/{expired.view_token}/downloads").status_code == 404
    token = camio.view_token
    camio.delete()
    assert api.post(f"/api/camios/{token}/downloads").status_code == 404


def test_public_camio_token_holder_may_download_but_sees_only_their_own_status(
    api, other_api, shared, django_capture_on_commit_callbacks
):
    # Documented choice: the view token of a public Camio already shows every item to whoever holds
    # it, so any signed-in holder may have the zip too. Status resources are per requester.
    camio, _ = shared
    mine = request_download(api, camio.view_token, django_capture_on_commit_callbacks).json()
    mail.outbox.clear()
    theirs = request_download(other_api, camio.view_token, django_capture_on_commit_callbacks).json()
    assert theirs["id"] != mine["id"]
    assert mail.outbox[0].to == ["bob@example.com"]
    assert other_api.get(f"/api/camios/{camio.view_token}/downloads/{mine['id']}").status_code == 404
    assert api.get(f"/api/camios/{camio.view_token}/downloads/{theirs['id']}").status_code == 404


def test_private_camio_only_owner_and_guests_may_download(
    api, other_api, user, other_user, shared, django_capture_on_commit_callbacks
):
    private = make_camio(user, cameras=["front"], type="private")
    assert other_api.post(f"/api/camios/{private.view_token}/downloads").status_code == 404
    make_guest(user, other_user)
    resp = request_download(other_api, private.view_token, django_capture_on_commit_callbacks)
    assert resp.status_code == 200
    assert api.post(f"/api/camios/{private.view_token}/downloads").status_code == 200


def test_status_needs_the_matching_camio_token(api, user, shared, django_capture_on_commit_callbacks):
    camio, _ = shared
    other = make_camio(user, cameras=["back"])
    download = request_download(api, camio.view_token, django_capture_on_commit_callbacks).json()
    assert api.get(f"/api/camios/{camio.short_token}/downloads/{download['id']}").status_code == 200
    assert api.get(f"/api/camios/{other.view_token}/downloads/{download['id']}").status_code == 404
    assert api.get(f"/api/camios/{camio.view_token}/downloads/unknown").status_code == 404


def test_forged_link_is_404_json(anon, api, shared, django_capture_on_commit_callbacks):
    camio, _ = shared
    request_download(api, camio.view_token, django_capture_on_commit_callbacks)
    link = link_from_mail()
    for bad in (link[:-3] + "abc", "/downloads/nonsense", "/downloads/" + signing.dumps("x")):
        resp = anon.get(bad)
        assert resp.status_code == 404
        assert resp.json()["message"]


def test_link_expires(anon, api, shared, settings, monkeypatch, django_capture_on_commit_callbacks):
    camio, _ = shared
    settings.DOWNLOAD_LINK_SECONDS = 60
    real_time = time.time
    # Built and mailed two minutes ago.
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 120)
    request_download(api, camio.view_token, django_capture_on_commit_callbacks)
    link = link_from_mail()
    monkeypatch.setattr(signing.time, "time", real_time)
    resp = anon.get(link)
    assert resp.status_code == 404
    assert "expired" in resp.json()["message"]


def test_deleting_the_camio_revokes_its_links(anon, api, shared, django_capture_on_commit_callbacks):
    camio, _ = shared
    request_download(api, camio.view_token, django_capture_on_commit_callbacks)
    link = link_from_mail()
    assert anon.get(link).status_code == 200
    camio.delete()
    assert anon.get(link).status_code == 404


def test_missing_bytes_are_listed_not_fatal(api, anon, shared, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    camio, inside = shared
    default_storage.delete(inside[1].storage_key)
    status = request_download(api, camio.view_token, django_capture_on_commit_callbacks).json()
    status = api.get(f"/api/camios/{camio.view_token}/downloads/{status['id']}").json()
    assert status["status"] == "ready"
    archive = zip_of(anon.get(link_from_mail()))
    manifest = json.loads(archive.read("manifest.json"))
    assert [i.get("missing", False) for i in manifest["items"]] == [False, True, False, False]
    assert len(archive.namelist()) == 4  # three items and the manifest


def test_empty_camio_gives_an_empty_zip(api, anon, user, shared, django_capture_on_commit_callbacks):
    empty = make_camio(user, cameras=["front"], start=timezone.now() + timedelta(days=1))
    request_download(api, empty.view_token, django_capture_on_commit_callbacks)
    archive = zip_of(anon.get(link_from_mail()))
    assert archive.namelist() == ["manifest.json"]


@pytest.fixture
def s3(settings):
    """django-storages on moto's S3 server (loopback) as the default storage."""
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    client.create_bucket(Bucket="camhub-dl")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "uploads.storage.ContentS3Storage",
            "OPTIONS": {
                "bucket_name": "camhub-dl",
                "endpoint_url": endpoint,
                "access_key": "k",
                "secret_key": "s",
                "region_name": "us-east-1",
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    try:
        yield client
    finally:
        server.stop()


def test_on_s3_the_zip_is_stored_in_the_bucket_and_the_link_redirects_to_it(
    api, anon, user, settings, s3, django_capture_on_commit_callbacks
):
    import requests

    settings.PUBLIC_BASE_URL = "http://testserver"
    cam = make_camera(user, "front")
    items = [make_content(user, cam, at=hours_ago(3 - i)) for i in range(3)]
    camio = make_camio(user, cameras=["front"], name="On S3")
    request_download(api, camio.view_token, django_capture_on_commit_callbacks)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="camhub-dl")["Contents"] if o["Key"].startswith("downloads/")]
    assert len(keys) == 1
    link = link_from_mail()
    head = anon.head(link)  # download managers ask first; the URL is signed for a HEAD
    assert head.status_code == 302
    checked = requests.head(head["Location"], timeout=10)
    assert checked.status_code == 200 and int(checked.headers["Content-Length"]) > 0
    resp = anon.get(link)
    assert resp.status_code == 302
    fetched = requests.get(resp["Location"], timeout=10)  # the presigned URL, straight from the bucket
    assert fetched.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(fetched.content))
    assert len(archive.namelist()) == 4
    # "<camera>/<stamp>Z_<public id>.<ext>": the public id itself may hold "Z_" (a random token).
    assert {n.split("Z_", 1)[1].rsplit(".", 1)[0] for n in archive.namelist() if n != "manifest.json"} == {
        c.public_id for c in items
    }


def test_purge_deletes_zips_after_their_keeping_time_and_of_deleted_camios(
    api, user, shared, settings, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    from search.downloads import downloads_purge

    camio, _ = shared
    other = make_camio(user, cameras=["back"])
    first = request_download(api, camio.view_token, django_capture_on_commit_callbacks).json()
    second = request_download(api, other.view_token, django_capture_on_commit_callbacks).json()
    rows = {d.public_id: d for d in Download.objects.all()}
    assert downloads_purge() == 0
    other.delete()  # its zip goes at the next purge
    assert downloads_purge() == 1
    assert not default_storage.exists(rows[second["id"]].storage_key)
    later = timezone.now() + timedelta(seconds=settings.DOWNLOAD_LINK_SECONDS + 1)
    assert downloads_purge(now=later) == 1
    assert not default_storage.exists(rows[first["id"]].storage_key)
    status = api.get(f"/api/camios/{camio.view_token}/downloads/{first['id']}").json()
    assert status["url"] is None and "request a new download" in status["error"]
