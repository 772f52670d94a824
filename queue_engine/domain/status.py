"""The ticket status machine, as one table (h11 ``_state.py`` style).

Rule: everything that decides whether an action is legal for a ticket's status lives in
``TRANSITIONS``. ``decide`` asks :func:`check_transition`; ``evolve`` trusts the events.

    waiting ──call──▶ called ──start──▶ serving ──complete──▶ done
       │                │ ▲ recall        │ complete(next stage) / transfer
       │                ▼ │               ▼
       │              missed ──requeue──▶ waiting (same visit, maybe another service)
       └──cancel──▶ cancelled

Undo (a compensating event, within the policy's window) takes back a counter's last call
(called -> waiting, same place), skip (missed -> called) or completion (done, or waiting at the
next stage -> back at the counter).
"""

from __future__ import annotations

from enum import StrEnum

from .errors import InvalidTransition


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """What staff or the patient may do to a ticket."""

    CHECK_IN = "check_in"
    CALL = "call"
    RECALL = "recall"
    START = "start"
    COMPLETE = "complete"
    ADVANCE = "advance"  # complete and send to the next stage
    MISS = "miss"
    REQUEUE = "requeue"
    CANCEL = "cancel"
    TRANSFER = "transfer"
    UNDO_CALL = "undo_call"  # called -> waiting, same place
    UNDO_MISS = "undo_miss"  # missed -> called again at the same counter
    UNDO_COMPLETE = "undo_complete"  # done (or waiting at the next stage) -> back at the counter


W, C, S, D, M, X = (
    TicketStatus.WAITING,
    TicketStatus.CALLED,
    TicketStatus.SERVING,
    TicketStatus.DONE,
    TicketStatus.MISSED,
    TicketStatus.CANCELLED,
)

#: status -> {action: status after}
TRANSITIONS: dict[TicketStatus, dict[Action, TicketStatus]] = {
    W: {Action.CHECK_IN: W, Action.CALL: C, Action.CANCEL: X, Action.TRANSFER: W, Action.UNDO_COMPLETE: S},
    C: {
        Action.RECALL: C,
        Action.START: S,
        Action.COMPLETE: D,
        Action.ADVANCE: W,
        Action.MISS: M,
        Action.CANCEL: X,
        Action.TRANSFER: W,
        Action.UNDO_CALL: W,
    },
    S: {Action.COMPLETE: D, Action.ADVANCE: W, Action.CANCEL: X, Action.TRANSFER: W},
    M: {Action.CALL: C, Action.REQUEUE: W, Action.CANCEL: X, Action.UNDO_MISS: C},
    D: {Action.UNDO_COMPLETE: S},
    X: {},
}


def check_transition(status: TicketStatus, action: Action) -> TicketStatus:
    """Return the status after ``action``, or raise :class:`InvalidTransition`."""
    try:
        return TRANSITIONS[status][action]
    except KeyError:
        raise InvalidTransition(status=status.value, action=action.value) from None
