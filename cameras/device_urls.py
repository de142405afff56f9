from cameras import device_views
from config.api.routing import api_route

urlpatterns = [
    api_route("cameras/<mac_address>", device_views.camera_poll, "camera-poll"),
    api_route("users/<token>/devices", device_views.DeviceListView.as_view(), "device-list"),
    api_route("users/<token>/devices/<mac_address>/claim", device_views.DeviceClaimView.as_view(), "device-claim"),
]
