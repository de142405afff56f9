"""Content in the admin: thumbnails, playback links, filters by kind, trigger and camera."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from config.admin import ReadOnlyKeysForm
from config.admin_large_tables import LargeTablePaginator, constant_choices_filter, indexed_search_q
from config.api.errors import ApiError
from config.tasks import enqueue_on_commit
from uploads.ingest import EXTENSIONS, NAME_UNSAFE, OPTIONS, ROTATIONS, UPLOAD_MODES
from uploads.models import Content
from uploads.renditions import RenditionError, content_image_bytes
from uploads.services import content_delete
from uploads.views import ranged_response

THUMB_W, THUMB_H = 160, 120
# What analysis reads of an item: a change leaves its analysis and event as they were until the
# item is re-analysed (its analysis's admin, "Re-analyse").
ANALYSED_FIELDS = ("img_type", "upload_mode", "rotation", "options")


class ContentForm(ReadOnlyKeysForm):
    """The fields an operator may edit, checked as the upload endpoint checks them
    (``uploads.ingest.upload_params_parse``): a value it refuses would break the camera's retry of
    the upload and the item's analysis."""

    # Camera and bytes are read-only: "once per camera, name and bytes" is still checked.
    constraint_keys = ("camera", "sha256")

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        if NAME_UNSAFE.search(name):
            raise forms.ValidationError("name must be at most 255 printable characters")
        return name

    def clean_upload_mode(self) -> str:
        value = self.cleaned_data.get("upload_mode")
        if value not in UPLOAD_MODES:
            raise forms.ValidationError(f"upload_mode must be one of {', '.join(UPLOAD_MODES)}")
        return value

    def clean_rotation(self) -> int:
        value = self.cleaned_data.get("rotation")
        if value not in ROTATIONS:
            raise forms.ValidationError(f"rotation must be one of {', '.join(map(str, ROTATIONS))}")
        return value

    def clean_options(self) -> list[str]:
        value = self.cleaned_data.get("options")
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise forms.ValidationError(f'options must be a list such as ["alternate"], of: {", ".join(OPTIONS)}')
        options: list[str] = []
        for item in (item.strip().lower() for item in value):
            if item not in OPTIONS:
                raise forms.ValidationError(f"options may list {', '.join(OPTIONS)}; {item!r} is not one of them")
            if item not in options:
                options.append(item)
        return options


