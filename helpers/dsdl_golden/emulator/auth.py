"""splunkd authentication: login sessions, auth tokens, Basic credentials and session cookies."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from enum import Enum

from dsdl_golden.emulator.config import Settings
from dsdl_golden.emulator.http import Request

__all__ = ["DEFAULT_USER", "AuthFailure", "Sessions"]

#: The user that requests authenticated with a registered auth token (JWT) run as.
DEFAULT_USER = "admin"


class AuthFailure(Enum):
    """Why a request is not authenticated: a bad session/token, or bad Basic credentials."""

    SESSION = "session"
    BASIC = "basic"


class Sessions:
    """Session keys issued by ``auth/login``, checked together with auth tokens and users."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def login(self, username: str, password: str) -> str | None:
        """A new session key for valid credentials, else ``None``."""
        if self.settings.users.get(username) != password:
            return None
        key = secrets.token_hex(16)
        with self._lock:
            self._keys[key] = username
        return key

    def clear(self) -> None:
        """Log every session out."""
        with self._lock:
            self._keys.clear()

    def _user_of(self, credential: str) -> str | None:
        with self._lock:
            user = self._keys.get(credential)
        if user is None and credential in self.settings.auth_tokens:
            return DEFAULT_USER
        return user

    def authenticate(self, request: Request) -> str | AuthFailure:
        """The user a request runs as, or why it is refused.

        Accepted: ``Splunk <session key | token>``, ``Bearer <session key | token>``,
        ``Basic base64(user:password)`` and a ``splunkd_<port>`` cookie holding a session key.
        ``Splunk Bearer <jwt>`` (what splunklib sends for ``token="Bearer ..."``) is refused.
        """
        header = request.header("Authorization")
        if header is None:
            return self._cookie_user(request.header("Cookie") or "") or AuthFailure.SESSION
        scheme, _, credential = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme in ("splunk", "bearer"):
            return self._user_of(credential.strip()) or AuthFailure.SESSION
        if scheme == "basic":
            try:
                username, _, password = base64.b64decode(credential, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return AuthFailure.BASIC
            if username and self.settings.users.get(username) == password:
                return username
            return AuthFailure.BASIC
        return AuthFailure.SESSION

    def _cookie_user(self, cookie_header: str) -> str | None:
        for item in cookie_header.split(";"):
            name, _, value = item.strip().partition("=")
            if name.startswith("splunkd_"):
                with self._lock:
                    user = self._keys.get(value.strip().strip('"'))
                if user is not None:
                    return user
        return None
