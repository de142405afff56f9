"""The search app's routes under /api/: search and the Camios API."""

from config.api.routing import api_route
from search import views

urlpatterns = [
    api_route("search", views.SearchView.as_view(), "search"),
    api_route("users/<token>/camios", views.CamioListView.as_view(), "camio-list"),
    api_route("users/<token>/camios/<camio>", views.CamioDetailView.as_view(), "camio-detail"),
]
