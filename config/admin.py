"""Admin pieces the apps' admins share: constraint checks with read-only keys, rows that are not
deleted on their own but go with their parent.

(No model of this app is registered; Django's autodiscovery imports this module and finds none.)
"""

from __future__ import annotations

from django import forms
from django.apps import apps
from django.contrib.auth import get_permission_codename


class ReadOnlyKeysForm(forms.ModelForm):
    """A model form whose unique constraints are checked with the row's read-only keys too.

    Django leaves a field the form does not hold out of the model's constraint checks. A key that
    the change page shows read-only (a camera's owner, a content item's camera and bytes) would
    therefore skip every constraint naming it, and a duplicate would reach the database: an
    IntegrityError, a 500 page, instead of the form's "already exists". A read-only key holds the
    row's own (unchanged) value, so checking with it is exact. ``constraint_keys`` names them.
    """

    constraint_keys: tuple[str, ...] = ()

    def _get_validation_exclusions(self) -> set[str]:
        exclude = super()._get_validation_exclusions()
        if self.instance.pk is not None:
            exclude -= {name for name in self.constraint_keys if name not in self.fields}
        return exclude


class DeletedWithParent:
    """An admin whose rows are not deleted on their own, only with the row they belong to.

    Deleting one alone would leave what depends on it inconsistent (an event without its items'
    placement, an account's settings without the account); deleting the parent through its
    service (``camera_delete``, ``account_delete``) removes them consistently. Django asks this
    admin's ``has_delete_permission`` for every row a delete cascades to: the parents' admins
    waive it with :func:`cascade_perms_needed`.
    """

    deleted_with_parent = True

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def cascade_perms_needed(admin_site, request, perms_needed: set, *, also: tuple[type, ...] = ()) -> set:
    """``perms_needed`` (from ``ModelAdmin.get_deleted_objects``) without the models whose admins
    refuse deleting rows on their own (:class:`DeletedWithParent`, and the models ``also`` names)
    when the parent's delete goes through a service that removes them together. The models' own
    delete permission is still required (a superuser has it)."""
    models = {
        model
        for model in apps.get_models()
        if admin_site.is_registered(model) and getattr(admin_site.get_model_admin(model), "deleted_with_parent", False)
    }
    models.update(also)
    allowed = {
        str(model._meta.verbose_name)
        for model in models
        if request.user.has_perm(f"{model._meta.app_label}.{get_permission_codename('delete', model._meta)}")
    }
    return {name for name in perms_needed if str(name) not in allowed}
