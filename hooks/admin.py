"""Admin: hooks with their health, deliveries with request, response excerpt, latency, redeliver."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from config.admin_large_tables import constant_choices_filter
from config.api.errors import ApiError
from hooks import services
from hooks.models import DailySummary, Delivery, DeliveryAttempt, Hook, MotionAlert


class HookAdminForm(forms.ModelForm):
    """HookAdmin's form (its model and fields come from the admin: the secrets stay out)."""

    def clean_callback_url(self) -> str:
        # The API's check (hook_create / hook_update): its form, and no loopback, link-local or
        # private literal; where a name points is judged again at each send.
        try:
            return services.callback_url_clean(self.cleaned_data["callback_url"])
        except ApiError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_cooldown_seconds(self) -> int:
        # The API's range (HookInput): a value saved beyond it is read back by the partner, and
        # a PATCH sending it again would be a 400.
        cooldown = self.cleaned_data["cooldown_seconds"]
        if cooldown is not None and not 0 <= cooldown <= services.MAX_COOLDOWN_SECONDS:
            raise forms.ValidationError(f"Ensure this value is between 0 and {services.MAX_COOLDOWN_SECONDS}.")
        return cooldown

    def clean(self) -> dict:
        cleaned = super().clean()
        # The API's check of the query (hook_create / hook_update), which reads it against the
        # owner's cameras and zones: none that search refuses, none that matches every event. As
        # PATCH, an unchanged query is not judged again (editing the URL keeps an older query).
        owner_id = cleaned["owner"].pk if cleaned.get("owner") is not None else self.instance.owner_id
        query = cleaned.get("query")
        if query is not None and owner_id is not None and (self.instance.pk is None or "query" in self.changed_data):
            try:
                cleaned["query"] = services.hook_query_clean(query=query, owner_id=owner_id)
            except ApiError as exc:
                self.add_error("query", exc.message)
        return cleaned


@admin.register(Hook)
class HookAdmin(admin.ModelAdmin):
    form = HookAdminForm
    list_display = (
        "id",
        "owner",
        "query",
        "callback_url",
        "is_active",
        "disabled_reason",
        "last_status",
        "failure_streak",
        "failing_since",
        "last_attempt_at",
    )
    list_filter = ("paused", "disabled_reason")
    search_fields = ("owner__email", "owner__username", "callback_url", "query")
    raw_id_fields = ("owner",)
    # The signing secret is shown once, to the partner: never in admin (rotate it through the API).
    exclude = ("secret", "previous_secret", "earlier_secrets")
    readonly_fields = (
        "previous_secret_until",
        "last_fired_at",
        "last_status",
        "last_attempt_at",
        "failure_streak",
        "failing_since",
        "disabled_at",
        "created_at",
        "updated_at",
    )

    def get_readonly_fields(self, request, obj=None):
        # As a camera's owner: a hook's deliveries (the owner's event ids, times, bodies) go with
        # the hook, so another owner would read them and could redeliver them anywhere.
        return (*self.readonly_fields, "owner") if obj is not None else self.readonly_fields

    def save_model(self, request, obj: Hook, form, change: bool) -> None:
        # As the API's hook_update: a new receiver, or a disabled or paused hook turned back on
        # (the days it was off are no days of failure).
        resumed = change and "disabled_reason" in form.changed_data and not obj.disabled_reason
        unpaused = change and "paused" in form.changed_data and not obj.paused
        repointed = change and "callback_url" in form.changed_data
        if repointed or resumed or unpaused:
            services.hook_failures_forget(hook=obj)
        if resumed:
            obj.disabled_at = None
        super().save_model(request, obj, form, change)
        if repointed:
            services.hook_deliveries_repoint(hook=obj)

    @admin.display(boolean=True, description="active")
    def is_active(self, obj: Hook) -> bool:
        return obj.active


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "started_at",
        "url",
        "status_code",
        "latency_ms",
        "error",
        "request_headers",
        "response_excerpt",
    )
    readonly_fields = fields
    ordering = ("number",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("webhook_id", "hook", "state", "attempt_count", "last_status_code", "last_error", "created_at")
    list_filter = ("state",)
    search_fields = ("webhook_id", "hook__callback_url", "hook__owner__email")
    list_select_related = ("hook",)
    # Which hook and event a delivery is for is its record (made by matching): moving it to
    # another account's hook would show that account this one's event.
    readonly_fields = (
        "hook",
        "event",
        "camera",
        "earliest_date",
        "latest_date",
        "webhook_id",
        "body",
        "state",
        "attempt_count",
        "retry_index",
        "next_attempt_at",
        "lease_until",
        "last_status_code",
        "last_error",
        "created_at",
        "completed_at",
    )
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request) -> bool:
        return False  # deliveries are made by matching an event to a hook

    @admin.action(description="Redeliver the selected deliveries now", permissions=["change"])
    def redeliver(self, request, queryset) -> None:
        sent = 0
        for row in queryset:
            try:
                services.delivery_redeliver(delivery=row)
                sent += 1
            except ApiError as exc:
                self.message_user(request, f"{row.webhook_id}: {exc.message}", messages.WARNING)
        if sent:
            self.message_user(request, f"{sent} deliveries queued again.", messages.SUCCESS)


class MotionAlertMethodFilter(
    constant_choices_filter("method", "method", [(m, m) for m in ("EMAIL", "PUSH", "SENDING")] + [("none", "none")])
):
    """The methods a motion alert records (the table is never pruned: no ``SELECT DISTINCT`` over
    it); "none" is the empty method (alerts off or muted)."""

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(method="")
        return super().queryset(request, queryset)


@admin.register(MotionAlert)
class MotionAlertAdmin(admin.ModelAdmin):
    list_display = ("event", "camera", "earliest_date", "method", "created_at")
    list_filter = (MotionAlertMethodFilter,)
    list_select_related = ("event__camera", "camera")
    raw_id_fields = ("event", "camera")


@admin.register(DailySummary)
class DailySummaryAdmin(admin.ModelAdmin):
    list_display = ("user", "day", "event_count", "method", "created_at")
    raw_id_fields = ("user",)
