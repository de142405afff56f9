from accounts import oauth
from config.api.routing import api_route

urlpatterns = [
    api_route("login/oauth/authorize", oauth.CamioAuthorizationView.as_view(), "oauth-authorize"),
    api_route("login/oauth/access_token", oauth.CamioTokenView.as_view(), "oauth-access-token"),
]
