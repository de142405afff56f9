"""Search owns events (items grouped by time, with labels), per-item analysis, and Camios."""

from search.models.camios import Camio, Download
from search.models.events import Event, EventLabel, InterestLevel, ItemAnalysis
from search.models.viewer import ViewerKeyUsage

__all__ = ["Camio", "Download", "Event", "EventLabel", "InterestLevel", "ItemAnalysis", "ViewerKeyUsage"]
