"""Content negotiation for every API view."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class QuickContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with its answer for the Accept headers nearly every call sends (none,
    ``*/*``, or the first renderer's own type, ``application/json``) given without parsing them.

    DRF parses and ranks the header on every call: 0.08 ms of CPU, about a sixth of an API call's
    own work on the development VM. Anything else (other types, parameters such as ``indent``,
    ``?format=``) goes through DRF as before, 406 included.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        override = self.settings.URL_FORMAT_OVERRIDE
        if renderers and not format_suffix and (not override or override not in request.query_params):
            accept = request.META.get("HTTP_ACCEPT", "*/*").strip()
            first = renderers[0]
            if accept == "*/*" or accept == first.media_type:
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
