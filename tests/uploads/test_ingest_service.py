"""The ingest pieces under HTTP and FTP: capture times from names, streaming limits, the hand-off."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.api.errors import PayloadTooLarge
from tests.uploads.samples import jpeg_bytes
from uploads.ingest import spool_body, upload_params_parse
from uploads.models import Content
from uploads.services import content_ingest
from uploads.timestamps import capture_time

ARRIVAL = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "name, free_text, expected",
    [
        ("2014-07-21T20:38:31.000-07:00.mp4", False, datetime(2014, 7, 22, 3, 38, 31, tzinfo=UTC)),
        ("2014-07-21T20:38:32.183-07:00.jpeg", False, datetime(2014, 7, 22, 3, 38, 32, 183000, tzinfo=UTC)),
        ("2014-07-21T20:38:32Z.jpg", False, datetime(2014, 7, 21, 20, 38, 32, tzinfo=UTC)),
        ("2014-07-21T20:38:32.jpg", False, datetime(2014, 7, 21, 20, 38, 32, tzinfo=UTC)),  # no offset: UTC
        ("front_20140721_203831.jpg", True, datetime(2014, 7, 21, 20, 38, 31, tzinfo=UTC)),
        ("ARC20140721203831.jpg", True, datetime(2014, 7, 21, 20, 38, 31, tzinfo=UTC)),
        ("cam1 2014-07-21 20.38.31.jpg", True, datetime(2014, 7, 21, 20, 38, 31, tzinfo=UTC)),
        ("snap_1405975111.jpg", True, datetime(2014, 7, 21, 20, 38, 31, tzinfo=UTC)),
        ("front_20140721_203831.jpg", False, ARRIVAL),  # free text only when asked
        ("front_20141321_203831.jpg", True, ARRIVAL),  # month 13
        ("snapshot.jpg", True, ARRIVAL),
        ("2014-07-21.jpg", False, ARRIVAL),  # a date is no capture time
        ("2099-01-01T00:00:00Z.jpg", False, ARRIVAL),  # in the future: a wrong clock
        ("", True, ARRIVAL),
    ],
)
def test_capture_time_from_names(name, free_text, expected):
    assert capture_time(name, parse_free_text=free_text, arrived_at=ARRIVAL) == expected


class Endless(io.RawIOBase):
    """A body of unknown length that never ends (a chunked upload gone wrong)."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b"\xff" * len(buffer)
        return len(buffer)


def test_a_body_of_undeclared_length_is_cut_off_at_the_limit_and_leaves_no_temp_file(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    with pytest.raises(PayloadTooLarge):
        spool_body(Endless(), limit=1_000_000, declared_length=None)
    assert list(Path(tmp_path).iterdir()) == []


def test_a_declared_length_over_the_limit_is_refused_before_reading(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    with pytest.raises(PayloadTooLarge):
        spool_body(Endless(), limit=1000, declared_length=1001)
    assert list(Path(tmp_path).iterdir()) == []


def test_the_spooled_body_is_on_disk_not_in_memory(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    data = b"x" * (3 * 1024 * 1024)
    with spool_body(io.BytesIO(data), limit=10 * 1024 * 1024) as body:
        spooled = list(Path(tmp_path).iterdir())
        assert len(spooled) == 1 and spooled[0].stat().st_size == len(data)
        assert body.size == len(data) and body.head == data[:64]
    assert list(Path(tmp_path).iterdir()) == []


def test_every_upload_is_handed_to_analysis_after_commit(user, django_capture_on_commit_callbacks):
    from search.models import ItemAnalysis

    params = upload_params_parse({"camera_id": "1"}, camera_name="front", name="a.jpg", content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = content_ingest(owner=user, params=params, stream=io.BytesIO(jpeg_bytes()))
    assert result.created and len(callbacks) == 2  # the durability mark, then the analysis task
    for callback in callbacks:
        callback()  # tasks run eagerly in tests: search analyses the item
    assert ItemAnalysis.objects.filter(content=result.content).exists()


def test_the_stored_row_reads_back_as_the_answered_item(user):
    params = upload_params_parse(
        {"camera_id": "1", "options": "no_analysis,parse_timestamp", "rotation": "90", "img_type": "h"},
        camera_name="front",
        name="front_20140721_203831.jpg",
        content_type="image/jpeg",
    )
    result = content_ingest(owner=user, params=params, stream=io.BytesIO(jpeg_bytes(64, 48)))
    stored = Content.objects.get(pk=result.content.pk)
    for field in Content._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(result.content, field.attname), field.name
    assert stored.options == ["no_analysis", "parse_timestamp"] and (stored.width, stored.height) == (64, 48)
    assert stored.created_at is not None and stored.captured_at.year == 2014


def test_concurrent_retries_of_one_upload_make_one_item(transactional_db, user, _private_media):
    import threading

    from django.db import connection

    from uploads.models import Content

    body = jpeg_bytes(200, 150)
    results, errors = [], []
    start = threading.Barrier(4)

    def send():
        try:
            params = upload_params_parse(
                {"camera_id": "1"}, camera_name="front", name="a.jpg", content_type="image/jpeg"
            )
            start.wait()
            results.append(content_ingest(owner=user, params=params, stream=io.BytesIO(body)))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len({r.content.pk for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert Content.objects.count() == 1
    # The losers' bytes were removed again: one stored file.
    assert len([p for p in _private_media.rglob("*") if p.is_file()]) == 1


def test_an_upload_to_a_known_camera_takes_a_fixed_number_of_queries(
    user, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    first = upload_params_parse({"camera_id": "1"}, camera_name="front", name="a.jpg", content_type="image/jpeg")
    content_ingest(owner=user, params=first, stream=io.BytesIO(jpeg_bytes()))
    again = upload_params_parse({"camera_id": "1"}, camera_name="front", name="b.jpg", content_type="image/jpeg")
    # Camera, account settings, savepoint, insert, release; the sight is fresh: not written again.
    with django_capture_on_commit_callbacks(execute=False), django_assert_max_num_queries(5):
        content_ingest(owner=user, params=again, stream=io.BytesIO(jpeg_bytes(color=(1, 1, 1))))


def test_a_still_is_spooled_in_memory_and_a_larger_body_moves_to_disk_whole(settings, tmp_path):
    from uploads.ingest import MEMORY_SPOOL_BYTES

    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    small = jpeg_bytes()
    with spool_body(io.BytesIO(small), limit=10 * 1024 * 1024) as body:
        assert list(Path(tmp_path).iterdir()) == []  # no temporary file for a still
        assert body.file.read() == small and body.size == len(small)
    # Just past the threshold: the part read into memory first is on disk too, in order.
    data = bytes(range(256)) * ((MEMORY_SPOOL_BYTES + 300 * 1024) // 256)
    with spool_body(io.BytesIO(data), limit=10 * 1024 * 1024) as body:
        assert len(list(Path(tmp_path).iterdir())) == 1
        assert body.file.read() == data and body.size == len(data)
    assert list(Path(tmp_path).iterdir()) == []
