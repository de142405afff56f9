from cameras import views
from config.api.routing import api_route

urlpatterns = [
    api_route("users/<token>/cameras", views.CameraListView.as_view(), "camera-list"),
    api_route("users/<token>/cameras/<camera>", views.CameraDetailView.as_view(), "camera-detail"),
    api_route(
        "users/<token>/cameras/<camera>/transitions", views.CameraTransitionsView.as_view(), "camera-transitions"
    ),
]
