"""Download zip build: throughput (MB/s) and peak memory for 1,000 items of 100 KB.

Runs the real service function (``search.downloads.download_build``: the Camio's content query,
the zip written item by item to a file in the data dir, that file moved into storage, the status
row and the email) on local storage, against an anchor: the same files concatenated into one file
(the one copy any build must make), with no zip, no ORM and no storage API.

    CAMHUB_DATA_DIR=/tmp/camhub-f2-bench .venv/bin/python bench/download_bench.py [--items 1000] [--kb 100]

It uses its own data dir (SQLite, media) unless DATABASE_URL is set; the data dir is emptied first.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def setup_django(data_dir: Path) -> None:
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    os.environ["CAMHUB_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0)


def seed(items: int, size: int):
    """One account, one camera, ``items`` stored items of ``size`` random bytes, a Camio sharing them."""
    from django.contrib.auth import get_user_model
    from django.core.files.storage import default_storage

    from cameras.models import Camera
    from search.models import Camio
    from uploads.models import Content, new_public_id

    user = get_user_model().objects.create_user("bench", email="bench@example.com")
    camera = Camera.objects.create(owner=user, name="front")
    root = Path(default_storage.location)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for i in range(items):
        public_id = new_public_id()
        key = f"content/{user.pk}/{camera.pk}/{public_id}.jpg"
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))  # incompressible, like JPEG
        rows.append(
            Content(
                public_id=public_id,
                owner=user,
                camera=camera,
                kind="image",
                content_type="image/jpeg",
                name=f"{i}.jpg",
                storage_key=key,
                size=size,
                sha256=f"{i:064x}",
                captured_at=start + timedelta(seconds=i),
            )
        )
    Content.objects.bulk_create(rows, batch_size=500)
    camio = Camio.objects.create(owner=user, name="bench", query={"cameras": ["front"]})
    return user, camio, [root / r.storage_key for r in rows]


def new_download(user, camio) -> int:
    from search.models import Download

    return Download.objects.create(camio=camio, requester=user).pk


def run_build(user, camio) -> tuple[float, int]:
    from search.downloads import download_build
    from search.models import Download

    download_id = new_download(user, camio)
    started = time.perf_counter()
    download_build(download_id=download_id)
    seconds = time.perf_counter() - started
    row = Download.objects.get(pk=download_id)
    assert row.status == "ready", (row.status, row.error)
    return seconds, row.size


def run_anchor(paths: list[Path], out_dir: Path) -> tuple[float, int]:
    """The floor: the same files concatenated into one file (one copy, no zip, no ORM, no storage API)."""
    started = time.perf_counter()
    with open(out_dir / "anchor.bin", "wb") as dst:
        for path in paths:
            with open(path, "rb") as src:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        size = dst.tell()
    seconds = time.perf_counter() - started
    (out_dir / "anchor.bin").unlink()
    return seconds, size


def run_stdlib_zip(paths: list[Path], out_dir: Path) -> tuple[float, int]:
    """A second anchor: the files zipped (stored) by ``zipfile.ZipFile.write``, no ORM, no storage API."""
    import zipfile

    started = time.perf_counter()
    with zipfile.ZipFile(out_dir / "anchor.zip", "w", compression=zipfile.ZIP_STORED) as archive:
        for path in paths:
            archive.write(path, arcname=path.name)
    seconds = time.perf_counter() - started
    size = (out_dir / "anchor.zip").stat().st_size
    (out_dir / "anchor.zip").unlink()
    return seconds, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--kb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    data_dir = Path(os.environ.get("CAMHUB_DATA_DIR", "/tmp/camhub-download-bench")) / "bench"
    setup_django(data_dir)
    from django.core import mail

    user, camio, paths = seed(args.items, args.kb * 1024)
    mb = args.items * args.kb * 1024 / 1e6

    # Warm the page cache and the code paths once, untimed.
    run_build(user, camio)
    run_anchor(paths, data_dir)

    # Interleaved, so both sides see the same background load (the machine is shared).
    builds, anchors, stdlib = [], [], []
    for _ in range(args.repeat):
        builds.append(run_build(user, camio))
        anchors.append(run_anchor(paths, data_dir))
        stdlib.append(run_stdlib_zip(paths, data_dir))
    build_s = min(s for s, _ in builds)
    anchor_s = min(s for s, _ in anchors)
    stdlib_s = min(s for s, _ in stdlib)
    zip_size = builds[0][1]

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    run_build(user, camio)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    assert len(mail.outbox) == args.repeat + 2  # every build mailed its link
    print(
        f"download zip build: {args.items} items x {args.kb} KB = {mb:.1f} MB of content, zip {zip_size / 1e6:.1f} MB"
    )
    print(f"{'':34}{'seconds':>10}{'MB/s':>10}")
    print(f"{'download_build (zip + store)':34}{build_s:>10.3f}{mb / build_s:>10.1f}")
    print(f"{'anchor: concatenate, no zip':34}{anchor_s:>10.3f}{mb / anchor_s:>10.1f}")
    print(f"{'anchor: zipfile.write, no ORM':34}{stdlib_s:>10.3f}{mb / stdlib_s:>10.1f}")
    print(f"ratio build/concatenate: {build_s / anchor_s:.2f}x, build/zipfile.write: {build_s / stdlib_s:.2f}x")
    print(f"(best of {args.repeat} interleaved runs each)")
    print(f"peak Python memory during a build (tracemalloc): {peak / 1e6:.2f} MB")
    print(f"process max RSS before/after that build: {rss_before / 1024:.1f} / {rss_after / 1024:.1f} MB")


if __name__ == "__main__":
    main()
