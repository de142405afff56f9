"""Remove stored files nothing refers to any more: what beat's daily sweeps
(``cameras.purge_orphaned_storage``, ``search.purge_orphaned_zips``) do, on demand, with progress."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from cameras.storage import ORPHAN_GRACE, orphaned_content_purge
from config.progress import ProgressBar
from search.downloads import orphaned_zips_purge


class Command(BaseCommand):
    help = (
        "Delete the stored bytes of deleted cameras and accounts, zips no download refers to, and "
        "spool files of download builds that died (what the daily sweeps do)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=int(ORPHAN_GRACE.total_seconds() // 60),
            help="leave files written less than this long ago (an upload may still be committing them)",
        )

    def handle(self, *args, grace_minutes: int, **options):
        older_than = timezone.now() - timedelta(minutes=max(0, grace_minutes))
        removed = {}
        for label, purge in (("content", orphaned_content_purge), ("zips", orphaned_zips_purge)):
            bar = ProgressBar(self.stdout, f"{label:<8}")
            try:
                removed[label] = purge(older_than=older_than, progress=bar)
            finally:
                bar.close()
        self.stdout.write(
            f"removed {removed['content']} file(s) of deleted cameras and {removed['zips']} orphaned zip(s) or spool(s)"
        )
