"""Video probing and sampling on real clips; JPEG renditions fitted inside a box; content reads."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from cameras.services import camera_for_upload
from config.api.errors import BadRequest, NotFound
from tests.uploads.samples import jpeg_bytes, mp4_bytes, png_bytes
from uploads.media import MediaError, probe_video, sample_video_frames, video_poster
from uploads.models import Content
from uploads.renditions import content_image_bytes, rendition_params
from uploads.selectors import content_get, content_live, contents_by_public_id


def test_probe_reads_duration_resolution_and_codec_of_mp4_and_quicktime(tmp_path):
    for container in ("mp4", "mov"):
        path = tmp_path / f"clip.{container}"
        path.write_bytes(mp4_bytes(seconds=3, fps=10, width=160, height=120, container=container))
        info = probe_video(path)
        assert info.width == 160 and info.height == 120
        assert info.duration == pytest.approx(3.0, abs=0.15)
        assert info.codec in {"h264", "mpeg4"}
        assert "mp4" in info.container


def test_probe_refuses_bytes_that_are_not_video():
    with pytest.raises(MediaError):
        probe_video(io.BytesIO(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100))
    # FFmpeg reads a JPEG as a one-frame video; the container name tells it apart from MP4.
    assert "mp4" not in probe_video(io.BytesIO(jpeg_bytes())).container


def test_sampled_frames_are_evenly_spaced_across_the_clip():
    # A yellow square moves left to right: evenly spaced frames show it further right each time.
    frames = sample_video_frames(io.BytesIO(mp4_bytes(seconds=4, fps=10)), 4)
    assert len(frames) == 4
    xs = []
    for frame in frames:
        assert frame.size == (160, 120)
        row = [frame.getpixel((x, 50)) for x in range(160)]
        xs.append(next(x for x, (r, g, b) in enumerate(row) if r > 150 and g > 150 and b < 100))
    assert xs == sorted(xs) and xs[0] < 50 and xs[-1] > 90


def test_long_clip_is_sampled_by_seeking():
    data = mp4_bytes(seconds=70, fps=2, width=64, height=48)
    frames = sample_video_frames(io.BytesIO(data), 3)
    assert len(frames) == 3


def test_poster_is_a_jpeg_of_the_video():
    poster = video_poster(io.BytesIO(mp4_bytes()))
    with Image.open(io.BytesIO(poster)) as img:
        assert img.format == "JPEG" and img.size == (160, 120)


def test_rendition_params_validate_size_and_quality():
    assert rendition_params({}, default_w=150, default_h=112) == (150, 112, 85)
    assert rendition_params({"w": "320", "h": "", "quality": "40"}, default_w=None, default_h=None) == (320, None, 40)
    for bad in ({"w": "0"}, {"h": "-3"}, {"w": "abc"}, {"w": "100000"}, {"quality": "0"}, {"quality": "101"}):
        with pytest.raises(BadRequest):
            rendition_params(bad, default_w=None, default_h=None)


def _content(user, *, data: bytes, kind="image", content_type="image/jpeg", name="a.jpg", poster: bytes | None = None):
    camera = camera_for_upload(owner=user, name="front")
    key = default_storage.save(f"content/{user.pk}/{camera.pk}/{name}", ContentFile(data))
    poster_key = (
        default_storage.save(f"content/{user.pk}/{camera.pk}/{name}.poster.jpg", ContentFile(poster)) if poster else ""
    )
    return Content.objects.create(
        owner=user,
        camera=camera,
        kind=kind,
        content_type=content_type,
        name=name,
        storage_key=key,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        captured_at=timezone.now(),
        poster_key=poster_key,
    )


def test_content_image_bytes_fits_inside_the_box_keeping_aspect(user):
    original = jpeg_bytes(400, 300)
    content = _content(user, data=original)
    assert content_image_bytes(content) == original  # full size, default quality: the stored bytes
    with Image.open(io.BytesIO(content_image_bytes(content, w=100, h=100))) as img:
        assert img.format == "JPEG" and img.size == (100, 75)
    with Image.open(io.BytesIO(content_image_bytes(content, h=30))) as img:
        assert img.size == (40, 30)
    # Cached: the same rendition comes back even once the stored bytes are gone.
    small = content_image_bytes(content, w=50, h=50, quality=30)
    default_storage.delete(content.storage_key)
    assert content_image_bytes(content, w=50, h=50, quality=30) == small


def test_png_and_video_render_as_jpeg(user):
    png = _content(user, data=png_bytes(40, 30), content_type="image/png", name="p.png")
    with Image.open(io.BytesIO(content_image_bytes(png))) as img:
        assert img.format == "JPEG" and img.size == (40, 30)
    clip = mp4_bytes()
    with_poster = _content(
        user, data=clip, kind="video", content_type="video/mp4", name="v.mp4", poster=video_poster(io.BytesIO(clip))
    )
    with Image.open(io.BytesIO(content_image_bytes(with_poster, w=80))) as img:
        assert img.size == (80, 60)
    without_poster = _content(user, data=clip, kind="video", content_type="video/mp4", name="w.mp4")
    with Image.open(io.BytesIO(content_image_bytes(without_poster))) as img:
        assert img.format == "JPEG" and img.size == (160, 120)


def test_selectors_find_only_the_owners_content(user, other_user):
    mine = _content(user, data=jpeg_bytes())
    assert content_get(owner=user, camera_name="front", public_id=mine.public_id) == mine
    with pytest.raises(NotFound):
        content_get(owner=other_user, camera_name="front", public_id=mine.public_id)
    with pytest.raises(NotFound):
        content_get(owner=user, camera_name="back", public_id=mine.public_id)
    assert contents_by_public_id([mine.public_id, "nope"]) == {mine.public_id: mine}
    assert contents_by_public_id([]) == {}


def test_live_is_the_newest_image_heartbeats_included(user):
    first = _content(user, data=jpeg_bytes(), name="1.jpg")
    assert content_live(camera=first.camera) == first
    heartbeat = _content(user, data=jpeg_bytes(), name="2.jpg")
    Content.objects.filter(pk=heartbeat.pk).update(img_type="h")
    video = _content(user, data=mp4_bytes(), kind="video", content_type="video/mp4", name="3.mp4")
    assert content_live(camera=first.camera).pk == heartbeat.pk
    assert video.pk


@pytest.mark.parametrize("orientation, shown", [(1, (1920, 1080)), (6, (1080, 1920)), (8, (1080, 1920))])
def test_thumbnails_of_large_frames_decode_reduced_and_keep_their_orientation(user, orientation, shown):
    """A small rendition of a large JPEG decodes at a reduced scale (libjpeg's DCT scaling), which
    must still cover the box in the orientation the picture is shown in (EXIF turns it)."""
    img = Image.new("RGB", (1920, 1080), (20, 20, 200))
    img.paste((220, 30, 30), (0, 0, 200, 1080))  # a red band down the stored left edge
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, exif=exif.tobytes())
    content = _content(user, data=out.getvalue())
    with Image.open(io.BytesIO(content_image_bytes(content, w=150, h=150))) as thumb:
        expected = (150, round(150 * shown[1] / shown[0])) if shown[0] >= shown[1] else (84, 150)
        assert thumb.size == expected
        # Where the red band ends up says the turn was applied: left (1), top (6: 90° clockwise
        # shown), bottom (8: 90° anticlockwise shown).
        red_at = {1: (2, thumb.height // 2), 6: (thumb.width // 2, 2), 8: (thumb.width // 2, thumb.height - 3)}
        r, g, b = thumb.convert("RGB").getpixel(red_at[orientation])
        assert r > 150 and b < 100, (orientation, (r, g, b))
