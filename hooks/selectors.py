"""Hook reads: one owner's hooks and a hook's recent deliveries."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet

from config.api.errors import NotFound
from hooks.models import Delivery, DeliveryAttempt, Hook


def hook_list(*, owner: AbstractBaseUser) -> QuerySet[Hook]:
    return Hook.objects.filter(owner=owner).order_by("id")


def _is_id(value: str) -> bool:
    # ASCII digits only (str.isdigit() also takes superscripts and other scripts' digits), within a bigint.
    return value.isascii() and value.isdigit() and len(value) <= 18


def hook_get(*, owner: AbstractBaseUser, hook_id: str) -> Hook:
    """The owner's hook ``hook_id``; another account's hook is as unknown as a missing one (404)."""
    hook = Hook.objects.filter(owner=owner, pk=int(hook_id)).first() if _is_id(str(hook_id)) else None
    if hook is None:
        raise NotFound(f"No hook {hook_id}")
    return hook


def _deliveries(hook: Hook) -> QuerySet[Delivery]:
    attempts = Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("number"))
    return hook.deliveries.select_related("event").prefetch_related(attempts)


def delivery_list(*, hook: Hook, limit: int = 50) -> list[Delivery]:
    """The hook's most recent deliveries, newest first, each with its attempts (two queries)."""
    return list(_deliveries(hook).order_by("-created_at", "-id")[:limit])


def delivery_get(*, hook: Hook, delivery_id: str) -> Delivery:
    """One delivery of the hook by its message id (``msg_…``), with its attempts."""
    row = _deliveries(hook).filter(webhook_id=delivery_id).first()
    if row is None:
        raise NotFound(f"No delivery {delivery_id}")
    return row
