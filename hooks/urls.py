from config.api.routing import api_route
from hooks import views

urlpatterns = [
    api_route("users/<token>/hooks", views.HookListView.as_view(), "hook-list"),
    api_route("users/<token>/hooks/<hook>", views.HookDetailView.as_view(), "hook-detail"),
    api_route("users/<token>/hooks/<hook>/secret/rotate", views.HookSecretRotateView.as_view(), "hook-secret-rotate"),
    api_route("users/<token>/hooks/<hook>/deliveries", views.DeliveryListView.as_view(), "hook-delivery-list"),
    api_route(
        "users/<token>/hooks/<hook>/deliveries/<delivery>/redeliver",
        views.RedeliverView.as_view(),
        "hook-delivery-redeliver",
    ),
]
