"""A route table: (method, path template) → handler.

Templates may hold `{name}` parts, each matching one path segment; the values
reach the handler as ``request.params``. Fixed paths are found by a dict
look-up, so the common case costs no regex at all. New features (the Batch
API's files and batches) add their routes with :meth:`Router.add`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .http import Request, Response

Handler = Callable[[Request], Awaitable[Response]]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class _TemplateRoute:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Finds the handler of a request by method and path."""

    def __init__(self) -> None:
        self._fixed: dict[tuple[str, str], Handler] = {}
        self._templates: list[_TemplateRoute] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        """Route `method template` (e.g. `GET /v1/models/{model_id}`) to `handler`; a later add of the same route wins."""
        method = method.upper()
        if not _PARAM.search(template):
            self._fixed[(method, template)] = handler
            return
        regex = _PARAM.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
        route = _TemplateRoute(method, re.compile(f"^{regex}$"), handler)
        self._templates = [r for r in self._templates if (r.method, r.pattern.pattern) != (method, route.pattern.pattern)]
        self._templates.append(route)

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        """The handler and the path parameters, or None if no route fits."""
        path = path.rstrip("/") or "/"
        handler = self._fixed.get((method, path))
        if handler is not None:
            return handler, {}
        for route in self._templates:
            if route.method == method:
                found = route.pattern.match(path)
                if found:
                    return route.handler, found.groupdict()
        return None
