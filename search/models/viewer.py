from __future__ import annotations

from django.db import models


class ViewerKeyUsage(models.Model):
    """Viewer page loads (``/?v=…&key=…``) under one API key on one UTC day.

    Loads are counted in the cache first and added here in batches (``search.viewer_usage``), so
    the page never waits on a contended row; ``count`` may trail the cache by up to a minute.
    """

    # The API key: the client id of an OAuth application issued in admin. A plain value, not a
    # foreign key to the (swappable) application model: the count is kept by what the page is
    # given, and a deleted key's history stays readable.
    client_id = models.CharField(max_length=100)
    day = models.DateField()
    count = models.PositiveBigIntegerField(default=0)
    last_used_at = models.DateTimeField()

    class Meta:
        constraints = [
            # One row per key and day; its index also serves the admin's per-key sums over a
            # range of days (client_id = … AND day >= …).
            models.UniqueConstraint(fields=["client_id", "day"], name="viewer_usage_one_per_key_day"),
        ]
        verbose_name = "viewer usage"
        verbose_name_plural = "viewer usage"

    def __str__(self) -> str:
        return f"{self.client_id} {self.day}: {self.count}"
