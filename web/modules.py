"""Modules' web parts: how a secondary module adds routes, pages, API endpoints and live views.

A module's pure domain (``queue_engine.domain.modules.Module``) may name its web part with a
``web = "package.module:Factory"`` attribute (a string, so the domain never imports the web
layer). The app imports it and calls ``Factory(module)`` once per app; the result is a
:class:`WebModule`:

* :meth:`~WebModule.endpoints`: API rows (:class:`~web.api.common.Endpoint`), routed and listed
  in the OpenAPI document like the core's; :meth:`~WebModule.schemas` names their answers;
* :meth:`~WebModule.routes`: pages, static files, WebSockets (``web.ws.serve`` with a resolver
  that returns a ``module:<name>/<ident>`` topic);
* :meth:`~WebModule.messages`: its error codes -> HTTP status (its ``DomainError`` subclasses
  carry their own Indonesian and English texts);
* :meth:`~WebModule.start` / :meth:`~WebModule.close`: run with the app's lifespan, after the
  engine and the hub started: register a :class:`~web.hub.TopicSource` (``hub.add_source``),
  subscribe listeners to the runtime (``runtime.subscribe``);
* :meth:`~WebModule.check_in_paths`: URL paths whose QR codes the kiosk's check-in sends to one
  of its endpoints (``{code}`` stands for the last path segment).

It issues tickets only through the engine's public commands, submitted like any client's.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from starlette.routing import BaseRoute

from queue_engine.domain.model import Facility

if TYPE_CHECKING:
    from .api.common import Endpoint
    from .state import AppState


class WebModule(Protocol):
    @property
    def name(self) -> str: ...

    def endpoints(self) -> list[Endpoint]: ...

    def schemas(self) -> dict[str, Any]: ...

    def routes(self) -> list[BaseRoute]: ...

    def messages(self) -> dict[str, int]: ...

    def check_in_paths(self) -> list[tuple[str, str]]: ...

    async def start(self, state: AppState) -> None: ...

    async def close(self) -> None: ...


class WebPart:
    """Defaults for a web part: nothing of each kind. Subclass it and override what the module has."""

    name = ""

    def endpoints(self) -> list[Endpoint]:
        return []

    def schemas(self) -> dict[str, Any]:
        return {}

    def routes(self) -> list[BaseRoute]:
        return []

    def messages(self) -> dict[str, int]:
        return {}

    def check_in_paths(self) -> list[tuple[str, str]]:
        return []

    async def start(self, state: AppState) -> None:
        return None

    async def close(self) -> None:
        return None


def load_web_modules(facility: Facility) -> tuple[WebModule, ...]:
    """The web part of each enabled module that has one.

    Raises:
        ValueError: a ``web`` attribute that cannot be imported.
    """
    parts: list[WebModule] = []
    for module in facility.modules:
        spec = getattr(module, "web", None)
        if not spec:
            continue
        path, _, attribute = str(spec).partition(":")
        try:
            factory = getattr(importlib.import_module(path), attribute)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"module {module.name}: web part {spec!r} cannot be loaded: {exc}") from None
        parts.append(factory(module))
    return tuple(parts)
