"""Where the bytes go: failures of the store keep nothing; S3 through django-storages on moto's server."""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from accounts.selectors import account_settings_get
from cameras.models import Camera
from tests.uploads.samples import jpeg_bytes, mp4_bytes
from uploads.models import Content

BUCKET = "camhub-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def upload_token(user) -> str:
    return account_settings_get(user=user).upload_token


def put(client, token, name, body, content_type="image/jpeg"):
    return client.generic(
        "PUT", f"/api/users/{token}/cameras/front/content/{name}?camera_id=1234", body, content_type=content_type
    )


def files_under(path) -> list:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def s3_storage(endpoint: str, backend: str = "storages.backends.s3.S3Storage", **extra) -> dict:
    return {
        "BACKEND": backend,
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": endpoint,
            "access_key": "testing",
            "secret_key": "testing",
            "region_name": "us-east-1",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            **extra,
        },
    }


def test_storage_down_is_503_and_nothing_is_kept(anon, upload_token, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocker)}},
    }
    r = put(anon, upload_token, "a.jpg", jpeg_bytes())
    assert r.status_code == 503 and "not kept" in r.json()["message"]
    # Not even the camera the upload would have made.
    assert not Content.objects.exists() and not Camera.objects.exists()


def test_storage_failing_mid_upload_leaves_nothing_behind(anon, user, upload_token, settings, tmp_path):
    media = tmp_path / "failing"
    Camera.objects.create(owner=user, name="front", camera_id="1234")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "tests.uploads.failing_storage.PosterFailingStorage",
            "OPTIONS": {"location": str(media)},
        },
    }
    r = put(anon, upload_token, "a.mp4", mp4_bytes(), "video/mp4")
    assert r.status_code == 503
    assert not Content.objects.exists()
    assert files_under(media) == []  # the video stored before the poster failed is gone again
    assert Camera.objects.filter(owner=user, name="front").exists()  # a camera made earlier stays


@pytest.fixture
def s3_server():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    # moto keeps its buckets per process, not per server: start each test with an empty one.
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    try:
        yield endpoint, client
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["storages.backends.s3.S3Storage", "uploads.storage.ContentS3Storage"])
def test_uploads_go_to_s3_when_a_bucket_is_configured(anon, api, user, upload_token, settings, s3_server, backend):
    endpoint, client = s3_server
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(endpoint, backend)}
    image = jpeg_bytes(200, 100)
    clip = mp4_bytes()
    r_image = put(anon, upload_token, "2014-07-21T20:38:32.183-07:00.jpeg", image)
    r_video = put(anon, upload_token, "2014-07-21T20:38:31.000-07:00.mp4", clip, "video/mp4")
    assert r_image.status_code == 201 and r_video.status_code == 201
    camera = Camera.objects.get(owner=user, name="front")
    prefix = f"content/{user.pk}/{camera.pk}/2014/07/22/"
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert len(keys) == 3 and all(k.startswith(prefix) for k in keys)  # image, video and its poster
    image_row = Content.objects.get(public_id=r_image.json()["id"])
    assert client.get_object(Bucket=BUCKET, Key=image_row.storage_key)["Body"].read() == image

    # Read back through the API, from S3.
    got = api.get(r_video.json()["url"], HTTP_RANGE="bytes=0-99")
    assert got.status_code == 206 and b"".join(got.streaming_content) == clip[:100]
    thumb = api.get(r_image.json()["url"] + "?w=50")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"

    # A retry of the same upload stores nothing more.
    assert put(anon, upload_token, "2014-07-21T20:38:32.183-07:00.jpeg", image).status_code == 200
    assert len(client.list_objects_v2(Bucket=BUCKET)["Contents"]) == 3


def test_s3_unreachable_is_503_and_nothing_is_kept(anon, upload_token, settings):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1})
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(dead, client_config=config)}
    r = put(anon, upload_token, "a.jpg", jpeg_bytes())
    assert r.status_code == 503
    assert not Content.objects.exists() and not Camera.objects.exists()


def test_content_storage_sends_small_objects_in_one_put_and_large_ones_in_parts(settings, s3_server):
    from boto3.s3.transfer import TransferConfig
    from django.core.files.base import ContentFile

    from uploads.storage import ContentS3Storage

    endpoint, client = s3_server
    options = s3_storage(endpoint)["OPTIONS"]
    # A low threshold, so a 6 MB object is past it (S3's smallest part is 5 MB).
    storage = ContentS3Storage(**options, transfer_config=TransferConfig(multipart_threshold=5 * 1024 * 1024))
    small, large = b"s" * 1000, b"L" * (6 * 1024 * 1024)
    assert storage.save("a/small.jpg", ContentFile(small)) == "a/small.jpg"
    assert storage.save("a/large.mp4", ContentFile(large)) == "a/large.mp4"
    got_small = client.get_object(Bucket=BUCKET, Key="a/small.jpg")
    got_large = client.get_object(Bucket=BUCKET, Key="a/large.mp4")
    assert got_small["Body"].read() == small and got_small["ContentType"] == "image/jpeg"
    assert got_large["Body"].read() == large and got_large["ContentType"] == "video/mp4"
    # A multipart upload's ETag ends in the number of its parts; a single PUT's does not.
    assert "-" not in got_small["ETag"] and "-" in got_large["ETag"]
