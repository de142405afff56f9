"""Admin for events and analysis (events.py) and for Camios and downloads (camios.py)."""

from search.admin import camios, events  # noqa: F401
