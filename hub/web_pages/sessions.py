"""Sessions of the web pages: an encrypted cookie (aiohttp-session's ``EncryptedCookieStorage``, Fernet from
``cryptography``) under a key derived from the hub's secret; expiry after ``idle_minutes`` unused and
``absolute_hours`` after the sign-in, by the hub's clock; a CSRF token bound to each session.

What the cookie holds: the username, a digest of the account's password hash (a changed password ends every
session of the account), when it signed in and was last seen, and the CSRF token. The account itself (role, site,
window) is read from the database on every request, so a removed account is out at its next click.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp_session import Session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.accounts import Account
from hub.config import WebConfig

COOKIE = "hall_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


def session_key(secret: bytes) -> bytes:
    """The cookies' 32-byte key, derived (HKDF-SHA256) from the hub's secret for this use only."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hall web session cookie v1").derive(secret)


def cookie_storage(secret: bytes, settings: WebConfig) -> EncryptedCookieStorage:
    return EncryptedCookieStorage(
        session_key(secret),
        cookie_name=COOKIE,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=settings.secure_cookies,
        max_age=int(settings.absolute_hours * 3600),
    )


def csrf_token(session: Session) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def csrf_matches(session: Session, given: str | None) -> bool:
    token = session.get(CSRF_FIELD)
    return isinstance(token, str) and given is not None and hmac.compare_digest(token.encode(), given.encode())


def sign_in(session: Session, account: Account, now: datetime) -> None:
    session["user"] = account.username
    session["tag"] = account.password_tag
    session["signed_in"] = now.timestamp()
    session["seen"] = now.timestamp()
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Signed:
    username: str
    password_tag: str
    expired: str | None
    """Why the session ended ("idle", "absolute"), or None while it lasts."""


def signed_in(session: Session, now: datetime, settings: WebConfig) -> Signed | None:
    """Who the session is signed in as, and whether it has expired; None for a session nobody signed into."""
    user, tag, started, seen = (session.get(key) for key in ("user", "tag", "signed_in", "seen"))
    if not (isinstance(user, str) and isinstance(tag, str)):
        return None
    if not (isinstance(started, float | int) and isinstance(seen, float | int)):
        return Signed(user, tag, "absolute")
    at = now.timestamp()
    if at - float(started) > timedelta(hours=settings.absolute_hours).total_seconds():
        return Signed(user, tag, "absolute")
    if at - float(seen) > timedelta(minutes=settings.idle_minutes).total_seconds():
        return Signed(user, tag, "idle")
    session["seen"] = at
    return Signed(user, tag, None)
