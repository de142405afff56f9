"""OpenAPI description of the hooks API: hooks, their signing secret, deliveries, and the callback.

Registered from ``HooksConfig.ready``; see ``config.api.openapi`` for how. The views' own
``extend_schema`` (summaries, the query grammar, request bodies) is kept and completed here with
operation ids, parameters and responses. The shapes mirror ``hooks.serializers``.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiCallback, OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from accounts.openapi import PRIVATE_403
from config.api.openapi import ME, NO_CONTENT, documented, errors, path_param

HOOK = path_param("hook", "The id of the hook. Example: `1`.")
TAG_HOOKS = ["hooks"]
NOT_FOUND = "The path token is not `me`, or no such hook."


class HookSerializer(serializers.Serializer):
    """``hooks.serializers.hook_json``: the reference's fields first, then ours."""

    id = serializers.CharField()
    type = serializers.ChoiceField(choices=["label_hit"])
    callback_url = serializers.CharField()
    query = serializers.CharField()
    camera_name = serializers.CharField(required=False, help_text="Present when the hook names a camera.")
    active = serializers.BooleanField(help_text="Neither paused by its owner nor disabled by the service.")
    paused = serializers.BooleanField()
    disabled_reason = serializers.ChoiceField(
        choices=["gone", "failing"],
        allow_null=True,
        help_text="`gone`: the receiver answered 410; `failing`: every attempt failed for days. "
        "PATCH `active: true` clears it.",
    )
    cooldown_seconds = serializers.IntegerField()
    last_status = serializers.CharField(allow_null=True, help_text="The outcome of the last attempt.")
    failure_streak = serializers.IntegerField()
    date_created = serializers.CharField()
    previous_secret_until = serializers.CharField(
        required=False, help_text="After a rotation: until when the secret it replaced signs too."
    )
    secret = serializers.CharField(
        required=False, help_text="The `whsec_…` signing secret: only in the answers of create and rotate."
    )


class AttemptSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    date = serializers.CharField(allow_null=True)
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class DeliverySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The `webhook-id` header of every attempt of this delivery.")
    event_id = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(
        choices=["pending", "sending", "retrying", "succeeded", "failed", "skipped", "cancelled"]
    )
    date_created = serializers.CharField(allow_null=True)
    date = serializers.CharField(allow_null=True, help_text="The last attempt's start.")
    attempt = serializers.IntegerField(help_text="How many attempts were made.")
    status_code = serializers.IntegerField(allow_null=True, help_text="The receiver's last HTTP status.")
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    next_attempt_date = serializers.CharField(allow_null=True, help_text="While retrying.")
    attempts = AttemptSerializer(many=True)


class CallbackEventSerializer(serializers.Serializer):
    id = serializers.CharField()
    source = serializers.CharField(help_text="The camera's name.")
    earliest_date = serializers.CharField()
    latest_date = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())


class CallbackPayloadSerializer(serializers.Serializer):
    hook_id = serializers.CharField()
    event = CallbackEventSerializer()


HOOK_EXAMPLE = {
    "id": "1",
    "type": "label_hit",
    "callback_url": "https://example.com/camio/package-delivery",
    "query": "front gate people approaching mailbox",
}
CALLBACK = OpenApiCallback(
    "label_hit",
    "{$request.body#/callback_url}",
    extend_schema(
        summary="The callback",
        description="Sent once per matching event, as `POST callback_url` with `Content-Type: application/json`, "
        "signed the Standard Webhooks way: headers `webhook-id` (the same on every retry), `webhook-timestamp` and "
        "`webhook-signature`. Any 2xx is success; see the hook's description for retries.",
        request=CallbackPayloadSerializer,
        responses={200: OpenApiResponse(description="Any 2xx answer is success.")},
    ),
)


