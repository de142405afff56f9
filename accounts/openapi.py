"""OpenAPI description of the accounts API: settings, Upload Tokens, guests, notifications.

Registered from ``AccountsConfig.ready``; each extension stands an annotated subclass in for a view
while the schema is generated (see ``config.api.openapi``). The shapes mirror
``accounts.serializers``.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers

from config.api.openapi import ME, NO_CONTENT, bool_query, documented, errors, path_param

# Reads of what is private to an account: a guest's ``user=<host email>`` is refused here.
PRIVATE_403 = "`user=` names another account: this is private to its account, guests cannot read it."


class NotificationPreferenceSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["ON", "OFF"], help_text="The ON or OFF state of the notification type.")
    method = serializers.ChoiceField(
        choices=["EMAIL", "PUSH"], help_text="The method of delivery for the notification type."
    )
    options = serializers.CharField(
        allow_blank=True,
        max_length=500,
        help_text="Applicable to motion_alerts only, to mute camera or label names: e.g. `mute driveway,street`. "
        "The empty string means all alerts are sent.",
    )


class NotificationPreferenceUpdateSerializer(NotificationPreferenceSerializer):
    """In an update every field is optional: what is not named is kept."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


def _notifications(*, required: bool) -> serializers.Serializer:
    kinds = {
        "motion_alerts": "Sent when interesting motion is detected in specific zones and cameras.",
        "camera_diagnostics": "Sent when a problem with a particular camera is detected.",
        "announcements": "Info on new features, enhancements and changes.",
        "newsletters": "Tips, news, and information related to uses of Camio.",
        "camio_daily": "Daily summary of interesting events.",
    }
    preference = NotificationPreferenceSerializer if required else NotificationPreferenceUpdateSerializer
    fields = {kind: preference(required=required, help_text=text) for kind, text in kinds.items()}
    name = "Notifications" if required else "NotificationsUpdate"
    return type(name + "Serializer", (serializers.Serializer,), fields)


NotificationsSerializer = _notifications(required=True)
NotificationsUpdateSerializer = _notifications(required=False)


class SettingsSerializer(serializers.Serializer):
    notifications = NotificationsSerializer(help_text="The notification preferences by type of notification.")
    upload_token = serializers.CharField(help_text="The read-only Upload Token of the account.")
    recording_enabled = serializers.BooleanField(
        help_text="false to override the settings of all cameras to stop saving uploads on the server."
    )


class SettingsUpdateSerializer(serializers.Serializer):
    notifications = NotificationsUpdateSerializer(
        required=False,
        help_text="Preferences to change, by type of notification; each preference's fields are optional "
        "(what is not named is kept).",
    )
    recording_enabled = serializers.BooleanField(
        required=False, help_text="true or false to enable or disable recording of uploaded content."
    )
    upload_token = serializers.CharField(
        required=False, help_text="Read-only: when present in a POST/PUT/PATCH, this value is ignored."
    )


class GuestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    date_created = serializers.CharField(help_text="When the account was made a guest (ISO 8601).")


class GuestInputSerializer(serializers.Serializer):
    email = serializers.EmailField(help_text="The email address of an existing account.")


class NotificationSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField(help_text="The notification type, e.g. `motion_alerts`.")
    title = serializers.CharField()
    body = serializers.CharField()
    data = serializers.JSONField(help_text="Type-specific details (e.g. the camera and event).")
    date_created = serializers.CharField(help_text="ISO 8601.")
    read = serializers.BooleanField()


class UploadTokenHintSerializer(serializers.Serializer):
    email = serializers.CharField(help_text="The local part of the owner's email address, the domain hidden.")


SETTINGS_EXAMPLE = OpenApiExample(
    "The reference's settings",
    value={
        "notifications": {
            "motion_alerts": {"state": "ON", "method": "PUSH", "options": "mute street,window"},
            "camera_diagnostics": {"state": "ON", "method": "EMAIL", "options": ""},
            "announcements": {"state": "ON", "method": "EMAIL", "options": ""},
            "newsletters": {"state": "ON", "method": "EMAIL", "options": ""},
            "camio_daily": {"state": "ON", "method": "EMAIL", "options": ""},
        },
        "upload_token": "ABQR123",
        "recording_enabled": True,
    },
    response_only=True,
)
SETTINGS_DESCRIPTION = (
    "The user's notification preferences and recording state, and the account's Upload Token (which cannot be "
    "modified with a POST: it changes only by `POST /api/users/me/tokens/upload/rotate`)."
)
UPDATE_DESCRIPTION = (
    "A partial update: what the body does not name is kept. Unknown members and invalid values are a 400, and "
    "then nothing is written. PUT and PATCH do the same as POST. Must carry the OAuth token in the Authorization "
    "header."
)
TAG_SETTINGS, TAG_UPLOAD, TAG_GUESTS, TAG_NOTIFICATIONS = ["settings"], ["upload tokens"], ["guests"], ["notifications"]


def _settings_update(method: str):
    return extend_schema(
        operation_id=f"settings_update_{method}",
        summary="Update Settings",
        description=UPDATE_DESCRIPTION,
        parameters=[ME],
        request=SettingsUpdateSerializer,
        responses={200: SettingsSerializer, **errors(400, 401, 403, 404)},
        tags=TAG_SETTINGS,
    )


