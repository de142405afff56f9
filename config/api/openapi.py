"""The OpenAPI description of the API (``/api/schema/``, ``/api/docs/``): the pieces every app shares.

The views stay free of schema annotations: each app's ``openapi.py`` registers drf-spectacular
``OpenApiViewExtension``s that stand an annotated subclass in for a view while the schema is
generated (``documented``), with the path parameters, errors and shapes defined here. Also here:
the token authentication scheme, and the generator hooks (``SPECTACULAR_SETTINGS``) that give
paths the reference's form and add the endpoints that are plain Django views (OAuth, the camera
poll), which drf-spectacular cannot see.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_view
from rest_framework import serializers

# --- authentication ------------------------------------------------------------------------------

TOKEN_HEADER, BEARER_HEADER, TOKEN_QUERY = "tokenAuth", "bearerAuth", "accessTokenQuery"


class OAuthTokenScheme(OpenApiAuthenticationExtension):
    """``config.api.authentication.OAuthTokenAuthentication``: an OAuth access token as
    ``Authorization: token <t>`` (the reference's form), ``Authorization: Bearer <t>``, or on
    GET only ``?access_token=<t>``. Any one of them authenticates (OR)."""

    target_class = "config.api.authentication.OAuthTokenAuthentication"
    name = [TOKEN_HEADER, BEARER_HEADER, TOKEN_QUERY]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "An OAuth access token, as the reference sends it: `Authorization: token <oauth token>` "
                "(in Swagger UI, enter `token ` and then the token).",
            },
            {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <oauth token>`."},
            {
                "type": "apiKey",
                "in": "query",
                "name": "access_token",
                "description": "`?access_token=<oauth token>`, on GET requests only: writes (POST, PUT, PATCH, "
                "DELETE) must send the Authorization header.",
            },
        ]

    def get_security_requirement(self, auto_schema):
        alternatives: list[dict[str, list]] = [{TOKEN_HEADER: []}, {BEARER_HEADER: []}]
        if auto_schema.method in ("GET", "HEAD"):
            alternatives.append({TOKEN_QUERY: []})
        return alternatives


# --- shared shapes -------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every error's body (component ``Error``)."""

    message = serializers.CharField(help_text="What went wrong, in a sentence.")
    errors = serializers.JSONField(
        required=False, help_text="Per-field details, when a JSON body failed validation (keyed by field name)."
    )


ERROR_TEXT = {
    400: "Bad Request: a parameter or the body is invalid; `message` names it.",
    401: "Unauthorized: no OAuth token, or an invalid, expired or revoked one.",
    403: "Forbidden: the caller may not do this (e.g. `user=` names an account the caller is not a guest of; "
    "guests only read).",
    404: "Not Found: the path token is not `me`, or the named item does not exist or is not the caller's.",
    409: "Conflict: the item's current state does not allow this.",
    413: "Payload Too Large.",
    415: "Unsupported Media Type.",
    416: "Range Not Satisfiable (the `Content-Range` header gives the size).",
    429: "Too Many Requests: the rate limit was reached; `Retry-After` says when to try again.",
    503: "Service Unavailable: storage or another service is unreachable right now; retry later.",
}


def errors(*codes: int, **notes: str) -> dict[int, OpenApiResponse]:
    """Error responses for ``codes`` (``{"message": …}`` bodies); ``notes`` (``e404="…"``) replace
    the standard description of a code for this operation. 429 is added: every API view is throttled."""
    described = {int(key.removeprefix("e")): text for key, text in notes.items()}
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=described.get(code, ERROR_TEXT[code]))
        for code in sorted({*codes, *described, 429})
    }


NO_CONTENT = {204: OpenApiResponse(description="No Content.")}

ME = OpenApiParameter(
    "token",
    str,
    OpenApiParameter.PATH,
    enum=["me"],
    description="The token `me` for the current user (the owner of the OAuth token).",
)
HOST_USER = OpenApiParameter(
    "user",
    OpenApiTypes.EMAIL,
    OpenApiParameter.QUERY,
    description="The email address of the host account to read, for a guest of that account. Omit it (or give "
    "your own) for your own data.",
)
OWN_USER = OpenApiParameter(
    "user",
    OpenApiTypes.EMAIL,
    OpenApiParameter.QUERY,
    description="Only your own email address is accepted here: guests of an account can read it, not change "
    "it (another account's address is a 403).",
)


def path_param(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, description=description)


def bool_query(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        OpenApiTypes.BOOL,
        OpenApiParameter.QUERY,
        description=f"{description} `true` or `false` (also `1`/`0`, `yes`/`no`); default `false`.",
    )