class HookListViewSchema(OpenApiViewExtension):
    target_class = "hooks.views.HookListView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="hooks_list",
                summary="List all Hooks",
                parameters=[ME],
                responses={200: HookSerializer(many=True), **errors(401, 404, e403=PRIVATE_403)},
                tags=TAG_HOOKS,
            ),
            post=extend_schema(
                operation_id="hooks_create",
                summary="Create a Hook",
                parameters=[ME],
                responses={
                    200: OpenApiResponse(
                        response=HookSerializer,
                        description="The hook, with its signing `secret` (shown only now).",
                        examples=[OpenApiExample("The reference's hook", value=HOOK_EXAMPLE, response_only=True)],
                    ),
                    **errors(400, 401, 403, 404),
                },
                callbacks=[CALLBACK],
                tags=TAG_HOOKS,
            ),
        )


class HookDetailViewSchema(OpenApiViewExtension):
    target_class = "hooks.views.HookDetailView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="hooks_get",
                summary="Get Specific Hook",
                description="The hook, with its state (active, paused or disabled) and the health of its deliveries.",
                parameters=[ME, HOOK],
                responses={200: HookSerializer, **errors(401, e403=PRIVATE_403, e404=NOT_FOUND)},
                tags=TAG_HOOKS,
            ),
            patch=extend_schema(
                operation_id="hooks_update",
                parameters=[ME, HOOK],
                responses={200: HookSerializer, **errors(400, 401, 403, e404=NOT_FOUND)},
                tags=TAG_HOOKS,
            ),
            delete=extend_schema(
                operation_id="hooks_delete",
                summary="Delete Hook",
                description="Deletes the hook with its deliveries; nothing more is sent to its callback.",
                parameters=[ME, HOOK],
                responses={**NO_CONTENT, **errors(401, 403, e404=NOT_FOUND)},
                tags=TAG_HOOKS,
            ),
        )


class HookSecretRotateViewSchema(OpenApiViewExtension):
    target_class = "hooks.views.HookSecretRotateView"

    def view_replacement(self):
        return documented(
            self.target_class,
            post=extend_schema(
                operation_id="hooks_rotate_secret",
                parameters=[ME, HOOK],
                responses={
                    200: OpenApiResponse(response=HookSerializer, description="The hook with its new `secret`."),
                    **errors(
                        400,
                        401,
                        403,
                        e404=NOT_FOUND,
                        e409="Four old secrets still sign (rotated again within their overlap): wait, or "
                        "rotate with `keep_previous_seconds` 0.",
                    ),
                },
                tags=TAG_HOOKS,
            ),
        )


class DeliveryListViewSchema(OpenApiViewExtension):
    target_class = "hooks.views.DeliveryListView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="hooks_deliveries_list",
                description="The hook's recent deliveries, newest first, each with its attempts.",
                parameters=[
                    ME,
                    HOOK,
                    OpenApiParameter(
                        "limit",
                        OpenApiTypes.INT,
                        OpenApiParameter.QUERY,
                        default=50,
                        description="How many deliveries, 1 to 500; default 50.",
                    ),
                ],
                responses={
                    200: DeliverySerializer(many=True),
                    **errors(400, 401, e403=PRIVATE_403, e404=NOT_FOUND),
                },
                tags=TAG_HOOKS,
            ),
        )


class RedeliverViewSchema(OpenApiViewExtension):
    target_class = "hooks.views.RedeliverView"

    def view_replacement(self):
        return documented(
            self.target_class,
            post=extend_schema(
                operation_id="hooks_delivery_redeliver",
                description="Sends the delivery again now, with the same `webhook-id` and a fresh signature.",
                parameters=[ME, HOOK, path_param("delivery", "The delivery's id (its `webhook-id`).")],
                request=None,
                responses={
                    202: OpenApiResponse(response=DeliverySerializer, description="Accepted: the delivery is queued."),
                    **errors(
                        401,
                        403,
                        e404="The path token is not `me`, or no such hook or delivery.",
                        e409="The hook is paused or disabled, or the delivery is being sent right now.",
                    ),
                },
                tags=TAG_HOOKS,
            ),
        )
