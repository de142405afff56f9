from cameras import zone_views
from config.api.routing import api_route

urlpatterns = [
    api_route("users/<token>/cameras/<camera>/zones", zone_views.ZoneListView.as_view(), "zone-list"),
    api_route("users/<token>/cameras/<camera>/zones/<zone>", zone_views.ZoneDetailView.as_view(), "zone-detail"),
]
