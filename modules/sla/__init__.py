"""SLA alerts and the supervisor's live view (issue #8).

The pure part: the thresholds and what the state measures against them (:mod:`.rules`), the
alerts as a module (:mod:`.module`: ``sla.alert_opened`` / ``sla.alert_cleared``, decided by a
check that carries the time), what supervisors are told (:mod:`.messages`, the outbox's
deriver) and the overview (:mod:`.view`). The web part (:mod:`.site`) judges on changes and on
time, serves ``/supervisor`` and ``/ws/sla``, and sends through the shared outbox. Only the pure
module is imported here: ``[[modules]] use = "sla"`` loads :data:`MODULE`.
"""

from __future__ import annotations

from .module import MODULE, AlertCleared, AlertOpened, Check, SlaModule, SlaState
from .rules import AlertKind, Rules

__all__ = ["MODULE", "AlertCleared", "AlertKind", "AlertOpened", "Check", "Rules", "SlaModule", "SlaState"]
