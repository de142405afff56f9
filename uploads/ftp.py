"""The FTP gateway: cameras that can only push by FTP log in with their Upload Token.

The user name is the Upload Token (any password: the token is the secret, as in the reference's
``ftpAlarm`` command). Files stored under ``/<camera name>/`` (deeper folders too) enter the same
ingest service as HTTP uploads, with ``parse_timestamp`` on: FTP cameras name files after their
capture time and send no other metadata. Each session writes into its own temporary folder, which
is emptied as files are ingested and removed at disconnect. A transfer is acknowledged only once
the file is stored (451 when it could not be, so the camera sends it again), and a file growing
past the upload limit is cut off with 552.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection
from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.log import logger as ftp_logger
from pyftpdlib.servers import ThreadedFTPServer

from accounts.selectors import account_for_upload_token
from config.api.errors import ApiError
from uploads.ingest import upload_params_parse
from uploads.services import content_ingest

logger = logging.getLogger(__name__)
_USER_COMMAND = re.compile(r"\b(USER) +(\S+)", re.IGNORECASE)


def upload_token_of(username: str) -> str:
    """The Upload Token an FTP user name carries. Surrounding spaces (an installer's paste leaves
    them) are no part of it: login and every upload check the same stripped name."""
    return username.strip()


def token_hint(token: str) -> str:
    """A user name (an Upload Token) as logs may show it: its last 4 characters."""
    return f"…{token[-4:]}" if len(token) > 8 else "…"


# Change folder, list, make folders, store, rename (upload-then-rename cameras), delete their own
# partial files. Never read: an Upload Token grants no access to content.
PERMISSIONS = "elmwfd"
# Names cameras give a file while it is still being written; the rename to the real name ingests.
PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".uploading")


class UploadTokenAuthorizer:
    """pyftpdlib's authorizer interface, backed by the accounts' Upload Tokens."""

    def validate_authentication(self, username: str, password: str, handler) -> None:
        close_old_connections()
        try:
            account = account_for_upload_token(token=upload_token_of(username))
        finally:
            close_old_connections()
        if account is None:
            raise AuthenticationFailed("Unknown Upload Token: log in with it as the user name.")
        handler.owner_id = account.user_id

    def get_home_dir(self, username: str) -> str:
        return _spool_root()  # replaced by a private folder per session in handle_auth_success

    def has_user(self, username: str) -> bool:
        return True

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        return perm in PERMISSIONS

    def get_perms(self, username: str) -> str:
        return PERMISSIONS

    def get_msg_login(self, username: str) -> str:
        return "Welcome: store files under /<camera name>/"

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."

    def impersonate_user(self, username: str, password: str) -> None:
        pass

    def terminate_impersonation(self, username: str) -> None:
        pass


def _spool_root() -> str:
    root = Path(settings.DATA_DIR) / "ftp"
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def max_upload_bytes() -> int:
    """No file may grow past the largest upload of any kind (each kind's own limit applies at ingest)."""
    return max(settings.UPLOAD_MAX_IMAGE_BYTES, settings.UPLOAD_MAX_VIDEO_BYTES)


class UploadDTPHandler(DTPHandler):
    """The data channel: a file growing past ``max_upload_bytes`` is cut off with 552 (and
    removed), not spooled whole to the gateway's disk."""

    def __repr__(self) -> str:  # logged at DEBUG; names the user (the Upload Token)
        return self.cmd_channel._redacted(super().__repr__())

    def handle_read(self):
        super().handle_read()
        if self.receive and not self._closed and self.tot_bytes_received > max_upload_bytes():
            self.transfer_finished = False
            self._resp = (f"552 Exceeded storage allocation: at most {max_upload_bytes()} bytes.", logger.warning)
            self.close()


class UploadFTPHandler(FTPHandler):
    """Replies to a finished upload (STOR's 226, an ingesting rename's 250) only once the file is
    ingested: a 4xx when the store could not keep it (the camera keeps it and sends it again), a
    5xx when it is refused for good. pyftpdlib would acknowledge first and ingest after."""

    authorizer = UploadTokenAuthorizer()
    dtp_handler = UploadDTPHandler
    banner = "camhub FTP gateway ready."
    owner_id: int | None = None
    session_home: str = ""
    _held_reply: str | None = None
    _renaming = False

    # The user name is the account's Upload Token: pyftpdlib writes it into every log line (the
    # prefix, "USER '…' logged in.", the raw "USER …" command at DEBUG). Logs show its last 4
    # characters; whoever reads them cannot upload into the account.
    def _redacted(self, line: str) -> str:
        if self.username:
            line = line.replace(self.username, token_hint(self.username))
        return _USER_COMMAND.sub(lambda m: f"{m.group(1)} {token_hint(m.group(2))}", line)

    def __repr__(self) -> str:  # logged at DEBUG
        return self._redacted(super().__repr__())

    def log(self, msg, logfun=ftp_logger.info):
        logfun(self._redacted(f"{self.log_prefix % self.__dict__} {msg}"))

    def logline(self, msg, logfun=ftp_logger.debug):
        if self._log_debug:
            logfun(self._redacted(f"{self.log_prefix % self.__dict__} {msg}"))

    def logerror(self, msg):
        ftp_logger.error(self._redacted(f"{self.log_prefix % self.__dict__} {msg}"))

    def handle_auth_success(self, home, password, msg_login):
        self.session_home = tempfile.mkdtemp(prefix="session-", dir=_spool_root())
        super().handle_auth_success(self.session_home, password, msg_login)

    def respond(self, resp, logfun=logger.debug):
        receiving = self.data_channel is not None and self.data_channel.receive
        if (resp.startswith("226") and receiving) or (resp.startswith("250") and self._renaming):
            self._held_reply = resp  # sent (or replaced) once the file is ingested
            return
        super().respond(resp, logfun=logfun)

    def _release(self, reply: str | None = None) -> None:
        held, self._held_reply = self._held_reply, None
        if reply or held:
            super().respond(reply or held)

    def on_file_received(self, file: str) -> None:
        if file.lower().endswith(PARTIAL_SUFFIXES):
            self._release()
            return
        self._release(self._ingest(file))

    def on_incomplete_file_received(self, file: str) -> None:
        _remove(file)
        self._release()

    def ftp_RNTO(self, path):
        self._renaming = True
        try:
            renamed = super().ftp_RNTO(path)
        finally:
            self._renaming = False
        if renamed and os.path.isfile(renamed[1]) and not renamed[1].lower().endswith(PARTIAL_SUFFIXES):
            self._release(self._ingest(renamed[1]))
        else:
            self._release()
        return renamed

    def on_disconnect(self) -> None:
        if self.session_home:
            shutil.rmtree(self.session_home, ignore_errors=True)
        connection.close()  # this session's thread is done with the database

    def _ingest(self, file: str) -> str | None:
        """Ingest a received file; the reply that replaces the held one, or None to send it."""
        try:
            relative = Path(file).resolve().relative_to(Path(self.session_home).resolve())
        except ValueError:
            _remove(file)
            return "553 The file is outside your folders."
        if len(relative.parts) < 2:
            logger.warning("FTP upload %s is not under a camera folder; dropped", relative)
            _remove(file)
            return "553 Store files under /<camera name>/."
        camera_name, name = relative.parts[0], relative.name
        close_old_connections()
        try:
            # The token again, not the session's login: an Upload Token rotated (or an account
            # deactivated) since then stops this session's uploads at once, as it does HTTP's.
            account = account_for_upload_token(token=upload_token_of(self.username))
            if account is None or account.user_id != self.owner_id:
                _remove(file)
                return "530 Not logged in: the Upload Token is no longer valid."
            owner = account.user
            params = upload_params_parse(
                {"options": "parse_timestamp"},
                camera_name=camera_name,
                name=name,
                content_type=None,
                camera_id_required=False,
            )
            with open(file, "rb") as stream:
                result = content_ingest(
                    owner=owner, params=params, stream=stream, declared_length=os.path.getsize(file)
                )
            logger.info(
                "FTP upload %s/%s: %s",
                camera_name,
                name,
                "kept" if result.kept else result.reason,
            )
        except ApiError as exc:
            logger.warning("FTP upload %s/%s refused (%s): %s", camera_name, name, exc.status_code, exc.message)
            if exc.status_code >= 500:  # the store or database is down: the camera sends it again
                return f"451 Not stored, try again: {exc.message}"
            if exc.status_code == 413:
                return f"552 {exc.message}"
            return f"550 Refused: {exc.message}"
        except Exception:
            logger.exception("FTP upload %s/%s failed", camera_name, name)
            return "451 Not stored, try again: local error in processing"
        finally:
            _remove(file)
            close_old_connections()
        return None


def _remove(file: str) -> None:
    try:
        os.unlink(file)
    except FileNotFoundError:
        pass


def passive_port_range(spec: str) -> list[int] | None:
    """``30000-30009`` → that range; "" → any port the system gives."""
    spec = spec.strip()
    if not spec:
        return None
    low, _, high = spec.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise ValueError(f"FTP passive ports must look like 30000-30009, not {spec!r}") from None
    if not 0 < first <= last < 65536:
        raise ValueError(f"FTP passive ports must look like 30000-30009, not {spec!r}")
    return list(range(first, last + 1))


def ftp_server(*, host: str, port: int, passive: str = "", masquerade: str = "") -> ThreadedFTPServer:
    """The gateway, bound and ready for ``serve_forever()`` (one thread per FTP session).
    ``masquerade``: the IPv4 address passive-mode replies name instead of the gateway's own."""

    class Handler(UploadFTPHandler):
        passive_ports = passive_port_range(passive)
        masquerade_address = masquerade or None

    return ThreadedFTPServer((host, port), Handler)
