"""Queue reports for a day or a range of days, folded from the event log. Pure: no I/O, no clock.

``day_report`` / ``range_report`` (and the incremental :class:`ReportBuilder`) in :mod:`.fold`, the
figures in :mod:`.figures`, the tables behind the charts and their CSV / XLSX forms in :mod:`.export`.
Reading a log and the ``antre report`` command live outside, in :mod:`queue_engine.report_cli`.

Feed every record of a facility's log, from position 1 (or from a state snapshot taken before the
window), to a :class:`ReportBuilder`; :func:`day_report` and :func:`range_report` do that for an
iterable. Each event is folded into a :class:`~queue_engine.domain.state.FacilityState` with the
engine's own ``apply`` (so the ETA shown to patients can be rebuilt exactly), and the figures are
kept alongside.

**The window** is ``first_day`` 00:00 to the midnight after ``last_day``, local to the facility's
timezone. A *stage visit* is one ticket at one service: it begins with ``ticket.issued`` or with a
``ticket.transferred`` (the next stage, or a transfer: each is a new visit at the new service, with
its own number). A visit belongs to the window when the local day its number belongs to (the
event's ``day``: the slot's day for an appointment booked earlier) is in it; its later events are
followed wherever they fall, up to :data:`FOLLOW_MS` after the window (a wait across midnight stays
with the day the number belongs to). Hourly counts and counter time count only what happened
inside the window. Times are in minutes.

Definitions:

* **tickets per channel**: ``ticket.issued`` whose day is in the window (remote bookings that
  never came included). **Visits per service and channel**: stage visits of the window, by the
  service visited and the channel the ticket came from.
* **Waiting time** of a visit: from the moment it joined the present queue of its service (issue
  for a walk-in, ``checked_in`` for a remote ticket, the transfer for a later stage) to its *first*
  call there. A requeue after a miss does not restart it. A remote ticket called by hand before it
  checked in, and a visit never called, have none.
* **Service time** of a visit: from ``service_started`` (or, without it, the last call) to
  ``completed`` at that stage (a completion that sends it on to the next stage included).
* Distributions (count, median, p90, max) are per (service, priority class), with ``"*"`` for all
  services or all classes. Median and p90 interpolate linearly between closest ranks
  (``statistics.quantiles(..., method="inclusive")``).
* **Arrivals per hour**: walk-in issues (checked in at once) and check-ins of remote tickets, by
  local hour. **Calls per hour**: every ``ticket.called`` (repeat calls after a miss too; recalls
  not), by local hour. Over a range, hours are summed across days.
* **No-show rate** = no-shows / called visits. A *called* visit was called at least once; a
  *no-show* was marked missed and never served there (no ``service_started``, no ``completed``),
  whether or not it was requeued or cancelled later.
* **Counter utilisation** = serving time / open time. *Open* is the status the counter's
  ``counter.opened`` / ``paused`` / ``closed`` events give it (paused is not open); *serving* is
  open while the engine has a ticket at the counter: from the call until it is completed, marked
  missed, transferred or cancelled, or the call is undone. A counter still open at the end counts
  until the window ends, or until ``now`` (or the last event) for a window still running.
* **ETA range held**: judged exactly as ``antre simulate`` judges it. When a visit joins a queue
  (the same four moments as above, and a requeue), the engine's calibrated range for that ticket
  at that moment is rebuilt from the replayed state (``forecast.ticket_eta``), rounded outward to 5
  minutes as pages show it; at the ticket's next call the range held if it contains the call time.
  Out-of-order calls are not judged (the range is dropped), nor are ranges never followed by a
  call; a later join replaces a range not yet judged.

**Undo** (``counter.action_undone``) takes the action back as if it had not happened: an undone
call is no call (not in calls per hour, not the first call, its ETA judgement withdrawn and the
range judged at the next call instead); an undone miss is no miss; an undone completion is no
completion, and when it had sent the ticket on, that next-stage visit never existed. Counter time
follows the engine's state, in which the counter held the ticket until the undo (a call) or from
the undo again (a completion or miss).
"""

from .export import Column, Table, display, tables, to_csv, to_xlsx
from .figures import ALL, CounterUse, Distribution, Report, ServiceFigures, quantile
from .fold import DISPLAY_STEP, FOLLOW_MS, MAX_DAYS, ReportBuilder, day_report, range_report, window

__all__ = [
    "ALL",
    "DISPLAY_STEP",
    "FOLLOW_MS",
    "MAX_DAYS",
    "Column",
    "CounterUse",
    "Distribution",
    "Report",
    "ReportBuilder",
    "ServiceFigures",
    "Table",
    "day_report",
    "display",
    "quantile",
    "range_report",
    "tables",
    "to_csv",
    "to_xlsx",
    "window",
]
