"""Antre: a real-time, event-sourced queue engine for puskesmas, hospitals and public offices.

The public API is re-exported here; everything else is an implementation detail.
"""

from __future__ import annotations

from .clock import Clock, IdSource, ManualClock, SequentialIds, SystemClock, SystemIds
from .config import ConfigError, load_facility, parse_facility
from .domain.commands import (
    CallNext,
    CallTicket,
    Cancel,
    CheckIn,
    CloseCounter,
    Command,
    Complete,
    IssueTicket,
    MarkMissed,
    OpenCounter,
    PauseCounter,
    Recall,
    Requeue,
    StartService,
    Transfer,
)
from .domain.decide import Decision, decide
from .domain.deltas import Announced, CounterChanged, Delta, QueueChanged, TicketChanged
from .domain.errors import DomainError
from .domain.events import Event
from .domain.evolve import apply
from .domain.ids import CounterId, FacilityId, ServiceCode, TicketId, TicketToken
from .domain.model import Channel, CounterStatus, Facility, Lane, Payer, Policy, Priority, Service
from .domain.state import FacilityState
from .domain.status import TicketStatus
from .log import EventLog, LogConflict, LogError, LogUnavailable, open_log
from .runtime import Result, Runtime, load_state, tune_gc

__version__ = "0.1.0"

__all__ = [
    "Announced",
    "CallNext",
    "CallTicket",
    "Cancel",
    "Channel",
    "CheckIn",
    "Clock",
    "CloseCounter",
    "Command",
    "Complete",
    "ConfigError",
    "CounterChanged",
    "CounterId",
    "CounterStatus",
    "Decision",
    "Delta",
    "DomainError",
    "Event",
    "EventLog",
    "Facility",
    "FacilityId",
    "FacilityState",
    "IdSource",
    "IssueTicket",
    "Lane",
    "LogConflict",
    "LogError",
    "LogUnavailable",
    "ManualClock",
    "MarkMissed",
    "OpenCounter",
    "PauseCounter",
    "Payer",
    "Policy",
    "Priority",
    "QueueChanged",
    "Recall",
    "Requeue",
    "Result",
    "Runtime",
    "SequentialIds",
    "Service",
    "ServiceCode",
    "StartService",
    "SystemClock",
    "SystemIds",
    "TicketChanged",
    "TicketId",
    "TicketStatus",
    "TicketToken",
    "Transfer",
    "apply",
    "decide",
    "load_facility",
    "load_state",
    "open_log",
    "parse_facility",
    "tune_gc",
]
