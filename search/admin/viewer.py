"""Admin for the viewer's API keys: their usage (page loads per day) beside the OAuth application.

The API key of ``/?v=…&key=…`` is an OAuth application's client id, so the application's admin
(django-oauth-toolkit's, extended here) shows the key's usage: today, the last 30 days, last used.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from oauth2_provider import admin as oauth_admin  # noqa: F401  (registers the application admin first)
from oauth2_provider.models import get_application_admin_class, get_application_model

from search.models import ViewerKeyUsage
from search.viewer_usage import viewer_usage_flush_all

USAGE_DAYS = 30
Application = get_application_model()
_BaseApplicationAdmin = get_application_admin_class()


def _usage_annotations(today) -> dict:
    """Per-key usage as correlated subqueries on ``viewer_usage_one_per_key_day`` (no N+1)."""
    rows = ViewerKeyUsage.objects.filter(client_id=OuterRef("client_id")).order_by()
    recent = (
        rows.filter(day__gt=today - timedelta(days=USAGE_DAYS))
        .values("client_id")
        .annotate(total=Sum("count"))
        .values("total")
    )
    return {
        "usage_today": Subquery(rows.filter(day=today).values("count")[:1]),
        "usage_recent": Subquery(recent[:1]),
        "usage_last": Subquery(rows.order_by("-last_used_at").values("last_used_at")[:1]),
    }


class ApiKeyAdmin(_BaseApplicationAdmin):
    """The OAuth application admin, with the viewer usage of its client id (the API key)."""

    list_display = (*_BaseApplicationAdmin.list_display, "requests_today", "requests_30_days", "last_used")
    # ``user`` is nullable: Django's automatic select_related skips it (one query per row).
    list_select_related = ("user",)
    readonly_fields = (*_BaseApplicationAdmin.readonly_fields, "viewer_usage_by_day")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(**_usage_annotations(timezone.now().date()))

    def changelist_view(self, request, extra_context=None):
        # Loads still pending in the cache are written first, so the figures shown are current.
        viewer_usage_flush_all()
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        viewer_usage_flush_all()
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="viewer loads today", ordering="usage_today")
    def requests_today(self, obj) -> int:
        return obj.usage_today or 0

    @admin.display(description=f"viewer loads, {USAGE_DAYS} days", ordering="usage_recent")
    def requests_30_days(self, obj) -> int:
        return obj.usage_recent or 0

    @admin.display(description="viewer last used", ordering="usage_last")
    def last_used(self, obj):
        return obj.usage_last or "never"

    @admin.display(description=f"viewer usage, last {USAGE_DAYS} days (UTC)")
    def viewer_usage_by_day(self, obj):
        if obj is None or not obj.client_id:
            return "-"
        since = timezone.now().date() - timedelta(days=USAGE_DAYS)
        rows = list(
            ViewerKeyUsage.objects.filter(client_id=obj.client_id, day__gt=since)
            .order_by("-day")
            .values_list("day", "count", "last_used_at")
        )
        if not rows:
            return "no viewer loads"
        return format_html(
            "<table><tr><th>day</th><th>loads</th><th>last used</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )


if admin.site.is_registered(Application):
    admin.site.unregister(Application)
admin.site.register(Application, ApiKeyAdmin)


@admin.register(ViewerKeyUsage)
class ViewerKeyUsageAdmin(admin.ModelAdmin):
    """Read-only: rows are written by the viewer's usage flush, never by hand."""

    list_display = ("client_id", "day", "count", "last_used_at")
    list_filter = ("day",)
    search_fields = ("client_id",)
    date_hierarchy = "day"
    ordering = ("-day", "client_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
