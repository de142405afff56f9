"""The analysis pipeline: motion, zones, colour, direction, people, and grouping into events.

``content_analyze`` analyses one item (the admin's re-analyse action calls it); the Celery task
calls ``content_backlog_analyze``, which analyses the item with its camera's backlog as a batch.
"""

import cv2
from django.conf import settings

if settings.ANALYSIS_OPENCV_THREADS:  # see the setting; OpenCV's setting is per process
    cv2.setNumThreads(settings.ANALYSIS_OPENCV_THREADS)

from search.analysis.pipeline import (
    TransientAnalysisError,
    content_analysis_failed,
    content_analyze,
    content_backlog_analyze,
    content_backlog_next,
    content_backlog_since,
)

__all__ = [
    "TransientAnalysisError",
    "content_analysis_failed",
    "content_analyze",
    "content_backlog_analyze",
    "content_backlog_next",
    "content_backlog_since",
]
