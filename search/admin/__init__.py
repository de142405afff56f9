"""Admin for events and analysis (events.py), Camios and downloads (camios.py), viewer API keys (viewer.py)."""

from search.admin import camios, events, viewer  # noqa: F401
