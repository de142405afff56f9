"""Admin for Camios (shared slices, their tokens and expiry) and their downloads."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from config.api.errors import ApiError
from search.camios import camio_name_clean, camio_query_normalize
from search.downloads import zips_drop
from search.models import Camio, Download
from search.selectors import camio_content_queryset, camio_is_active
from search.serializers import CamioQueryInput


class CamioForm(forms.ModelForm):
    """Checks an edited name and query as the API does (printable name; known cameras and events,
    valid dates). The owner is read-only once the Camio exists: its own is used."""

    class Meta:
        model = Camio
        fields = ("owner", "name", "type", "query", "expires_at")

    def clean_name(self) -> str:
        try:
            return camio_name_clean(self.cleaned_data.get("name") or "")
        except ApiError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self):
        data = super().clean()
        owner = data.get("owner") if "owner" in self.fields else self.instance.owner
        query = data.get("query")
        if owner is None:
            return data
        if query is None and "query" not in self.errors:
            # As the API: a Camio shares a query; {} shares everything, explicitly.
            self.add_error("query", 'A Camio needs a query: {} shares everything, {"cameras": ["front"]} one camera')
            return data
        if query is None:
            return data
        parsed = CamioQueryInput(data=query if isinstance(query, dict) else {"query": query})
        if not parsed.is_valid():
            raise forms.ValidationError(f"query: {parsed.errors}")
        try:
            data["query"] = camio_query_normalize(owner=owner, query=parsed.validated_data)
        except ApiError as exc:
            raise forms.ValidationError(f"query: {exc.message}") from None
        return data


class DownloadInline(admin.TabularInline):
    model = Download
    extra = 0
    can_delete = False
    fields = ("public_id", "requester", "status", "items_done", "items_total", "size", "created_at", "finished_at")
    readonly_fields = fields
    show_change_link = True


@admin.register(Camio)
class CamioAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "type", "short_token", "created_at", "expires_at", "is_active")
    list_filter = ("type",)
    search_fields = ("name", "owner__email", "owner__username", "short_token", "=view_token")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = ("view_token", "short_token", "created_at", "items_in_slice")
    fields = (
        "owner",
        "name",
        "type",
        "query",
        "expires_at",
        "view_token",
        "short_token",
        "created_at",
        "items_in_slice",
    )
    form = CamioForm
    inlines = [DownloadInline]
    actions = ["expire_now"]

    def get_readonly_fields(self, request, obj=None):
        # As a camera's owner: the view token and short link an account handed out must keep
        # showing that account's slice, never another's.
        return (*self.readonly_fields, "owner") if obj is not None else self.readonly_fields

    @admin.display(boolean=True, description="active")
    def is_active(self, obj: Camio) -> bool:
        return camio_is_active(obj)

    @admin.display(description="items in the slice")
    def items_in_slice(self, obj: Camio) -> int | str:
        if obj.pk is None:
            return "-"
        return camio_content_queryset(obj).count()

    @admin.action(description="Expire now (revokes the view tokens)", permissions=["change"])
    def expire_now(self, request, queryset) -> None:
        count = queryset.update(expires_at=timezone.now())
        self.message_user(request, f"{count} Camio(s) expired.", messages.SUCCESS)


@admin.register(Download)
class DownloadAdmin(admin.ModelAdmin):
    list_display = ("public_id", "camio", "requester", "status", "items_done", "items_total", "size", "created_at")
    list_filter = ("status",)
    search_fields = ("public_id", "requester__email", "camio__name")
    list_select_related = ("camio", "requester")
    raw_id_fields = ("camio", "requester")
    readonly_fields = (
        "public_id",
        "camio",
        "requester",
        "status",
        "items_total",
        "items_done",
        "storage_key",
        "size",
        "error",
        "created_at",
        "finished_at",
    )

    # Deleting a download removes its zip (a copy of the account's recordings) with it: once the
    # row is gone, nothing would find the file to purge it.
    def delete_model(self, request, obj: Download) -> None:
        self.delete_queryset(request, Download.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        zips_drop(queryset, reason="deleted in admin")
        queryset.delete()
