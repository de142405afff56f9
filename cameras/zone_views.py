from rest_framework.response import Response

from accounts.selectors import acting_owner, own_account
from cameras import zones
from cameras.selectors import camera_get
from cameras.serializers import zone_json
from config.api.views import MeAPIView


class ZoneListView(MeAPIView):
    """``GET /api/users/me/cameras/:camera/zones`` (guests with ``user=``)."""

    host_readable = True

    def get(self, request, token: str, camera: str):
        owner = acting_owner(user=request.user, host_email=request.query_params.get("user"))
        cam = camera_get(owner=owner, name=camera)
        return Response([zone_json(z) for z in cam.zones.all()])


class ZoneDetailView(MeAPIView):
    """``GET|POST|DELETE /api/users/me/cameras/:camera/zones/:zone``; POST creates or replaces."""

    host_readable = True

    def get(self, request, token: str, camera: str, zone: str):
        owner = acting_owner(user=request.user, host_email=request.query_params.get("user"))
        return Response(zone_json(zones.zone_get(camera=camera_get(owner=owner, name=camera), name=zone)))

    def post(self, request, token: str, camera: str, zone: str):
        # Guests read; only the owner edits, so the camera is looked up among the caller's own.
        owner = own_account(user=request.user, host_email=request.query_params.get("user"))
        cam = camera_get(owner=owner, name=camera)
        obj, created = zones.zone_put(camera=cam, name=zone, data=request.data)
        return Response(zone_json(obj), status=201 if created else 200)

    put = post

    def delete(self, request, token: str, camera: str, zone: str):
        owner = own_account(user=request.user, host_email=request.query_params.get("user"))
        zones.zone_delete(camera=camera_get(owner=owner, name=camera), name=zone)
        return Response(status=204)
