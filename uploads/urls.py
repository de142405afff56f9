"""Routes of the uploads app: ingest and content fetch (the path Camio gives both)."""

from config.api.routing import api_route
from uploads import views

urlpatterns = [
    api_route("users/<token>/cameras/<camera>/content", views.ContentView.as_view(), "content-upload"),
    api_route("users/<token>/cameras/<camera>/content/<name>", views.ContentView.as_view(), "content-detail"),
]
