from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerView

from config.api import fallback, health
from config.api.schema import CachedSchemaView


class DocsView(SpectacularSwaggerView):
    """The browsable docs: a page to GET. (DRF would answer OPTIONS with its metadata through
    this view's HTML renderer, which has no template for it: a 500.)"""

    http_method_names = ["get", "head"]


api_patterns = [
    # First: cameras poll every 30 s, so their route is matched before any other is tried.
    path("", include("cameras.device_urls")),
    path("", include("accounts.urls")),
    path("", include("cameras.urls")),
    path("", include("cameras.zone_urls")),
    path("", include("uploads.urls")),
    path("", include("search.urls")),
    path("", include("search.share_urls")),
    path("", include("hooks.urls")),
    path("schema/", CachedSchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="schema"), name="docs"),
    # Last: any other /api/ path is a JSON 404, whatever DEBUG says.
    re_path(r"^[\s\S]*$", fallback.api_not_found),  # not ".": a path with an encoded newline too
]

urlpatterns = [
    path("api/", include(api_patterns)),
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
