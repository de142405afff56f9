from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import AccountSettings, Guest, Notification
from accounts.selectors import account_settings_get
from accounts.serializers import guest_json, notification_json, settings_json
from config.api.errors import NotFound
from config.api.params import query_bool
from config.api.views import MeAPIView


class SettingsView(MeAPIView):
    """``GET|POST /api/users/me/settings``: notification preferences, recording switch, Upload Token."""

    def get(self, request, token: str):
        return Response(settings_json(account_settings_get(user=request.user)))

    def post(self, request, token: str):
        return Response(settings_json(services.account_settings_update(user=request.user, data=request.data)))

    put = patch = post


class UploadTokenView(MeAPIView):
    """``GET /api/users/me/tokens/upload``: the Upload Token, as a JSON string."""

    def get(self, request, token: str):
        return Response(account_settings_get(user=request.user).upload_token)


class UploadTokenRotateView(MeAPIView):
    """``POST /api/users/me/tokens/upload/rotate``: change the upload code; the old token dies at once."""

    def post(self, request, token: str):
        return Response(services.upload_token_rotate(user=request.user))


class UploadTokenHintView(APIView):
    """``GET|POST /api/tokens/:upload_token/hint``: part of the owner's email, for installers.

    Open (installers have no sign-in); throttled per client address like any anonymous call.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request, upload_token: str):
        row = AccountSettings.objects.select_related("user").filter(upload_token=upload_token).first()
        if row is None or not row.user.is_active:
            raise NotFound("Unknown upload token")
        return Response({"email": services.upload_token_hint(email=row.user.email)})

    post = get


class GuestListView(MeAPIView):
    """``GET|POST /api/users/me/guests``: accounts the caller shares cameras with (read-only).

    POST answers 201 when it adds the guest, 200 (the same body) when it already was one."""

    def get(self, request, token: str):
        rows = Guest.objects.filter(host=request.user).select_related("guest").order_by("created_at")
        return Response([guest_json(row) for row in rows])

    def post(self, request, token: str):
        email = request.data.get("email") if isinstance(request.data, dict) else None
        row, created = services.guest_add(host=request.user, email=email)
        return Response(guest_json(row), status=201 if created else 200)


class GuestDetailView(MeAPIView):
    """``DELETE /api/users/me/guests/:email``: stop sharing with that account."""

    def delete(self, request, token: str, email: str):
        services.guest_remove(host=request.user, email=email)
        return Response(status=204)


class NotificationListView(MeAPIView):
    """``GET /api/users/me/notifications[?unread=true]``: PUSH notifications, newest first (100)."""

    def get(self, request, token: str):
        rows = Notification.objects.filter(user=request.user)
        if query_bool(request, "unread"):
            rows = rows.filter(read_at__isnull=True)
        return Response([notification_json(row) for row in rows[:100]])


class NotificationReadView(MeAPIView):
    """``POST /api/users/me/notifications/:id/read``."""

    def post(self, request, token: str, notification: str):
        if not (notification.isascii() and notification.isdigit()):
            raise NotFound("No such notification")
        services.notification_mark_read(user=request.user, notification_id=int(notification))
        return Response(status=204)
