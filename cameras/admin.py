from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils.html import format_html

from cameras import commands, devices, selectors
from cameras.devices import camera_name_validate
from cameras.models import Camera, CommandTemplate, Device, StatusTransition, Zone
from cameras.polling import devices_polled_at, polled_at
from cameras.services import camera_delete, camera_rename
from cameras.zones import zone_name_validate, zone_polygons_validate
from config.admin import ReadOnlyKeysForm, cascade_perms_needed
from config.api.errors import ApiError


def _badge(online: bool) -> str:
    colour, label = ("#2e7d32", "online") if online else ("#9e9e9e", "offline")
    return format_html(
        '<span style="color:#fff;background:{};padding:1px 6px;border-radius:8px">{}</span>', colour, label
    )


def _api_check(check, value):
    """``check(value)`` (a validator of the API's) as a form field's cleaning: BadRequest becomes
    a form error, so admin saves nothing the API would refuse."""
    try:
        return check(value)
    except ApiError as exc:
        raise forms.ValidationError(exc.message) from None


class ZoneForm(ReadOnlyKeysForm):
    # A zone's camera is read-only once it exists: "one name per camera" is still checked.
    constraint_keys = ("camera",)

    def clean_name(self) -> str:
        return _api_check(zone_name_validate, self.cleaned_data.get("name"))

    def clean_polygons(self) -> list[dict]:
        return _api_check(zone_polygons_validate, self.cleaned_data.get("polygons"))


class CameraForm(ReadOnlyKeysForm):
    # The owner is read-only once the camera exists: its per-owner names and ids are still checked.
    constraint_keys = ("owner",)

    def clean_name(self) -> str:
        return _api_check(camera_name_validate, self.cleaned_data.get("name"))

    # The shapes of the reference's camera (written only here): the API answers them as saved.
    def clean_tags(self) -> list[str]:
        return _strings(self.cleaned_data.get("tags"), "tags")

    def clean_capabilities(self) -> list[str]:
        return _strings(self.cleaned_data.get("capabilities"), "capabilities")

    def clean_attribution(self) -> dict:
        value = self.cleaned_data.get("attribution")
        if not isinstance(value, dict):
            raise forms.ValidationError("attribution must be a JSON object, e.g. {}")
        return value


