"""Admin for events, their labels and per-item analysis.

An event's page shows its items with their thumbnails and motion boxes drawn over them; the
"re-analyse" actions run the same service as the Celery task (forced), in the request: fine for
the handful of events an admin selects, and it shows the result at once.
"""

from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from config.admin import DeletedWithParent
from config.admin_large_tables import LargeTablePaginator, indexed_search_q
from search.analysis import content_analyze
from search.events import analyses_delete, event_reanalyse
from search.models import Event, EventLabel, ItemAnalysis
from uploads.models import Content

logger = logging.getLogger(__name__)

THUMB_WIDTH, THUMB_HEIGHT = 160, 120


def _thumbnail(content: Content | None, boxes: list[dict] | None = None):
    """A thumbnail the browser loads when it scrolls into view (the content admin's thumbnail
    view), with motion boxes outlined over it. Not inline: a page of 50 events read and resized
    50 stored images before its first byte."""
    if content is None:
        return "-"
    uri = reverse("admin:uploads_content_thumbnail", args=[content.pk]) + f"?w={THUMB_WIDTH}&h={THUMB_HEIGHT}"
    outlines = format_html_join(
        "",
        '<div style="position:absolute;left:{}%;top:{}%;width:{}%;height:{}%;'
        'border:2px solid #f30;box-sizing:border-box"></div>',
        ((b["x"] * 100, b["y"] * 100, b["w"] * 100, b["h"] * 100) for b in boxes or []),
    )
    return format_html(
        '<div style="position:relative;display:inline-block;line-height:0">'
        '<img src="{}" width="{}" loading="lazy" alt="">{}</div>',
        uri,
        THUMB_WIDTH,
        outlines,
    )


def _chips(labels: list[str]):
    return format_html_join(
        " ",
        '<span style="display:inline-block;padding:1px 6px;border-radius:8px;background:#e8eef7;'
        'color:#234;font-size:11px">{}</span>',
        ((label,) for label in labels),
    )


class ItemAnalysisInline(admin.TabularInline):
    model = ItemAnalysis
    fk_name = "event"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("image", "captured", "status", "interest_level", "interest_score", "label_chips", "error")
    readonly_fields = fields
    ordering = ("content__captured_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("content")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="image")
    def image(self, obj: ItemAnalysis):
        return _thumbnail(obj.content, obj.motion_boxes)

    @admin.display(description="captured")
    def captured(self, obj: ItemAnalysis):
        return obj.content.captured_at

    @admin.display(description="labels")
    def label_chips(self, obj: ItemAnalysis):
        return _chips(obj.labels)


@admin.register(Event)
class EventAdmin(DeletedWithParent, admin.ModelAdmin):
    """Not deletable on its own: an event is its items' grouping. Deleting one would leave its
    items analysed (``done``) in no event, so no search, Camio or hook would find them again.
    Events go with their content (``content_delete`` rebuilds them), camera or account; the
    action re-analyses their items."""

    list_display = (
        "cover_thumbnail",
        "camera",
        "owner",
        "earliest_date",
        "latest_date",
        "label_chips",
        "max_interest_level",
        "item_count",
    )
    list_display_links = ("cover_thumbnail", "camera")
    list_filter = ("max_interest_level", "basis", "earliest_date")
    # Sized for millions of rows (config.admin_large_tables): no date hierarchy, newest first by
    # id (an index; the model's order by latest_date has none across accounts), the count
    # estimated, the search box answered by indexes.
    search_fields = ("public_id",)  # (shows the box; get_search_results says what it finds)
    search_help_text = "An event's exact public id, a camera's name, an account's username or email, or a label."
    list_select_related = ("camera", "owner", "cover")
    list_per_page = 50
    ordering = ("-id",)
    paginator = LargeTablePaginator
    show_full_result_count = False
    readonly_fields = (
        "public_id",
        "owner",
        "camera",
        "basis",
        "earliest_date",
        "latest_date",
        "label_chips",
        "max_interest_level",
        "max_interest_score",
        "cover_thumbnail",
        "item_count",
        "descriptor",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = (ItemAnalysisInline,)
    actions = ("reanalyse",)

    def has_add_permission(self, request):
        return False  # events come from analysis only

    def get_search_results(self, request, queryset, search_term):
        q = indexed_search_q(search_term, public_id="public_id", camera="camera_id", owner="owner_id")
        if q is None:
            return queryset, False
        # Or a label, as the events' label rows hold it (their unique (event, label) index).
        labelled = EventLabel.objects.filter(event_id=OuterRef("pk"), label=search_term.strip().lower())
        return queryset.filter(q | Q(Exists(labelled))), False

    @admin.display(description="cover")
    def cover_thumbnail(self, obj: Event):
        return _thumbnail(obj.cover)

    @admin.display(description="labels")
    def label_chips(self, obj: Event):
        return _chips(obj.labels)

    @admin.action(description="Re-analyse the selected events' items", permissions=["change"])
    def reanalyse(self, request, queryset):
        count = 0
        for event in list(queryset):
            count += event_reanalyse(event)
        self.message_user(request, f"Re-analysed {count} items.", messages.SUCCESS)


@admin.register(ItemAnalysis)
class ItemAnalysisAdmin(admin.ModelAdmin):
    list_display = (
        "content",
        "image",
        "status",
        "interest_level",
        "interest_score",
        "label_chips",
        "event",
        "analyzed_at",
    )
    list_filter = ("status", "interest_level")
    search_fields = ("content__public_id",)  # (shows the box; get_search_results says what it finds)
    search_help_text = "An item's exact public id, a camera's name, or an account's username or email."
    list_select_related = ("content", "content__camera", "event__camera")
    paginator = LargeTablePaginator
    show_full_result_count = False
    readonly_fields = (
        "content",
        "image",
        "event",
        "status",
        "interest_score",
        "interest_level",
        "label_chips",
        "motion_boxes",
        "descriptor",
        "error",
        "analyzed_at",
    )
    fields = readonly_fields
    actions = ("reanalyse",)

    def has_add_permission(self, request):
        return False

    def get_search_results(self, request, queryset, search_term):
        q = indexed_search_q(
            search_term, public_id="content__public_id", camera="content__camera_id", owner="content__owner_id"
        )
        return (queryset if q is None else queryset.filter(q)), False

    # Deleting an item's analysis is analysing it again from the start: its event is rebuilt
    # without it at once (item count, labels, cover), and the item is queued for analysis (it is
    # placed in an event again), so search stays consistent and the item is not lost to it.
    def delete_model(self, request, obj: ItemAnalysis) -> None:
        self.delete_queryset(request, ItemAnalysis.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        if count := analyses_delete(analyses=queryset):
            self.message_user(request, f"{count} item(s) queued for analysis again; their events were rebuilt.")

    @admin.display(description="image")
    def image(self, obj: ItemAnalysis):
        return _thumbnail(obj.content, obj.motion_boxes)

    @admin.display(description="labels")
    def label_chips(self, obj: ItemAnalysis):
        return _chips(obj.labels)

    @admin.action(description="Re-analyse the selected items (failed ones too)", permissions=["change"])
    def reanalyse(self, request, queryset):
        failed = 0
        ids = list(queryset.order_by("content__captured_at").values_list("content_id", flat=True))
        for content_id in ids:
            try:
                content_analyze(content_id=content_id, force=True)
            except Exception:  # storage down: say so, keep going with the others
                logger.exception("re-analysis of content %s failed", content_id)
                failed += 1
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(request, f"Re-analysed {len(ids) - failed} items, {failed} failed.", level)
