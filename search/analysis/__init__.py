"""The analysis pipeline: motion, zones, colour, direction, people, and grouping into events.

``content_analyze`` is the one entry point (the Celery task, the admin's re-analyse action and the
benchmark all call it).
"""

from search.analysis.pipeline import (
    TransientAnalysisError,
    content_analysis_failed,
    content_analyze,
)

__all__ = ["TransientAnalysisError", "content_analysis_failed", "content_analyze"]