def documented(view: type, **methods: Any) -> type:
    """A subclass of ``view`` carrying ``extend_schema`` annotations per HTTP method (``get=…``), for
    an ``OpenApiViewExtension.view_replacement``: the view itself is never modified."""
    replacement = type(view.__name__, (view,), {"__module__": view.__module__, "__doc__": view.__doc__})
    return extend_schema_view(**methods)(replacement)


# --- generator hooks (SPECTACULAR_SETTINGS) ------------------------------------------------------


def preprocess_endpoints(endpoints: list) -> list:
    """Paths as the reference writes them, without the final slash (``api_route`` accepts both);
    and no GET of ``…/content`` without an id, which only ever answers 404."""
    kept = []
    for path, path_regex, method, callback in endpoints:
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        if method == "GET" and path.endswith("/content") and path.startswith("/api/users/"):
            continue
        kept.append((path, path_regex, method, callback))
    return kept


TAGS = [
    {"name": "oauth", "description": "Obtaining an OAuth token for a user of your application."},
    {"name": "cameras", "description": "The cameras of an account."},
    {"name": "devices", "description": "Camera configuration polling, discovery and claiming."},
    {"name": "zones", "description": "Named polygons of a camera's frame; their names become labels."},
    {"name": "hooks", "description": "Callbacks when events match a query."},
    {"name": "search", "description": "Search content by camera, date, zone, colour, direction and other labels."},
    {"name": "content", "description": "Uploading content and fetching it (with OAuth or per-item access tokens)."},
    {"name": "camios", "description": "Shared views of a portion of your content, and their downloads."},
    {"name": "upload tokens", "description": "Upload Tokens: they permit only the uploading of content."},
    {"name": "settings", "description": "Notification preferences and the recording switch."},
    {"name": "guests", "description": "Accounts you share your cameras and content with, read-only."},
    {"name": "notifications", "description": "PUSH notifications of the account."},
]

_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def _query(name: str, description: str, *, required: bool = False, example: str | None = None) -> dict:
    param: dict[str, Any] = {"in": "query", "name": name, "schema": {"type": "string"}, "description": description}
    if required:
        param["required"] = True
    if example is not None:
        param["example"] = example
    return param


