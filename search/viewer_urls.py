"""Site-root routes of the search app: the embeddable viewer (``/?v=…&key=…``) and download links."""

from django.urls import path

from search import viewer_views

urlpatterns = [
    path("", viewer_views.viewer, name="viewer"),
    path("downloads/<str:signed>", viewer_views.download_file, name="download-file"),
]
