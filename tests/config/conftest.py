"""Fixtures of the project-wide tests (admin, API conventions, lifecycle)."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def root(db) -> Client:
    """A superuser's browser; a server error is a 500 response, not an exception in the test."""
    from django.contrib.auth import get_user_model

    browser = Client(raise_request_exception=False)
    browser.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-12345"))
    return browser
