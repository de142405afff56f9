"""The JSON shapes of content in upload answers."""

from __future__ import annotations

from typing import TypedDict
from urllib.parse import quote

from config.api.dates import camio_date
from uploads.models import Content
from uploads.services import IngestResult


class ContentJson(TypedDict):
    id: str
    camera: str
    camera_id: str
    name: str
    content_type: str
    upload_mode: str
    img_type: str
    date_created: str | None  # when it was captured (the name's timestamp, else its arrival)
    date_uploaded: str | None
    size: int
    width: int | None
    height: int | None
    video_length: float | None
    codec: str
    rotation: int
    options: list[str]
    sha256: str
    alternate_of: str | None
    url: str


def content_json(content: Content) -> ContentJson:
    camera = content.camera
    return {
        "id": content.public_id,
        "camera": camera.name,
        "camera_id": camera.camera_id,
        "name": content.name,
        "content_type": content.content_type,
        "upload_mode": content.upload_mode,
        "img_type": content.img_type,
        "date_created": camio_date(content.captured_at),
        "date_uploaded": camio_date(content.created_at),
        "size": content.size,
        "width": content.width,
        "height": content.height,
        "video_length": content.duration,
        "codec": content.codec,
        "rotation": content.rotation,
        "options": list(content.options or []),
        "sha256": content.sha256,
        "alternate_of": content.alternate_of.public_id if content.alternate_of_id else None,
        "url": f"/api/users/me/cameras/{quote(camera.name, safe='')}/content/{content.public_id}",
    }


def upload_answer(result: IngestResult, *, upload_token_camera_id: str | None = None) -> dict:
    """What an upload is answered: whether it was kept and, if it was, the stored item (a repeat too).

    ``upload_token_camera_id``: the upload came with an Upload Token, which "provides no access to
    content" (the reference), and this is the ``camera_id`` it sent. Its holder then learns only what
    the upload itself said and made: not the owner's item it is an alternate of (whose id, for any
    capture time the uploader picks, would map when the cameras recorded), nor the camera's stored
    ``camera_id`` (a MAC address, say) in place of the one sent.
    """
    if result.content is None:
        return {"kept": False, "duplicate": False, "camera": result.camera_name, "message": result.reason}
    answer: dict = {
        "kept": True,
        "duplicate": not result.created,
        "message": "Stored" if result.created else "Already stored: this upload was received before",
    }
    answer.update(content_json(result.content))
    if upload_token_camera_id is not None:
        answer["camera_id"] = upload_token_camera_id
        del answer["alternate_of"]
    return answer
