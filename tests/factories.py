"""Test data: small functions that make real rows through the services."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from accounts.services import dev_token_create

_seq = itertools.count(1)


def make_user(username: str | None = None, *, email: str | None = None, password: str = "pw-12345-secret"):
    n = next(_seq)
    username = username or f"user{n}"
    return get_user_model().objects.create_user(
        username=username, email=email if email is not None else f"{username}@example.com", password=password
    )


def make_token(user) -> str:
    return dev_token_create(user=user)
