"""The OAuth endpoints at Camio's paths, on django-oauth-toolkit.

A partner sends only what the reference lists; the rest takes the value the flow implies:
``response_type=code`` on authorize, ``grant_type`` from what was sent, ``redirect_uri`` from the
grant. Scopes may be comma separated. The token request's parameters may come form-encoded (as
the reference's examples send them), in the query string, or as a JSON object body. The token answer
is form-encoded unless the request says ``Accept: application/json``.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import get_application_model, get_grant_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import AuthorizationView, TokenView

from config.api.errors import json_error
from config.api.parsers import MalformedJSON, json_body_loads

_TOKEN_FIELDS = ("access_token", "token_type", "expires_in", "refresh_token", "scope")
# RFC 7636 4.2: 43 to 128 unreserved characters. The grant stores it in 128 characters: a longer
# one failed the consent's save (a 500 on PostgreSQL) and no compliant verifier could match it.
_CODE_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def _normalise_scope(value: str) -> str:
    return " ".join(part for part in value.replace(",", " ").split() if part)


@method_decorator(csrf_exempt, name="dispatch")
class CamioAuthorizationView(AuthorizationView):
    """``GET /api/login/oauth/authorize``: the consent page of a signed-in user.

    CSRF is checked here, once the method is known good: only the consent POST needs it, and
    CsrfViewMiddleware, run before any view, answered a PUT with its HTML 403 page.
    """

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        if request.method not in ("GET", "HEAD", "POST"):
            # Before the sign-in redirect of LoginRequiredMixin: a wrong method is a JSON 405.
            return json_error(405, f'Method "{request.method}" not allowed.', headers={"Allow": "GET, POST"})
        if request.method == "POST":
            return csrf_protect(self._authorize)(request, *args, **kwargs)
        return self._authorize(request, *args, **kwargs)

    def _authorize(self, request: HttpRequest, *args, **kwargs):
        if request.method == "GET":
            params = request.GET.copy()
            params.setdefault("response_type", "code")
            if not params.get("redirect_uri") and params.get("client_id"):
                # The reference makes redirect_uri optional: use the application's first one.
                app = get_application_model().objects.filter(client_id=params["client_id"]).first()
                if app is not None and app.redirect_uris.split():
                    params["redirect_uri"] = app.redirect_uris.split()[0]
            if "scope" in params:
                params["scope"] = _normalise_scope(params["scope"])
                if not params["scope"]:
                    # The reference: "Default scope is user". An empty scope (``scope=``, as forms
                    # and URL builders send) means none was chosen, so the default applies.
                    del params["scope"]
            # oauthlib reads the query string itself, so rewrite it rather than request.GET alone.
            request.META["QUERY_STRING"] = params.urlencode()
            request.GET = QueryDict(request.META["QUERY_STRING"])
        params = request.GET if request.method == "GET" else request.POST
        challenge = params.get("code_challenge")
        if challenge and not _CODE_CHALLENGE.fullmatch(challenge):
            message = "code_challenge must be 43 to 128 letters, digits, '-', '.', '_' or '~'"
            return self._invalid_request(params, message)
        return super().dispatch(request, *args, **kwargs)

    def _invalid_request(self, params: QueryDict, message: str) -> HttpResponse:
        """The error back to the partner's registered redirect URI (with its ``state``), as OAuth
        answers a bad authorization request; a 400 when the client or the URI is not known good."""
        app = get_application_model().objects.filter(client_id=params.get("client_id", "")).first()
        redirect_uri = params.get("redirect_uri", "")
        if app is None or not redirect_uri or not app.redirect_uri_allowed(redirect_uri):
            return json_error(400, message, error="invalid_request")
        error = {"error": "invalid_request", "error_description": message}
        if params.get("state"):
            error["state"] = params["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return OAuth2ResponseRedirect(f"{redirect_uri}{separator}{urlencode(error)}", app.get_allowed_schemes())


def _json_body_params(body: bytes) -> QueryDict:
    """A token request's JSON body (``{"client_id": "…", "code": "…", …}``) as form parameters.

    Many OAuth clients send JSON to the token endpoint. Values must be strings (numbers are taken
    as their text); anything else is a ValueError with the message for the 400.
    """
    try:
        data = json_body_loads(body or b"null")
    except MalformedJSON as exc:
        raise ValueError(f"The body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("The body must be a JSON object of the token request's parameters")
    params = QueryDict(mutable=True)
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"{key} must be a string")
        params[key] = str(value)
    return params


def _wants_json(request: HttpRequest) -> bool:
    """Whether ``Accept`` prefers JSON to the form encoding: media types matched as HTTP does
    (case-insensitive, by q-value, ``q=0`` refused); ``*/*``, none or anything else is the form.

    Parameters (``application/json; charset=utf-8``) are ignored: Django's own matching would
    refuse JSON to such a client, which only says how the JSON should be encoded."""
    for accepted in request.accepted_types:  # most preferred first, q=0 left out
        kind = (accepted.main_type, accepted.sub_type)
        if kind == ("application", "json"):
            return True
        if kind in (("application", "x-www-form-urlencoded"), ("application", "*"), ("*", "*")):
            return False
    return False


class CamioOAuth2Validator(OAuth2Validator):
    """django-oauth-toolkit's checks, and the account must still be active: a code consented to (or
    a refresh token issued) before the account was deactivated is an ``invalid_grant``, not an
    access token that every API call then refuses."""

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        return super().validate_code(client_id, code, client, request, *args, **kwargs) and request.user.is_active

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        return valid and request.user.is_active


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters("client_secret", "code", "refresh_token"), name="dispatch")
class CamioTokenView(TokenView):
    """``POST /api/login/oauth/access_token``: code (or refresh token) for an access token."""

    validator_class = CamioOAuth2Validator

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.content_type == "application/json":
            try:
                params = _json_body_params(request.body)
            except ValueError as exc:
                return json_error(400, str(exc), error="invalid_request")
        else:
            params = request.POST.copy()
        # The reference lists these as URL parameters: accept them from the query string too.
        for key, value in request.GET.items():
            if key != "access_token":
                params.setdefault(key, value)
        if "grant_type" not in params:
            params["grant_type"] = "refresh_token" if "refresh_token" in params else "authorization_code"
        if params["grant_type"] == "authorization_code" and "redirect_uri" not in params and params.get("code"):
            grant = get_grant_model().objects.filter(code=params["code"]).only("redirect_uri").first()
            if grant is not None:
                params["redirect_uri"] = grant.redirect_uri
        if "scope" in params:
            params["scope"] = _normalise_scope(params["scope"])
        request.POST = params
        # oauthlib refuses a token request with a query string; its parameters now travel in the body.
        request.META["QUERY_STRING"] = ""
        request.GET = QueryDict()
        return self._camio_response(request, super().post(request, *args, **kwargs))

    def _camio_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            body = json.loads(response.content or b"{}")
        except ValueError:
            body = {}
        if response.status_code != 200:
            error = body.get("error", "invalid_request")
            message = body.get("error_description") or error.replace("_", " ").capitalize()
            return json_error(response.status_code, message, error=error)
        answer = {key: body[key] for key in _TOKEN_FIELDS if key in body}
        answer["token_type"] = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
        if _wants_json(request):
            out = HttpResponse(json.dumps(answer), content_type="application/json")
        else:
            out = HttpResponse(urlencode(answer), content_type="application/x-www-form-urlencoded")
        out["Cache-Control"] = "no-store"
        out["Pragma"] = "no-cache"
        return out
