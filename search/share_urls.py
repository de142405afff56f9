"""Shared content under /api/: items by access token, the live image, Camio downloads."""

from config.api.routing import api_route
from search import share_views

urlpatterns = [
    api_route("content", share_views.ContentByAccessTokenView.as_view(), "content-by-access-token"),
    # Before content/<id>: "live" is a fixed segment (public ids are 22 random characters).
    api_route("content/live/<camera>", share_views.LiveImageView.as_view(), "content-live"),
    api_route("content/<content_id>", share_views.ContentMediaView.as_view(), "content-media"),
    api_route("camios/<token>/downloads", share_views.DownloadCreateView.as_view(), "camio-download-create"),
    api_route(
        "camios/<token>/downloads/<download_id>", share_views.DownloadDetailView.as_view(), "camio-download-detail"
    ),
]
