from rest_framework.response import Response

from accounts.selectors import acting_owner, own_account
from cameras import selectors, services
from cameras.polling import polled_at
from cameras.serializers import camera_json, transition_json, zone_json
from config.api.params import query_bool
from config.api.views import MeAPIView


class CameraListView(MeAPIView):
    """``GET /api/users/me/cameras``: the account's cameras (``user=`` a host's, for a guest)."""

    host_readable = True

    def get(self, request, token: str):
        owner = acting_owner(user=request.user, host_email=request.query_params.get("user"))
        fetch_zones = query_bool(request, "fetch_zones")
        cameras = selectors.camera_list(owner=owner, fetch_zones=fetch_zones)
        since = selectors.online_since()
        polled = polled_at(cameras)
        if fetch_zones:
            return Response(
                [
                    camera_json(c, since=since, polled=polled, zones=[zone_json(z) for z in c.zones.all()])
                    for c in cameras
                ]
            )
        return Response([camera_json(c, since=since, polled=polled) for c in cameras])


class CameraDetailView(MeAPIView):
    """``GET|DELETE /api/users/me/cameras/:camera``."""

    host_readable = True

    def get(self, request, token: str, camera: str):
        owner = acting_owner(user=request.user, host_email=request.query_params.get("user"))
        cam = selectors.camera_get(owner=owner, name=camera)
        return Response(camera_json(cam, polled=polled_at([cam])))

    def delete(self, request, token: str, camera: str):
        owner = own_account(user=request.user, host_email=request.query_params.get("user"))
        services.camera_delete(camera=selectors.camera_get(owner=owner, name=camera))
        return Response(status=204)


class CameraTransitionsView(MeAPIView):
    """``GET /api/users/me/cameras/:camera/transitions``: online/offline history, newest first."""

    host_readable = True

    def get(self, request, token: str, camera: str):
        owner = acting_owner(user=request.user, host_email=request.query_params.get("user"))
        cam = selectors.camera_get(owner=owner, name=camera)
        return Response([transition_json(t) for t in selectors.camera_transitions(camera=cam)])
