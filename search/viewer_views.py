"""The embeddable viewer (``/?v=<view token>&key=<api key>``) and the download links of emails.

The viewer is a static page plus a script that calls the public API (search with ``view_tokens``,
``POST /api/content`` with per-item access tokens): no sign-in, no third-party assets. It alone
may be framed by other sites; every other page keeps ``X-Frame-Options: DENY``.

``key`` identifies the partner embedding the page: the client id of an OAuth application issued
in admin (``create_oauth_app``). Page loads are counted per key and day (``search.viewer_usage``:
the cache at once, the database in batches) and shown in the API key's admin.
"""

from __future__ import annotations

import re

from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe
from oauth2_provider.models import get_application_model

from config.api.errors import ApiError, json_error
from search import downloads
from search.selectors import camio_for_view_token
from search.viewer_usage import viewer_usage_record
from uploads.views import stored_bytes_response

# Scripts, styles, images and media from this site only (data: for base64 thumbnails); any site
# may frame the page.
_VIEWER_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors *; base-uri 'none'; form-action 'none'"
)


def _api_key_known(api_key: str) -> bool:
    return get_application_model().objects.filter(client_id=api_key).exists()


# GET and HEAD: monitors and link checkers ask HEAD of both (RFC 9110 9.1).
@require_safe
@xframe_options_exempt
def viewer(request: HttpRequest) -> HttpResponse:
    """The viewer page; problems with ``v`` or ``key`` are a page that says so, with a 4xx status."""
    token = (request.GET.get("v") or "").strip()
    api_key = (request.GET.get("key") or "").strip()
    if not token:
        return _page(request, status=200, problem="", landing=True)
    if not api_key:
        return _page(request, status=400, problem="This viewer link has no API key (the key parameter).")
    if not _api_key_known(api_key):
        return _page(request, status=403, problem="This viewer link's API key is not valid.")
    camio = camio_for_view_token(token)
    if camio is None:
        return _page(request, status=404, problem="This Camio link is invalid, has expired or was revoked.")
    if not downloads.camio_viewable_by(camio=camio, user=None):
        return _page(request, status=403, problem="This Camio is private: its owner shares it only with guests.")
    viewer_usage_record(client_id=api_key)
    return _page(request, status=200, problem="", camio=camio, token=token)


def _page(request, *, status: int, problem: str, landing: bool = False, camio=None, token: str = "") -> HttpResponse:
    context = {"problem": problem, "landing": landing, "camio": camio, "view_token": token}
    response = render(request, "search/viewer.html", context, status=status)
    response["Content-Security-Policy"] = _VIEWER_CSP
    response["Referrer-Policy"] = "no-referrer"  # the page URL carries the view token
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def download_file(request: HttpRequest, signed: str) -> HttpResponse:
    """The link of a download email: the zip, while the link is fresh and the Camio still shared.

    One byte range of it when asked (``Range``), so a broken download of a large zip resumes.
    """
    try:
        download = downloads.download_for_link(signed)
    except ApiError as exc:
        return json_error(exc.status_code, exc.message)
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "-", download.camio.name).strip("-.") or "camio"
    filename = f"{safe_name}-{download.public_id}.zip"
    try:
        default_storage.path(download.storage_key)
    except NotImplementedError:
        # Object storage: hand the client a short-lived presigned URL instead of proxying the zip
        # (S3 answers its ranges itself). A presigned URL is good for the one method it was
        # signed for: a HEAD is sent on to a HEAD's.
        url = default_storage.url(
            download.storage_key,
            parameters={"ResponseContentDisposition": f'attachment; filename="{filename}"'},
            expire=300,
            http_method="HEAD" if request.method == "HEAD" else None,
        )
        return HttpResponseRedirect(url)
    try:
        # A build stores each zip under a key of its own: the key names this version of the bytes.
        response = stored_bytes_response(
            request,
            storage_key=download.storage_key,
            size=default_storage.size(download.storage_key),
            content_type="application/zip",
            etag=f'"{download.storage_key.rsplit("/", 1)[-1]}"',
        )
    except FileNotFoundError:
        return json_error(404, "This download is no longer available")
    if response.status_code in (200, 206):
        response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
