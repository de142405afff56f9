from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from accounts.services import dev_token_create

User = get_user_model()


@admin.action(description="Generate a developer API token")
def generate_dev_token(modeladmin, request, queryset):
    for user in queryset:
        token = dev_token_create(user=user)
        # Shown once: only the checksum is stored.
        messages.success(request, f"Developer token for {user.get_username()}: {token}")


class CamhubUserAdmin(UserAdmin):
    actions = [generate_dev_token]


admin.site.unregister(User)
admin.site.register(User, CamhubUserAdmin)
