from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename, get_user_model
from django.contrib.auth.admin import UserAdmin
from oauth2_provider import admin as oauth_admin  # noqa: F401  (registers the token admins first)
from oauth2_provider.models import (
    get_access_token_admin_class,
    get_access_token_model,
    get_refresh_token_admin_class,
    get_refresh_token_model,
)

from accounts.deletion import account_delete, oauth_models
from accounts.models import AccountSettings, Guest, Notification, default_notifications
from accounts.services import dev_token_create, notifications_merge, notifications_validate, upload_token_rotate
from config.admin import DeletedWithParent, cascade_perms_needed
from config.api.errors import ApiError

User = get_user_model()
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


# Minting a token is acting as the account through the API (its cameras, content, hooks and
# settings): it takes the right to change accounts *and* to create access tokens (see
# ``CamhubUserAdmin.has_generate_dev_token_permission``), never mere view access.
@admin.action(description="Generate a developer API token", permissions=["generate_dev_token"])
def generate_dev_token(modeladmin, request, queryset):
    for user in queryset:
        token = dev_token_create(user=user)
        # Shown once: only the checksum is stored.
        messages.success(request, f"Developer token for {user.get_username()}: {token}")


@admin.action(description="Rotate the Upload Token (old one stops working at once)", permissions=["change"])
def rotate_upload_token(modeladmin, request, queryset):
    for row in queryset.select_related("user"):
        upload_token_rotate(user=row.user)
    messages.success(request, f"Rotated {queryset.count()} upload token(s).")


class AccountSettingsForm(forms.ModelForm):
    """Notification preferences checked as the settings API checks them (a malformed one would
    break the user's settings answer and every notification sent to them)."""

    def clean_notifications(self) -> dict:
        value = self.cleaned_data.get("notifications")
        try:
            changes = notifications_validate(value)
        except ApiError as exc:
            raise forms.ValidationError(exc.message) from None
        return notifications_merge(default_notifications(), changes)


@admin.display(description="upload token")
def upload_token_hint(row: AccountSettings) -> str:
    """Enough to tell tokens apart, not to upload into the account (nor log in to its FTP)."""
    return f"…{row.upload_token[-4:]}" if row.upload_token else "-"


class AccountSettingsInline(admin.StackedInline):
    model = AccountSettings
    form = AccountSettingsForm
    can_delete = False
    readonly_fields = [upload_token_hint, "upload_token_rotated_at"]
    fields = ["recording_enabled", "notifications", upload_token_hint, "upload_token_rotated_at"]


class CamhubUserAdmin(UserAdmin):
    actions = [generate_dev_token]
    inlines = [AccountSettingsInline]

    def has_generate_dev_token_permission(self, request) -> bool:
        """Change on users and add on access tokens: what the action does (a token that acts as
        the account). A view-only staff member has neither."""
        token_opts = AccessToken._meta
        return self.has_change_permission(request) and request.user.has_perm(
            f"{token_opts.app_label}.{get_permission_codename('add', token_opts)}"
        )

    def get_deleted_objects(self, objs, request):
        """The confirmation page lists everything that goes, as usual; but rows that are not
        deleted on their own do not need their admins' delete permission. django-oauth-toolkit's
        token admins refuse a delete to everyone (a lone token should be revoked, not deleted),
        the account's settings and events are never deleted alone (``DeletedWithParent``); that
        would block deleting any account. ``account_delete`` removes all of the account's rows
        together, so the refusals' reasons do not apply. The models' own delete permission is
        still required (a superuser has it)."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed = cascade_perms_needed(self.admin_site, request, perms_needed, also=tuple(oauth_models()))
        return deleted, model_count, perms_needed, protected

    def delete_model(self, request, obj) -> None:
        account_delete(user=obj)

    def delete_queryset(self, request, queryset) -> None:
        for user in queryset:
            account_delete(user=user)


@admin.register(AccountSettings)
class AccountSettingsAdmin(DeletedWithParent, admin.ModelAdmin):
    """Not deletable on its own: that would reset the account's preferences and recording switch
    and hand it a new Upload Token without the rotation's bookkeeping (``upload_token_rotated_at``,
    the devices' poll cache forgotten), so its cameras would be told a dead token. The row goes
    with the account (``account_delete``); the Upload Token is rotated by the action."""

    form = AccountSettingsForm
    list_display = ["user", "recording_enabled", "upload_token_rotated_at", "updated_at"]
    list_filter = ["recording_enabled"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["user", upload_token_hint, "upload_token_rotated_at", "updated_at"]
    fields = ["user", "recording_enabled", "notifications", upload_token_hint, "upload_token_rotated_at", "updated_at"]
    actions = [rotate_upload_token]

    def has_add_permission(self, request):
        return False  # created with the account on first use


@admin.register(Guest)
class GuestAdmin(admin.ModelAdmin):
    list_display = ["host", "guest", "created_at"]
    search_fields = ["host__username", "host__email", "guest__username", "guest__email"]
    raw_id_fields = ["host", "guest"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "title", "created_at", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "user__email", "title"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["user"]
    date_hierarchy = "created_at"


admin.site.unregister(User)
admin.site.register(User, CamhubUserAdmin)


# django-oauth-toolkit's token admins offer "revoke" to anyone who can see the tokens; revoking
# signs a partner out (and a developer token's integration stops), so it takes the change
# permission, as this project's other actions that change data do.
class AccessTokenAdmin(get_access_token_admin_class()):
    @admin.action(description="Revoke selected access tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        return super().revoke_tokens(request, queryset)


class RefreshTokenAdmin(get_refresh_token_admin_class()):
    @admin.action(description="Revoke selected refresh tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        return super().revoke_tokens(request, queryset)


for _model, _admin_class in ((AccessToken, AccessTokenAdmin), (RefreshToken, RefreshTokenAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _admin_class)
