"""Content reads shared by the API, search and the admin."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connections, router
from django.db.models import Field, Q

from accounts.models import AccountSettings
from cameras.models import Camera
from config.api.errors import NotFound
from config.precompiled import RowConverters, column_converters, row_convert
from uploads.models import Content

# The camera columns an upload reads: what it checks (recording), answers (name, camera_id) and
# what decides whether its sight is due (``cameras.services.camera_record_upload``).
UPLOAD_CAMERA_FIELDS = (
    "id",
    "owner",
    "name",
    "camera_id",
    "recording_enabled",
    "last_seen_at",
    "last_upload_at",
    "resolution_width",
    "resolution_height",
)


@dataclass(frozen=True)
class UploadSender:
    """Who sends an upload: the account owning the Upload Token (``account.user`` loaded) and its
    camera of the path's name, None while that camera does not exist yet."""

    account: AccountSettings
    camera_name: str  # the name the camera was looked up by
    camera: Camera | None


@dataclass(frozen=True)
class _SenderQuery:
    """``SELECT settings.*, user.*, camera.<fields> FROM settings JOIN user LEFT JOIN camera …``,
    written once per database from the models' metadata.

    Every upload runs it, and the ORM spends several times longer building the two queries it
    replaces (Upload Token with its user, then the camera) than the database spends answering
    them. Values still go through each field's database converters, as the ORM's would.
    """

    sql: str
    parts: list[tuple[type, list[str]]]  # (model, attnames) in column order
    converters: RowConverters

    @classmethod
    def build(cls, alias: str) -> _SenderQuery:
        connection = connections[alias]
        quote = connection.ops.quote_name
        user_model = get_user_model()
        account, user, camera = AccountSettings._meta, user_model._meta, Camera._meta
        tables: list[tuple[str, type, list[Field]]] = [
            ("a", AccountSettings, list(account.concrete_fields)),
            ("u", user_model, list(user.concrete_fields)),
            # In the model's order: Model.from_db maps a partial row by it.
            ("c", Camera, [f for f in camera.concrete_fields if f.name in UPLOAD_CAMERA_FIELDS]),
        ]
        select = [f"{table}.{quote(f.column)}" for table, _, fields in tables for f in fields]
        account_user = f"a.{quote(account.get_field('user').column)}"
        # Only quoted identifiers from the models' metadata are interpolated; values are parameters.
        # The upload_token unique index finds the account, the (owner, name) one its camera.
        sql = (
            f"SELECT {', '.join(select)} FROM {quote(account.db_table)} a "  # noqa: S608
            f"INNER JOIN {quote(user.db_table)} u ON u.{quote(user.pk.column)} = {account_user} "
            f"LEFT OUTER JOIN {quote(camera.db_table)} c ON c.{quote(camera.get_field('owner').column)} = "
            f"{account_user} AND c.{quote(camera.get_field('name').column)} = %s "
            f"WHERE a.{quote(account.get_field('upload_token').column)} = %s "
            f"AND u.{quote(user.get_field('is_active').column)} = %s"
        )
        columns = [field for _, _, fields in tables for field in fields]
        converters = column_converters([field.get_col(field.model._meta.db_table) for field in columns], connection)
        parts = [(model, [f.attname for f in fields]) for _, model, fields in tables]
        return cls(sql=sql, parts=parts, converters=converters)

    def fetch(self, alias: str, *, token: str, camera_name: str) -> UploadSender | None:
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [camera_name, token, True])
            row = cursor.fetchone()
        if row is None:
            return None
        values = row_convert(row, self.converters, connection)
        instances = []
        start = 0
        for model, attnames in self.parts:
            chunk = values[start : start + len(attnames)]
            start += len(attnames)
            instances.append(None if chunk[0] is None else model.from_db(alias, attnames, chunk))
        account, user, camera = instances
        account.user = user
        if camera is not None:
            camera.owner = user
        return UploadSender(account=account, camera_name=camera_name, camera=camera)


_sender_queries: dict[tuple[str, str], _SenderQuery] = {}


def upload_sender_get(*, token: str, camera_name: str) -> UploadSender | None:
    """The active account owning the Upload Token ``token`` and its camera ``camera_name``, in one
    query; None for an unknown token (or an inactive user). Only the token's own account's camera
    is ever joined: another account's camera of the same name is never seen."""
    if not token:
        return None
    alias = router.db_for_read(AccountSettings)
    key = (alias, connections[alias].vendor)
    query = _sender_queries.get(key)
    if query is None:
        query = _sender_queries[key] = _SenderQuery.build(alias)
    return query.fetch(alias, token=token, camera_name=camera_name)


def content_get(*, owner: AbstractBaseUser, camera_name: str, public_id: str) -> Content:
    """The owner's content item ``public_id`` of camera ``camera_name``; NotFound otherwise.

    Another account's id answers exactly like an unknown one: ids are never confirmed across users.
    """
    content = (
        Content.objects.select_related("camera")
        .filter(owner=owner, camera__name=camera_name, public_id=public_id)
        .first()
    )
    if content is None:
        raise NotFound("No such content")
    return content


def content_live(*, camera: Camera) -> Content | None:
    """The camera's newest image (heartbeat stills included) or video with a stored poster frame
    (the live image of a camera that uploads only video, ``upload_mode=video``), None before any."""
    # Served by the (camera, -captured_at) index. A video whose poster could not be made at upload
    # (its probe failed) would not make one now either: it is passed over, not served as a 404.
    return (
        Content.objects.filter(camera=camera)
        .filter(Q(kind=Content.Kind.IMAGE) | Q(kind=Content.Kind.VIDEO, poster_key__gt=""))
        .order_by("-captured_at", "-pk")
        .first()
    )


def contents_by_public_id(ids: Iterable[str]) -> dict[str, Content]:
    """Content rows (with their camera) by public id, in one query; unknown ids are absent."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {c.public_id: c for c in Content.objects.select_related("camera").filter(public_id__in=wanted)}