def _strings(value, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise forms.ValidationError(f'{field} must be a JSON list of strings, e.g. ["audio", "video"]')
    return value


class ZoneInline(admin.TabularInline):
    model = Zone
    form = ZoneForm
    extra = 0
    fields = ["name", "polygons", "updated_at"]
    readonly_fields = ["updated_at"]


class TransitionInline(admin.TabularInline):
    model = StatusTransition
    extra = 0
    can_delete = False
    fields = ["is_online", "at", "last_seen_at", "alert", "alerted_at"]
    readonly_fields = fields
    ordering = ["-at"]
    max_num = 0
    show_change_link = True


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    form = CameraForm
    list_display = ["name", "owner", "online", "last_seen", "resolution", "camera_id", "created_at"]
    list_filter = [("online_state", admin.BooleanFieldListFilter), ("last_seen_at", admin.DateFieldListFilter)]
    search_fields = ["name", "camera_id", "owner__username", "owner__email"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["session_id", "last_seen_at", "last_upload_at", "online_state", "created_at"]
    inlines = [ZoneInline, TransitionInline]

    def get_readonly_fields(self, request, obj=None):
        # An existing camera's content, events and Camios stay its owner's: moving only the
        # camera would show one account's recordings to another.
        return [*self.readonly_fields, "owner"] if obj is not None else self.readonly_fields

    # Deleting goes through the service: stored bytes purged, a claimed device's cache dropped.
    def delete_model(self, request, obj: Camera) -> None:
        camera_delete(camera=obj)

    def delete_queryset(self, request, queryset) -> None:
        for camera in queryset:
            camera_delete(camera=camera)

    def get_deleted_objects(self, objs, request):
        # Rows that are never deleted alone (its events) go with the camera through camera_delete.
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, model_count, cascade_perms_needed(self.admin_site, request, perms_needed), protected

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # The cache's last polls for the whole page at once, not two cache calls per row.
        polled = polled_at(list(changelist.result_list))
        for camera in changelist.result_list:
            camera.admin_polled = polled
        return changelist

    def _polled(self, obj: Camera) -> dict:
        return obj.admin_polled if hasattr(obj, "admin_polled") else polled_at([obj])

    @admin.display(description="online", ordering="online_state")
    def online(self, obj: Camera) -> str:
        # The cache's last poll counts too: the row's sight is written coalesced.
        return _badge(selectors.camera_is_online(obj, polled=self._polled(obj)))

    @admin.display(description="last seen", ordering="last_seen_at")
    def last_seen(self, obj: Camera):
        return selectors.camera_last_seen(obj, polled=self._polled(obj))

    @admin.display(description="resolution")
    def resolution(self, obj: Camera) -> str:
        if obj.resolution_width and obj.resolution_height:
            return f"{obj.resolution_width}x{obj.resolution_height}"
        return "—"

    def save_model(self, request, obj, form, change):
        # A rename goes through the service: the device's next poll, the Camios and hooks that
        # name the camera follow it.
        name = obj.name
        if change and "name" in form.changed_data:
            obj.name = form.initial["name"]
        super().save_model(request, obj, form, change)
        if obj.name != name:
            camera_rename(camera=obj, name=name)


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    form = ZoneForm
    list_display = ["name", "camera", "owner", "updated_at"]
    search_fields = ["name", "camera__name", "camera__owner__username", "camera__owner__email"]
    list_select_related = ["camera__owner"]
    raw_id_fields = ["camera"]

    def get_readonly_fields(self, request, obj=None):
        # As a camera's owner: moving a zone to another camera could hand it (name, polygons) to
        # another account.
        return [*self.readonly_fields, "camera"] if obj is not None else self.readonly_fields

    @admin.display(ordering="camera__owner")
    def owner(self, obj: Zone):
        return obj.camera.owner


class ClaimForm(forms.Form):
    owner = forms.CharField(help_text="Username or email of the account that claims the device")
    name = forms.CharField(max_length=64, help_text="Name of the camera it becomes (created, or linked if it exists)")

    def clean_owner(self):
        value = self.cleaned_data["owner"].strip()
        user = (
            get_user_model()
            .objects.filter(Q(username=value) | Q(email__iexact=value), is_active=True)
            .order_by("pk")
            .first()
        )
        if user is None:
            raise forms.ValidationError("No active account with that username or email")
        return user


@admin.action(description="Claim for an account (names the camera it becomes)", permissions=["change"])
def claim_device(modeladmin, request, queryset):
    if queryset.count() != 1:
        messages.error(request, "Select exactly one device to claim.")
        return None
    device = queryset.get()
    form = ClaimForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        try:
            camera, created = devices.device_claim(
                owner=form.cleaned_data["owner"],
                mac_address=device.mac_address,
                name=form.cleaned_data["name"],
                check_near=False,
            )
        except ApiError as exc:
            messages.error(request, exc.message)
            return None
        verb = "created" if created else "linked"
        messages.success(request, f"{device} claimed: camera {camera.name!r} {verb} for {camera.owner}.")
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Claim device {device}",
        "device": device,
        "form": form,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/cameras/device/claim.html", context)


@admin.action(description="Unclaim (the camera and its content stay)", permissions=["change"])
def unclaim_devices(modeladmin, request, queryset):
    for device in queryset.filter(camera__isnull=False):
        devices.device_unclaim(device=device)
    messages.success(request, "Unclaimed the selected devices.")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "maker", "model", "ip_address", "ip_address_local", "last_seen", "camera", "owner"]
    list_filter = ["maker", ("camera", admin.EmptyFieldListFilter)]
    search_fields = ["mac_address", "maker", "model", "ip_address", "camera__name", "camera__owner__email"]
    list_select_related = ["camera__owner"]
    readonly_fields = [
        "mac_address",
        "maker",
        "model",
        "user_agent",
        "ip_address",
        "ip_address_local",
        "ip_address_changed_at",
        "first_seen_at",
        "last_seen_at",
        "camera",
        "claimed_at",
    ]
    actions = [claim_device, unclaim_devices]

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        polled = devices_polled_at([d.mac_address for d in rows])
        for device in rows:
            device.admin_polled_at = polled.get(device.mac_address)
        return changelist

    @admin.display(description="last seen", ordering="last_seen_at")
    def last_seen(self, obj: Device):
        # The row's sight is written coalesced; the cache holds the latest poll.
        sights = [d for d in (obj.last_seen_at, getattr(obj, "admin_polled_at", None)) if d is not None]
        return max(sights, default=None)

    @admin.display(ordering="camera__owner")
    def owner(self, obj: Device):
        return obj.camera.owner if obj.camera else None

    def has_add_permission(self, request):
        return False  # devices appear by polling

    def delete_model(self, request, obj: Device) -> None:
        devices.devices_delete(devices=Device.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        devices.devices_delete(devices=queryset)


@admin.register(CommandTemplate)
class CommandTemplateAdmin(admin.ModelAdmin):
    list_display = ["maker", "model", "command_id", "method", "audience", "position", "enabled", "updated_at"]
    list_filter = ["maker", "audience", "enabled"]
    list_editable = ["position", "enabled"]
    search_fields = ["maker", "model", "command_id", "path"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["maker", "model", "command_id", "method", "is_auth_required", "regex_response"]}),
        (
            "Command",
            {
                "fields": ["path", "audience", "position", "enabled", "updated_at"],
                "description": "Camera-side placeholders $(hwaddr) and $(localip) are sent verbatim. "
                "Server-side: " + ", ".join(f"{{{n}}}" for n in sorted(commands.SERVER_PLACEHOLDERS)) + "; "
                "{upload_token} and {camera_name} make the command go to claimed devices only.",
            },
        ),
    ]

    # Every change reaches the polling processes through the templates version.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        commands.templates_version_bump()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        commands.templates_version_bump()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        commands.templates_version_bump()


@admin.register(StatusTransition)
class StatusTransitionAdmin(admin.ModelAdmin):
    list_display = ["camera", "owner", "is_online", "at", "last_seen_at", "alert", "alerted_at"]
    list_filter = ["is_online", "alert"]
    search_fields = ["camera__name", "camera__owner__username", "camera__owner__email"]
    list_select_related = ["camera__owner"]
    date_hierarchy = "at"
    readonly_fields = ["camera", "is_online", "at", "last_seen_at", "alert", "alerted_at"]

    @admin.display(ordering="camera__owner")
    def owner(self, obj: StatusTransition):
        return obj.camera.owner

    def has_add_permission(self, request):
        return False  # recorded by the heartbeat sweep
