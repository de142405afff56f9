"""What logs may say of a request: its path without the bearer secrets some routes carry."""

from __future__ import annotations

import logging

# URL arguments that are bearer secrets when they are not ``me``: an Upload Token
# (``users/<token>/…``, ``tokens/<upload_token>/hint``), a Camio's view token
# (``camios/<token>/…``) or short token (``users/me/camios/<camio>``), a download link's signature.
_SECRET_URL_ARGUMENTS = ("token", "upload_token", "camio", "signed")


def loggable_path(request) -> str:
    """The request's path with the segments that carry a bearer secret written ``…``: logs are
    read by more people and systems than may upload into an account or open a shared Camio."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is None or not match.kwargs:
        return path
    secrets = {match.kwargs.get(name) for name in _SECRET_URL_ARGUMENTS} - {None, "", "me"}
    if not secrets:
        return path
    return "/".join("…" if segment in secrets else segment for segment in path.split("/"))


class SecretPathLogFilter(logging.Filter):
    """On Django's own request log (``django.request``: each 500, with its traceback), the path
    with its secrets written ``…``, as in our request line."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if path and isinstance(record.args, tuple) and path in record.args:
            safe = loggable_path(request)
            record.args = tuple(safe if arg == path else arg for arg in record.args)
        return True
