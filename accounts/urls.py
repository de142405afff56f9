from accounts import oauth, views
from config.api.routing import api_route

urlpatterns = [
    api_route("login/oauth/authorize", oauth.CamioAuthorizationView.as_view(), "oauth-authorize"),
    api_route("login/oauth/access_token", oauth.CamioTokenView.as_view(), "oauth-access-token"),
    api_route("users/<token>/settings", views.SettingsView.as_view(), "settings"),
    api_route("users/<token>/tokens/upload", views.UploadTokenView.as_view(), "upload-token"),
    api_route("users/<token>/tokens/upload/rotate", views.UploadTokenRotateView.as_view(), "upload-token-rotate"),
    api_route("tokens/<upload_token>/hint", views.UploadTokenHintView.as_view(), "upload-token-hint"),
    api_route("users/<token>/guests", views.GuestListView.as_view(), "guest-list"),
    api_route("users/<token>/guests/<email>", views.GuestDetailView.as_view(), "guest-detail"),
    api_route("users/<token>/notifications", views.NotificationListView.as_view(), "notification-list"),
    api_route(
        "users/<token>/notifications/<notification>/read", views.NotificationReadView.as_view(), "notification-read"
    ),
]
