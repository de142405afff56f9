from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerView

import accounts.urls
import cameras.device_urls
import cameras.urls
import cameras.zone_urls
import hooks.urls
import search.share_urls
import search.urls
import uploads.urls
from config.api import fallback, health
from config.api.routing import SegmentIndexedResolver
from config.api.schema import CachedSchemaView


class DocsView(SpectacularSwaggerView):
    """The browsable docs: a page to GET. (DRF would answer OPTIONS with its metadata through
    this view's HTML renderer, which has no template for it: a 500.)"""

    http_method_names = ["get", "head"]


api_patterns = [
    # The apps' routes, in this order (SegmentIndexedResolver keeps it among the routes it tries).
    *cameras.device_urls.urlpatterns,
    *accounts.urls.urlpatterns,
    *cameras.urls.urlpatterns,
    *cameras.zone_urls.urlpatterns,
    *uploads.urls.urlpatterns,
    *search.urls.urlpatterns,
    *search.share_urls.urlpatterns,
    *hooks.urls.urlpatterns,
    path("schema/", CachedSchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="schema"), name="docs"),
    # Last: any other /api/ path is a JSON 404, whatever DEBUG says.
    re_path(r"^[\s\S]*$", fallback.api_not_found),  # not ".": a path with an encoded newline too
]

urlpatterns = [
    SegmentIndexedResolver("api/", api_patterns),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # The embeddable viewer (`/?v=<view token>`) and download links.
    path("", include("search.viewer_urls")),
]

handler500 = fallback.handler500
handler400 = fallback.handler400
