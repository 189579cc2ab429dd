"""API-key checking, and masking a key so that an error never repeats it whole."""

from __future__ import annotations

import hmac

from . import error_bodies
from .http import Request, Response


def api_key_of(request: Request) -> str | None:
    """The key a request carries: `Authorization: Bearer …` (OpenAI) or `api-key` (Azure)."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("api-key") or None


def mask_key(key: str) -> str:
    """`sk-ab***…wxyz` style: at most the first 5 and last 4 characters, and only of a long key."""
    if len(key) < 12:
        return "***"
    tail = key[-4:] if len(key) >= 16 else ""
    return f"{key[:5]}{'*' * 8}{tail}"


def check_key(request: Request, required: str | None) -> Response | None:
    """None if the request may proceed, else the 401 to answer."""
    if required is None:
        return None
    key = api_key_of(request)
    if key is None:
        return error_bodies.missing_key()
    if not hmac.compare_digest(key.encode(), required.encode()):
        return error_bodies.invalid_key(mask_key(key))
    return None
