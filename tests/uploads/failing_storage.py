"""A storage that fails part-way, standing in for a disk or S3 that breaks mid-upload.

It is the outside world's boundary (the store), not our code: everything up to the failing write
runs for real on the local filesystem.
"""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage


class PosterFailingStorage(FileSystemStorage):
    """Stores the upload's main file, then fails on its poster frame: a failure mid-upload."""

    def _save(self, name, content):
        if name.endswith(".poster.jpg"):
            raise OSError(28, "No space left on device")
        return super()._save(name, content)