@admin.register(Content)
class ContentAdmin(admin.ModelAdmin):
    form = ContentForm
    list_display = ["thumbnail", "public_id", "camera", "owner", "kind", "img_type", "captured_at", "size"]
    # Sized for millions of rows (config.admin_large_tables): no filter reads the table for its
    # choices, no date hierarchy (two scans per page), newest arrivals first (an index), the
    # count estimated, the search box answered by indexes. The date filter's ranges cost nothing.
    list_filter = [
        "kind",
        "img_type",
        constant_choices_filter("upload_mode", "upload mode", [(mode, mode) for mode in UPLOAD_MODES]),
        constant_choices_filter("content_type", "content type", [(kind, kind) for kind in EXTENSIONS]),
        "captured_at",
    ]
    search_fields = ["public_id"]  # (shows the box; get_search_results says what it finds)
    search_help_text = "An item's exact public id, a camera's name, or an account's username or email."
    list_select_related = ["camera", "owner"]
    ordering = ["-id"]  # arrival order, by the primary key's index
    paginator = LargeTablePaginator
    show_full_result_count = False
    # What the bytes are (type, kind, measures) and whose they are is read-only: a row saying
    # text/html would have the stored bytes served as a page of this site, another owner would
    # show one account's recording to another. So are when it was captured (its event spans it:
    # analysis placed it there) and the item it is an alternate of (set by the ingest within one
    # camera; the link cascades, so pointing it at another account's item would have that item
    # deleted with this camera).
    readonly_fields = [
        "preview",
        "playback",
        "public_id",
        "owner",
        "camera",
        "kind",
        "content_type",
        "captured_at",
        "alternate_of",
        "created_at",
        "width",
        "height",
        "duration",
        "codec",
        "storage_key",
        "poster_key",
        "size",
        "sha256",
        "sha1",
    ]
    fields = [
        "preview",
        "playback",
        "public_id",
        "owner",
        "camera",
        "kind",
        "content_type",
        "name",
        "captured_at",
        "created_at",
        "img_type",
        "upload_mode",
        "rotation",
        "options",
        ("width", "height"),
        ("duration", "codec"),
        "alternate_of",
        "storage_key",
        "poster_key",
        "size",
        "sha256",
        "sha1",
    ]

    actions = ["queue_analysis"]

    def has_add_permission(self, request) -> bool:
        return False  # content arrives by upload only

    def get_search_results(self, request, queryset, search_term):
        q = indexed_search_q(search_term, public_id="public_id", camera="camera_id", owner="owner_id")
        return (queryset if q is None else queryset.filter(q)), False

    def save_model(self, request, obj: Content, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        analysed = [name for name in ANALYSED_FIELDS if name in form.changed_data]
        if change and analysed:
            self.message_user(
                request,
                f'Changed {", ".join(analysed)}: re-analyse the item (Item analyses, "Re-analyse") '
                "so that its analysis and event follow.",
                messages.WARNING,
            )

    # Deleting (the change page's button and the "delete selected" action) goes through the
    # service: stored bytes removed, the items' events rebuilt or removed.
    def delete_model(self, request, obj: Content) -> None:
        content_delete(contents=Content.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        content_delete(contents=queryset)

    @admin.action(description="Queue analysis of the selected items (those never analysed)", permissions=["change"])
    def queue_analysis(self, request, queryset):
        # Items whose analysis message was lost more than a day ago are past the automatic sweep
        # (search.requeue_unanalysed); analysed ones are re-analysed from their analysis's admin.
        ids = list(queryset.filter(analysis__isnull=True).order_by("captured_at").values_list("pk", flat=True))
        for pk in ids:
            enqueue_on_commit("search.analyze_content", pk)
        skipped = queryset.count() - len(ids)
        note = f"; {skipped} already analysed, left alone" if skipped else ""
        self.message_user(request, f"Queued the analysis of {len(ids)} items{note}.", messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/thumbnail/", view(self.thumbnail_view), name="uploads_content_thumbnail"),
            path("<int:pk>/media/", view(self.media_view), name="uploads_content_media"),
            *super().get_urls(),
        ]

    @admin.display(description="")
    def thumbnail(self, obj: Content) -> str:
        url = reverse("admin:uploads_content_thumbnail", args=[obj.pk])
        return format_html('<img src="{}" width="80" loading="lazy" alt="">', url)

    @admin.display(description="image")
    def preview(self, obj: Content) -> str:
        url = reverse("admin:uploads_content_thumbnail", args=[obj.pk])
        return format_html('<img src="{}?w=640&h=480" style="max-width:640px" alt="">', url)

    @admin.display(description="media")
    def playback(self, obj: Content) -> str:
        url = reverse("admin:uploads_content_media", args=[obj.pk])
        if obj.kind == Content.Kind.VIDEO:
            return format_html('<video src="{}" controls preload="metadata" style="max-width:640px"></video>', url)
        return format_html('<a href="{}" target="_blank">open the original ({})</a>', url, obj.content_type)

    def _content(self, request, pk: int) -> Content:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(Content.objects.select_related("camera"), pk=pk)

    def thumbnail_view(self, request, pk: int):
        content = self._content(request, pk)
        w = _bounded(request.GET.get("w"), THUMB_W)
        h = _bounded(request.GET.get("h"), THUMB_H)
        try:
            data = content_image_bytes(content, w=w, h=h, quality=80)
        except RenditionError as exc:
            raise Http404("no image for this content") from exc
        response = HttpResponse(data, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response

    def media_view(self, request, pk: int):
        try:
            return ranged_response(request, self._content(request, pk))
        except ApiError as exc:  # the bytes are gone, or the store is down: say so, not a 500
            return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain; charset=utf-8")


def _bounded(raw: str | None, default: int) -> int:
    try:
        return min(max(int(raw or default), 16), 1280)
    except ValueError:
        return default
