"""Serving processes freeze what start-up built, so full collections no longer walk it."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(code: str, tmp_path) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(CAMHUB_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_web_application_freezes_its_start_up_heap_with_the_views_loaded(tmp_path):
    out = _run(
        "import gc, sys; import config.wsgi; "
        "print(gc.get_freeze_count(), 'cameras.views' in sys.modules, 'search.views' in sys.modules)",
        tmp_path,
    )
    frozen, cameras_views, search_views = out.split()
    assert int(frozen) > 10_000
    assert cameras_views == search_views == "True"


def test_each_worker_process_freezes_its_start_up_heap(tmp_path):
    out = _run(
        "import gc, django; django.setup(); from config.celery import app; "
        "from celery.signals import worker_process_init; "
        "before = gc.get_freeze_count(); worker_process_init.send(sender=None); "
        "print(before, gc.get_freeze_count())",
        tmp_path,
    )
    before, after = map(int, out.split())
    assert before == 0 and after > 10_000
