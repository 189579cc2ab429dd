"""One redaction for everything printed or stored that came from a server or the configuration.

A proxy or compatible server may echo the caller's key in an error message
(OpenAI masks it; others do not), and a project's headers may carry a token.
`redact` removes the project's own secrets wherever they appear, and anything
shaped like an API key, a bearer token or a JWT, so that neither the state
file, the outputs, the dashboard nor the terminal ever holds one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass, replace
from typing import TypeVar

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8
"""Shorter values are not treated as secrets: redacting `abc` everywhere would garble every text."""

_SHAPES = re.compile(
    r"(?i:\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"  # an Authorization header's value, whatever the token
    r"|\b(?:sk|rk|pk)-[A-Za-z0-9_-]{16,}"  # OpenAI-style keys: sk-..., sk-proj-..., sk-svcacct-...
    r"|\b(?:sk-ant|xai|gsk)-[A-Za-z0-9_-]{16,}"  # other providers' keys of the same shape
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # a JWT (Azure AD tokens are these)
)
_SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|signature|password", re.IGNORECASE)
_TEXT_FIELDS = ("message", "error", "reason")
"""The fields of an engine event that may hold a server's words (never the answers themselves)."""

T = TypeVar("T")


def secret_headers(headers: Mapping[str, str]) -> list[str]:
    """The values of headers whose names say they carry a credential."""
    return [value for name, value in headers.items() if _SECRET_HEADER.search(name)]


class Redactor:
    """Removes a fixed set of secrets, and key-shaped text, from strings and nested JSON values."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        known = {secret.strip() for secret in secrets if secret and len(secret.strip()) >= MIN_SECRET_LENGTH}
        self._secrets = sorted(known, key=len, reverse=True)  # a longer secret may contain a shorter one

    def __call__(self, value: T) -> T:
        return redact(value, self._secrets)

    def event(self, event: T) -> T:
        """An engine event with its message, error and reason fields redacted (other fields as they are)."""
        names = _text_fields(type(event))  # type: ignore[arg-type]  # classes are hashable
        if not names:
            return event
        changes = {name: redact(getattr(event, name), self._secrets) for name in names}
        changed = {name: value for name, value in changes.items() if value is not getattr(event, name)}
        return replace(event, **changed) if changed else event  # type: ignore[type-var]


@functools.cache
def _text_fields(kind: type) -> tuple[str, ...]:
    if not is_dataclass(kind):
        return ()
    return tuple(field.name for field in fields(kind) if field.name in _TEXT_FIELDS)


def redact(value: T, secrets: Iterable[str] = ()) -> T:
    """`value` with every secret in `secrets`, and anything shaped like a key or token, replaced by [redacted].

    Strings, and strings inside dicts and lists (keys too), are redacted; other values pass unchanged.
    An unchanged value is returned as the same object.
    """
    secrets = list(secrets)
    if isinstance(value, str):
        return _text(value, secrets)  # type: ignore[return-value]
    if isinstance(value, dict):
        pairs = [(redact(k, secrets), redact(v, secrets)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items())):
            return value
        return dict(pairs)  # type: ignore[return-value]
    if isinstance(value, list):
        items = [redact(item, secrets) for item in value]
        return value if all(a is b for a, b in zip(items, value)) else items  # type: ignore[return-value]
    return value


def _text(text: str, secrets: list[str]) -> str:
    redacted = text
    for secret in secrets:
        if secret in redacted:
            redacted = redacted.replace(secret, REDACTED)
    redacted = _SHAPES.sub(REDACTED, redacted)
    return text if redacted == text else redacted