def _plain_view_paths() -> dict[str, dict]:
    """The endpoints served by plain Django views (drf-spectacular documents DRF views only)."""
    token_params = [
        _query("client_id", "The client id you received from Camio.", required=True, example="abcdefg"),
        _query("client_secret", "The client secret you received when you registered.", required=True),
        _query("code", "The code you received as a response to the authorize step.", required=True),
        _query(
            "redirect_uri",
            "The URL in your app where users were sent after authorization (defaults to the one of the grant).",
        ),
        _query("refresh_token", "Instead of `code`: a refresh token, for a new access token."),
        _query("grant_type", "`authorization_code` or `refresh_token`; inferred from what was sent when omitted."),
    ]
    form_fields = {p["name"]: {"type": "string", "description": p["description"]} for p in token_params}
    token_answer = {
        "type": "object",
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "example": "Bearer"},
            "expires_in": {"type": "integer"},
            "refresh_token": {"type": "string"},
            "scope": {"type": "string", "example": "user"},
        },
        "required": ["access_token", "token_type"],
    }
    poll_params = [
        _query("ip_address_local", "The local IP address of the camera.", example="192.168.1.51"),
        _query("maker", "The unique id of the camera maker.", required=True, example="Sharx"),
        _query("model", "The unique model id of the camera.", required=True, example="SCNC3904"),
    ]
    poll_fields = {p["name"]: {"type": "string", "description": p["description"]} for p in poll_params}
    command = {
        "type": "object",
        "properties": {
            "date_updated": {"type": "string", "nullable": True, "example": "2015-09-19T21:43:55.794-0000"},
            "id": {"type": "string", "example": "time"},
            "is_auth_required": {"type": "boolean"},
            "method": {"type": "string", "example": "GET"},
            "path": {"type": "string", "example": "/form/setNtp?ENABLE=1&SERVER=time.nist.gov"},
            "regex_response": {"type": "string", "example": "000 Success"},
        },
    }
    poll_answer = {
        "type": "object",
        "properties": {
            "commands": {"type": "array", "items": command},
            "ip_address": {"type": "string", "description": "The public address the poll came from."},
            "mac_address": {"type": "string", "example": "123456789012"},
            "maker": {"type": "string"},
            "model": {"type": "string"},
            "user_agent": {"type": "string"},
        },
    }

    def poll_operation(method: str) -> dict:
        operation: dict[str, Any] = {
            "operationId": f"camera_poll_{method}",
            "summary": "Get Camera Configuration",
            "description": "Informs the service that a camera is available to be claimed and/or configured, and "
            "answers the configuration commands to apply to its firmware: each `path` is a CGI command to call with "
            "`method`. Cameras poll periodically (e.g. every 30 seconds); each poll is also a heartbeat. Open: cameras "
            "hold no credentials. An `If-None-Match` carrying the answer's `ETag` gets a 304."
            + (
                " A POST or PUT may send the parameters instead as a form or a JSON object (the query string wins)."
                if method != "get"
                else ""
            ),
            "tags": ["devices"],
            "security": [{}],
            "parameters": [
                {
                    "in": "path",
                    "name": "mac_address",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The MAC address of the camera, e.g. `12:34:56:78:90:12` or `123456789012`.",
                },
                *poll_params,
            ],
            "responses": {
                "200": {
                    "description": "The configuration commands.",
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": poll_answer}},
                },
                "304": {"description": "Not Modified: the configuration is the one of the `If-None-Match` ETag."},
                "400": _error("maker or model missing, or a malformed parameter or body."),
                "405": _error("Method not allowed (GET, POST and PUT are)."),
            },
        }
        if method != "get":
            operation["responses"]["413"] = _error("The body is over 4 KB.")
            operation["requestBody"] = {
                "required": False,
                "content": {
                    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": poll_fields}},
                    "application/json": {"schema": {"type": "object", "properties": poll_fields}},
                },
            }
        return operation

    return {
        "/api/login/oauth/authorize": {
            "get": {
                "operationId": "oauth_authorize",
                "summary": "Redirect users to request access",
                "description": "Send the user's browser here. A signed-in user is asked to allow your application; "
                "then the browser is redirected to `redirect_uri` with a temporary `code` and your `state`. "
                "If the states don't match, the request was created by a third party: abort. Exchange the code "
                "with `POST /api/login/oauth/access_token`.",
                "tags": ["oauth"],
                "security": [{}],
                "parameters": [
                    _query("client_id", "The client id you received from Camio.", required=True, example="abc123"),
                    _query(
                        "redirect_uri",
                        "The URL in your app where users will be sent after authorization; it must accept "
                        "`&code=`. Defaults to the application's first registered one.",
                        example="https://www.example.com/camio/oauth",
                    ),
                    _query("scope", "Comma separated list of scopes. Default scope is `user`."),
                    _query("state", "An unguessable random string, against cross-site request forgery."),
                ],
                "responses": {
                    "200": {
                        "description": "The consent page (HTML), for a signed-in user.",
                        "content": {"text/html": {}},
                    },
                    "302": {"description": "To the sign-in page, or back to `redirect_uri` with `code` and `state`."},
                    "400": {"description": "An unknown client or a bad redirect_uri (an error page)."},
                },
            }
        },
        "/api/login/oauth/access_token": {
            "post": {
                "operationId": "oauth_access_token",
                "summary": "Exchange the code for an access token",
                "description": "The parameters may come in the query string, as a form body, or as a JSON object body. "
                "By default the answer is form-encoded (`access_token=…&token_type=bearer`); send "
                "`Accept: application/json` for JSON. Use the token as `Authorization: token <access_token>`.",
                "tags": ["oauth"],
                "security": [{}],
                "parameters": token_params,
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": form_fields}},
                        "application/json": {"schema": {"type": "object", "properties": form_fields}},
                    },
                },
                "responses": {
                    "200": {
                        "description": "The access token.",
                        "content": {
                            "application/x-www-form-urlencoded": {"schema": token_answer},
                            "application/json": {"schema": token_answer},
                        },
                    },
                    "400": {
                        "description": "An invalid, expired or used code, or bad client credentials "
                        "(an OAuth error: `error`, `error_description`).",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "401": {"description": "Client authentication failed (an OAuth error)."},
                },
            }
        },
        "/api/cameras/{mac_address}": {method: poll_operation(method) for method in ("get", "post", "put")},
    }


# Operation ids by (path, method), for a view serving several routes (one extend_schema per method
# would give them all one id): apps add theirs from their openapi module.
OPERATION_IDS: dict[tuple[str, str], str] = {}


def postprocess_schema(result: dict, generator, request, public) -> dict:
    """Per-route operation ids (``OPERATION_IDS``) and path parameters (a view serving several routes
    declares the parameters of all: each route keeps its own), the plain Django views' endpoints and
    the tags' descriptions."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            operation["operationId"] = OPERATION_IDS.get((path, method), operation["operationId"])
            operation["parameters"] = [
                p for p in operation.get("parameters", []) if p["in"] != "path" or f"{{{p['name']}}}" in path
            ]
            if not operation["parameters"]:
                del operation["parameters"]
    result.setdefault("paths", {}).update(_plain_view_paths())
    result["paths"] = dict(sorted(result["paths"].items()))
    result["tags"] = TAGS
    result["info"]["description"] = (
        result["info"].get("description", "") + " Every path also answers with a final slash (`/api/search/`). "
        'Errors are JSON `{"message": "…"}`.'
    ).strip()
    return result
