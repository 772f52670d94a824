"""``create_app(settings, …)``: the Starlette app. Nothing is built at import time.

The lifespan owns the resources: it opens the event log, starts the engine runtime and the push
hub, and yields them as :class:`~web.state.AppState`; on shutdown it closes them in reverse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware

from display_board.routes import routes as board_routes
from queue_engine.clock import Clock, IdSource
from queue_engine.config import facility_file, load_facility
from queue_engine.domain.model import Facility
from queue_engine.log import EventLog, open_log
from queue_engine.runtime import Runtime

from .api import routes as api_routes
from .auth import Accounts
from .errors import EXCEPTION_HANDLERS, MODULE_STATUSES
from .hub import PushHub
from .modules import WebModule, load_web_modules
from .pages import routes as page_routes
from .reports import routes as report_routes
from .settings import Settings
from .state import AppState
from .ws import routes as ws_routes


def create_app(
    settings: Settings,
    *,
    log: EventLog | None = None,
    clock: Clock | None = None,
    ids: IdSource | None = None,
    facility: Facility | None = None,
    accounts: Accounts | None = None,
) -> Starlette:
    """Build the app. ``log``, ``clock``, ``ids``, ``facility`` and ``accounts`` override settings (tests)."""
    the_facility = facility or load_facility(settings.facility_path)
    the_accounts = accounts or Accounts.from_toml(facility_file(settings.facility_path))
    web_modules = load_web_modules(the_facility)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[AppState]:
        event_log = log or open_log(settings.log_url)
        runtime = Runtime(
            the_facility, event_log, clock=clock, ids=ids, tune_gc=settings.tune_gc, follow=settings.follows_log
        )
        await runtime.start()
        hub = PushHub(runtime, settings)
        await hub.start()
        state = AppState(
            settings=settings,
            facility=the_facility,
            accounts=the_accounts,
            runtime=runtime,
            hub=hub,
            registry=CollectorRegistry(),
            web_modules=web_modules,
        )
        started: list[WebModule] = []
        try:
            for part in web_modules:
                await part.start(state)
                started.append(part)
            yield state
        finally:
            for part in reversed(started):
                await part.close()
            await hub.close()
            await runtime.close()
            if log is None:
                await event_log.close()

    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie="antre_session",
            https_only=settings.secure_cookies,
            same_site="strict",
        )
    ]
    module_routes = [route for part in web_modules for route in part.routes()]
    app = Starlette(
        routes=[
            *api_routes(web_modules),
            *ws_routes(),
            *page_routes(),
            *report_routes(),
            *board_routes(),
            *module_routes,
        ],
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    setattr(
        app.state, MODULE_STATUSES, {code: status for part in web_modules for code, status in part.messages().items()}
    )
    return app
