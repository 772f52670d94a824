"""Patient feedback (issue #8): a 1-5 rating and an optional comment once the visit is done.

The pure module (:mod:`.module`: ratings, cleaned comments, per-day aggregates; enable it with
``[[modules]] use = "feedback"``), the pure report (:mod:`.report`) and the web part
(:mod:`.site`: the ticket holder's endpoint and the admin's report). Only the pure parts are
imported here.
"""

from __future__ import annotations

from .module import MODULE, FeedbackModule, InvalidRating, NotDone, Rate, Rated, clean_comment
from .report import Report, Tally, report

__all__ = [
    "MODULE",
    "FeedbackModule",
    "InvalidRating",
    "NotDone",
    "Rate",
    "Rated",
    "Report",
    "Tally",
    "clean_comment",
    "report",
]
