"""The hooks API at the reference's paths: ``/api/users/:token/hooks[/:hook]`` and our additions."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from config.api.errors import BadRequest
from config.api.params import query_int
from config.api.views import MeAPIView
from hooks import selectors, services
from hooks.serializers import HookInput, RotateInput, delivery_json, hook_json

QUERY_GRAMMAR = """
**The `query` of a label_hit hook** (the same language as search's `text`):

- Words are terms, case-insensitive; `"double quotes"` group words into one term (multi-word
  camera or zone names; unquoted multi-word names are recognised too).
- A term resolves to one of **your cameras** first, then one of **your zones**, then a **label**.
  Camera terms are alternatives: `front gate people` fires for events from *front or gate*.
  No camera term means any camera. Zones and labels are all required on the event.
- Colour words (`red pink brown orange yellow green cyan blue purple magenta white gray black`,
  `grey` = `gray`) mean the label `_color_<colour>`; `person`, `human` mean `people`.
- `not` excludes the next term: `not street` (a zone or label), `not back` (a camera).
- Filler words (`the`, `a`, `at`, `with`, `near`, `and`, …) are ignored; dates are ignored (a hook
  is a standing condition): `front people yesterday` means `front people`; words shaped like a
  date that is none (`feb 30`, `13pm`) are refused, as search refuses them.

Example: `front gate people approaching mailbox` fires once for an event from camera front or
gate with **important motion** (`imo` or better) labelled people, approaching and mailbox. A hook
fires **once per event**: when later images add labels, it does not fire again, nor when a late
image merges an event it fired for into another; an event with less motion fires when a later
image brings important motion.

**Delivery**: `POST callback_url` with `Content-Type: application/json` and the body
`{"hook_id": "1", "event": {"id", "source", "earliest_date", "latest_date", "labels"}}`, signed the
Standard Webhooks way: headers `webhook-id` (the same on every retry: de-duplicate on it),
`webhook-timestamp` (Unix seconds) and `webhook-signature` = `v1,` + base64(HMAC-SHA256(key,
"{id}.{timestamp}.{body}")), where key is the base64-decoded part of the hook's `whsec_…` secret
(shown once at creation; rotate with `POST …/hooks/:hook/secret/rotate`: for a day after a
rotation the old secret signs too, as a second space-separated `v1,` signature). An attempt gets
15 s in all (5 s to connect); any 2xx is success;
redirects are not followed (a failure); network errors, 5xx and 429 (honouring `Retry-After`) are
retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h; 410 disables the hook; other 4xx are
not retried. A hook whose every attempt failed for 5 days is disabled and its owner emailed.
Callback URLs must be `http` or `https` with a valid host name or IP address, a port from 1 to
65535 if any, and no user name or password, and must reach the public internet (no loopback,
private, link-local or metadata addresses). `cooldown_seconds` (optional): matching events within
that time after a send are recorded as skipped, not sent.
"""

REFERENCE_EXAMPLE = OpenApiExample(
    "The reference's hook",
    value={
        "callback_url": "http://example.com/camio/package-delivery",
        "type": "label_hit",
        "query": "front gate people approaching mailbox",
    },
    request_only=True,
)


def _input(request, *, partial: bool) -> dict:
    if not isinstance(request.data, dict):
        raise BadRequest("The body must be a JSON object")
    data = HookInput(data=request.data, partial=partial)
    data.is_valid(raise_exception=True)
    if partial and not data.validated_data:
        raise BadRequest("Nothing to change: give callback_url, query, camera_name, active or cooldown_seconds")
    return dict(data.validated_data)


class HookListView(MeAPIView):
    """``GET|POST /api/users/me/hooks``: list hooks, create one (the secret is shown only now)."""

    @extend_schema(summary="List all hooks", description=QUERY_GRAMMAR, tags=["hooks"])
    def get(self, request, token: str):
        return Response([hook_json(h) for h in selectors.hook_list(owner=request.user)])

    @extend_schema(
        summary="Create a hook",
        description=QUERY_GRAMMAR,
        request=HookInput,
        examples=[REFERENCE_EXAMPLE],
        tags=["hooks"],
    )
    def post(self, request, token: str):
        data = _input(request, partial=False)
        hook = services.hook_create(owner=request.user, **data)
        return Response(hook_json(hook, secret=hook.secret))


class HookDetailView(MeAPIView):
    """``GET|PATCH|DELETE /api/users/me/hooks/:hook``; PATCH changes, pauses or resumes."""

    @extend_schema(summary="Get a hook", tags=["hooks"])
    def get(self, request, token: str, hook: str):
        return Response(hook_json(selectors.hook_get(owner=request.user, hook_id=hook)))

    @extend_schema(
        summary="Change, pause (active: false) or resume (active: true) a hook",
        description=QUERY_GRAMMAR,
        request=HookInput,
        tags=["hooks"],
    )
    def patch(self, request, token: str, hook: str):
        row = selectors.hook_get(owner=request.user, hook_id=hook)
        return Response(hook_json(services.hook_update(hook=row, data=_input(request, partial=True))))

    @extend_schema(summary="Delete a hook", tags=["hooks"])
    def delete(self, request, token: str, hook: str):
        services.hook_delete(hook=selectors.hook_get(owner=request.user, hook_id=hook))
        return Response(status=204)


class HookSecretRotateView(MeAPIView):
    """``POST /api/users/me/hooks/:hook/secret/rotate``: a new signing secret, shown once."""

    @extend_schema(
        summary="Rotate a hook's signing secret",
        description="The old secret keeps signing alongside the new one (two `v1,` signatures) for "
        "`keep_previous_seconds` (optional body field, 0 to 604800; default 86400), so receivers can "
        "switch over without refusing deliveries. Rotated again meanwhile, every old secret keeps "
        "signing until its own time (one `v1,` signature each; 409 when 4 already do). 0 drops every "
        "old secret at once (a leaked secret).",
        request=RotateInput,
        tags=["hooks"],
    )
    def post(self, request, token: str, hook: str):
        row = selectors.hook_get(owner=request.user, hook_id=hook)
        # No body (DRF: {}) is the default overlap; any other body must be an object: a list or a
        # string around keep_previous_seconds must not quietly keep a leaked secret signing a day.
        if not isinstance(request.data, dict):
            raise BadRequest("The body must be a JSON object")
        data = RotateInput(data=request.data)
        data.is_valid(raise_exception=True)
        keep = data.validated_data.get("keep_previous_seconds", services.SECRET_OVERLAP_SECONDS)
        return Response(hook_json(row, secret=services.hook_rotate_secret(hook=row, keep_previous_seconds=keep)))


class DeliveryListView(MeAPIView):
    """``GET /api/users/me/hooks/:hook/deliveries[?limit=50]``: recent deliveries, newest first."""

    @extend_schema(summary="Recent deliveries of a hook, with their attempts", tags=["hooks"])
    def get(self, request, token: str, hook: str):
        row = selectors.hook_get(owner=request.user, hook_id=hook)
        limit = query_int(request.query_params, "limit", 50, low=1, high=500)
        return Response([delivery_json(d) for d in selectors.delivery_list(hook=row, limit=limit)])


class RedeliverView(MeAPIView):
    """``POST /api/users/me/hooks/:hook/deliveries/:delivery/redeliver``: send again now (202)."""

    @extend_schema(summary="Redeliver (same webhook-id, fresh signature)", tags=["hooks"])
    def post(self, request, token: str, hook: str, delivery: str):
        row = selectors.delivery_get(hook=selectors.hook_get(owner=request.user, hook_id=hook), delivery_id=delivery)
        services.delivery_redeliver(delivery=row)
        return Response(delivery_json(selectors.delivery_get(hook=row.hook, delivery_id=delivery)), status=202)
