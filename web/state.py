"""What the lifespan yields: every resource a handler may use (``request.state``)."""

from __future__ import annotations

from typing import TypedDict

from prometheus_client import CollectorRegistry

from queue_engine.domain.model import Facility
from queue_engine.runtime import Runtime

from .auth import Accounts
from .hub import PushHub
from .modules import WebModule
from .settings import Settings


class AppState(TypedDict):
    settings: Settings
    facility: Facility
    accounts: Accounts
    runtime: Runtime
    hub: PushHub
    registry: CollectorRegistry
    #: the enabled modules' web parts
    web_modules: tuple[WebModule, ...]
