from rest_framework.response import Response

from accounts.selectors import acting_owner
from cameras import selectors, services
from cameras.serializers import camera_json, zone_json
from config.api.views import MeAPIView, query_bool


class CameraListView(MeAPIView):
    """``GET /api/users/me/cameras``: the account's cameras (``user=`` a host's, for a guest)."""

    def get(self, request, token: str):
        owner = acting_owner(user=request.user, host_email=request.query_params.get("user"))
        fetch_zones = query_bool(request, "fetch_zones")
        cameras = selectors.camera_list(owner=owner)
        since = selectors.online_since()
        if fetch_zones:
            cameras = cameras.prefetch_related("zones")
            return Response([camera_json(c, since=since, zones=[zone_json(z) for z in c.zones.all()]) for c in cameras])
        return Response([camera_json(c, since=since) for c in cameras])


class CameraDetailView(MeAPIView):
    """``GET|DELETE /api/users/me/cameras/:camera``."""

    def get(self, request, token: str, camera: str):
        owner = acting_owner(user=request.user, host_email=request.query_params.get("user"))
        return Response(camera_json(selectors.camera_get(owner=owner, name=camera)))

    def delete(self, request, token: str, camera: str):
        services.camera_delete(camera=selectors.camera_get(owner=request.user, name=camera))
        return Response(status=204)
