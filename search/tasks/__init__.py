"""Celery tasks of the search app (found by autodiscovery through this package)."""

from search.tasks.analysis import *  # noqa: F403
from search.tasks.cameras import *  # noqa: F403
from search.tasks.downloads import *  # noqa: F403
from search.tasks.viewer_usage import *  # noqa: F403