class SettingsViewSchema(OpenApiViewExtension):
    target_class = "accounts.views.SettingsView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="settings_get",
                summary="Get Settings",
                description=SETTINGS_DESCRIPTION,
                parameters=[ME],
                responses={200: SettingsSerializer, **errors(401, 404, e403=PRIVATE_403)},
                examples=[SETTINGS_EXAMPLE],
                tags=TAG_SETTINGS,
            ),
            post=_settings_update("post"),
            put=_settings_update("put"),
            patch=_settings_update("patch"),
        )


class UploadTokenViewSchema(OpenApiViewExtension):
    target_class = "accounts.views.UploadTokenView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="upload_token_get",
                summary="Get Upload Token",
                description="The Upload Token of the currently authenticated user, as a JSON string. An Upload Token "
                "permits only the uploading of content; it provides no access to content.",
                parameters=[ME],
                responses={
                    200: OpenApiResponse(
                        response=OpenApiTypes.STR,
                        examples=[OpenApiExample("Token", value="AQBrSFvOPxQj2prnCh2wvocHnAbu_5szaBeFdQsktgE4Vw")],
                    ),
                    **errors(401, 404, e403=PRIVATE_403),
                },
                tags=TAG_UPLOAD,
            ),
        )


class UploadTokenRotateViewSchema(OpenApiViewExtension):
    target_class = "accounts.views.UploadTokenRotateView"

    def view_replacement(self):
        return documented(
            self.target_class,
            post=extend_schema(
                operation_id="upload_token_rotate",
                summary="Rotate the Upload Token",
                description="Changes the account's upload code: the new Upload Token is answered (a JSON string) and "
                "the old one stops working at once. Claimed cameras get the new token with their next poll.",
                parameters=[ME],
                request=None,
                responses={200: OpenApiResponse(response=OpenApiTypes.STR), **errors(401, 403, 404)},
                tags=TAG_UPLOAD,
            ),
        )


def _hint(method: str):
    return extend_schema(
        operation_id=f"upload_token_hint_{method}",
        summary="Get Upload Token Hint",
        description="For camera installers: a hint displaying a portion of the email address of the user that "
        "owns the Upload Token. Open (no sign-in); GET and POST answer the same.",
        parameters=[
            path_param(
                "upload_token",
                "The Upload Token to validate. Example: `AQBrSFvOPxQj2prnCh2wvocHnAbu_5szaBeFdQsktgE4Vw`.",
            )
        ],
        request=None,
        responses={
            200: OpenApiResponse(
                response=UploadTokenHintSerializer, examples=[OpenApiExample("Hint", value={"email": "test@..."})]
            ),
            **errors(e404="Unknown upload token."),
        },
        tags=TAG_UPLOAD,
    )


class UploadTokenHintViewSchema(OpenApiViewExtension):
    target_class = "accounts.views.UploadTokenHintView"

    def view_replacement(self):
        return documented(self.target_class, get=_hint("get"), post=_hint("post"))


class GuestListViewSchema(OpenApiViewExtension):
    target_class = "accounts.views.GuestListView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="guests_list",
                summary="List guests",
                description="The accounts the caller shares its cameras and content with (read-only), oldest first.",
                parameters=[ME],
                responses={200: GuestSerializer(many=True), **errors(401, 404, e403=PRIVATE_403)},
                tags=TAG_GUESTS,
            ),
            post=extend_schema(
                operation_id="guests_add",
                summary="Add a guest",
                description="Share the caller's cameras and content, read-only, with the account using `email`. "
                "Adding an existing guest again answers it as well, with 200 instead of 201.",
                parameters=[ME],
                request=GuestInputSerializer,
                responses={
                    201: GuestSerializer,
                    200: OpenApiResponse(response=GuestSerializer, description="Already a guest: nothing changed."),
                    **errors(400, 401, 403, e404="The path token is not `me`, or no account uses that email address."),
                },
                tags=TAG_GUESTS,
            ),
        )


class GuestDetailViewSchema(OpenApiViewExtension):
    target_class = "accounts.views.GuestDetailView"

    def view_replacement(self):
        return documented(
            self.target_class,
            delete=extend_schema(
                operation_id="guests_remove",
                summary="Remove a guest",
                description="Stop sharing with that account.",
                parameters=[ME, path_param("email", "The guest's email address.")],
                responses={**NO_CONTENT, **errors(401, 403, e404="No guest with that email address.")},
                tags=TAG_GUESTS,
            ),
        )


class NotificationListViewSchema(OpenApiViewExtension):
    target_class = "accounts.views.NotificationListView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="notifications_list",
                summary="List notifications",
                description="The account's PUSH notifications, newest first (at most 100).",
                parameters=[ME, bool_query("unread", "Only the notifications not yet read.")],
                responses={200: NotificationSerializer(many=True), **errors(400, 401, 404, e403=PRIVATE_403)},
                tags=TAG_NOTIFICATIONS,
            ),
        )


class NotificationReadViewSchema(OpenApiViewExtension):
    target_class = "accounts.views.NotificationReadView"

    def view_replacement(self):
        return documented(
            self.target_class,
            post=extend_schema(
                operation_id="notifications_mark_read",
                summary="Mark a notification read",
                description="Marks one of the account's notifications as read.",
                parameters=[ME, path_param("notification", "The notification's id.")],
                request=None,
                responses={**NO_CONTENT, **errors(401, 403, e404="No such notification.")},
                tags=TAG_NOTIFICATIONS,
            ),
        )
