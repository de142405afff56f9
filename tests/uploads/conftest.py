"""Fixtures of the uploads tests: storage in a private folder per test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Each test stores its bytes under its own folder (local filesystem storage)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"
