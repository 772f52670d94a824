"""Patient feedback as a module: a 1-5 rating and an optional comment once the visit is done.

Invariants:

* only the holder of a **done** ticket rates (the web part checks the token; :meth:`decide`
  checks the status), and a ticket counts **once**: rating again replaces its earlier answer in
  every aggregate (a mistaken tap can be corrected, never stuffed);
* a rating is attributed to the service and the counter of the visit's **last completed stage**
  (``Ticket.service`` and ``Ticket.completed_by`` once it is done): one question at the end of a
  visit, not one per stage;
* the event keeps the ticket id only so that a second answer replaces the first; the state keeps
  ticket ids only for the current day's tickets (for that replacement), and what
  :func:`report` returns has no ticket id, token, time of day or number: counts per service and
  counter, and comments with their day, service, counter and rating;
* comments are cleaned in :func:`clean_comment` **before** they reach the event, so the log
  never holds what was stripped: control and invisible characters, runs of spaces, and anything
  that looks like an identifying number (NIK, BPJS, phone: 6 digits or more, even with spaces or
  hyphens), an e-mail address, or the ticket's own token.

Pure: no I/O, no clock; time comes in the command.

Options (the ``[[modules]]`` table): ``keep_days``: how many days of aggregates and comments the
live state keeps (default 400, about 13 months; the log keeps everything).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ClassVar

from queue_engine.domain.errors import DomainError, InvalidCommand, NotFound
from queue_engine.domain.evolve import forgets
from queue_engine.domain.ids import CounterId, ServiceCode, TicketId
from queue_engine.domain.modules import ModuleCommand, ModuleEvent
from queue_engine.domain.state import FacilityState
from queue_engine.domain.status import TicketStatus

NAME = "feedback"
#: the scale: 1 (very poor) to 5 (very good)
RATINGS = (1, 2, 3, 4, 5)
#: the longest comment kept, in characters, after cleaning
MAX_COMMENT = 500
#: what replaces a stripped number, e-mail address or token
REDACTED = "[…]"

# Six digits or more, possibly grouped by spaces, dots or hyphens (0812-3456-7890, 3578 0112 …).
_NUMBER = re.compile(r"\+?\d(?:[\s.\-]?\d){5,}")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_SPACES = re.compile(r"\s+")


class NotDone(DomainError):
    code = "feedback_not_done"
    message_id = "Penilaian bisa diberikan setelah pelayanan selesai."
    message_en = "Feedback can be given once the visit is finished."


class InvalidRating(DomainError):
    """A rating outside 1-5, or a comment too long. Its params never hold the comment."""

    code = "invalid_feedback"
    message_id = "Pilih nilai 1 sampai 5; komentar paling banyak 500 huruf."
    message_en = "Choose a rating from 1 to 5; a comment may have at most 500 characters."


def clean_comment(raw: str, *, secrets: tuple[str, ...] = ()) -> str:
    """The comment as it may be stored: one line of visible text, identifying numbers removed.

    NFC-normalised; control, format (zero-width, bidi override) and private-use characters
    dropped; whitespace runs (newlines included) become one space; numbers of 6 digits or more,
    e-mail addresses and each of ``secrets`` (the ticket's token) become ``[…]``; trimmed.
    """
    text = unicodedata.normalize("NFC", raw)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C")
    text = _EMAIL.sub(REDACTED, text)
    text = _NUMBER.sub(REDACTED, text)
    return _SPACES.sub(" ", text).strip()


# --------------------------------------------------------------------------- commands and events


@dataclass(frozen=True, slots=True, kw_only=True)
class Rate(ModuleCommand):
    """The holder of ``ticket_id`` rates the visit; ``comment`` as typed (the module cleans it)."""

    MODULE: ClassVar[str] = NAME
    ticket_id: TicketId
    rating: int
    comment: str = ""

    def __repr__(self) -> str:
        return f"Rate(at={self.at}, ticket_id={self.ticket_id!r}, rating={self.rating}, comment=<{len(self.comment)}>)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rated(ModuleEvent):
    """A visit of local ``day`` rated on local ``today``, for ``service`` at ``counter`` (its last stage).

    ``ticket_id`` is there only so that a second rating replaces the first; reports never show it.
    """

    TYPE: ClassVar[str] = "feedback.rated"
    VERSION: ClassVar[int] = 1
    ticket_id: TicketId
    day: str
    today: str
    service: ServiceCode
    counter: CounterId | None
    rating: int
    comment: str


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    """A comment as reports show it: no ticket, no time of day."""

    at: int
    service: ServiceCode
    counter: CounterId | None
    rating: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """Today's answer of one ticket (kept so that a new answer can take its place)."""

    day: str
    service: ServiceCode
    counter: CounterId | None
    rating: int
    comment: Comment | None


#: (service, counter) a rating is counted under
Key = tuple[ServiceCode, CounterId | None]


@dataclass(slots=True)
class Day:
    """One local day: the count of each rating (index 0 = rating 1) per (service, counter), and its comments."""

    counts: dict[Key, list[int]] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)


@dataclass(slots=True)
class FeedbackState:
    days: dict[str, Day] = field(default_factory=dict)
    #: the current day's rated tickets (dropped at the first rating of a new local day)
    answers: dict[TicketId, Answer] = field(default_factory=dict)
    #: the local day of the newest rating
    today: str = ""


# --------------------------------------------------------------------------- the module


class FeedbackModule:
    """Enabled with ``[[modules]] use = "feedback"``."""

    name = NAME
    event_types: tuple[type[ModuleEvent], ...] = (Rated,)
    web = "modules.feedback.site:FeedbackWeb"

    def __init__(self, *, keep_days: int = 400) -> None:
        if not isinstance(keep_days, int) or isinstance(keep_days, bool) or not 1 <= keep_days <= 3660:
            raise ValueError("feedback: keep_days must be a whole number of days from 1 to 3660")
        self.keep_days = keep_days

    def new_state(self) -> FeedbackState:
        return FeedbackState()

    def decide(self, core: FacilityState, state: Any, command: ModuleCommand) -> list[ModuleEvent]:
        if not isinstance(command, Rate):
            raise InvalidCommand(command=type(command).__name__)
        ticket = core.tickets.get(command.ticket_id)
        if ticket is None or forgets(core, ticket, command.at):
            raise NotFound("ticket_not_found", ticket=command.ticket_id)
        if ticket.status is not TicketStatus.DONE:
            raise NotDone(status=ticket.status.value)
        rating = command.rating
        if not isinstance(rating, int) or isinstance(rating, bool) or rating not in RATINGS:
            raise InvalidRating(field="rating")
        comment = clean_comment(command.comment, secrets=(ticket.token,))
        if len(comment) > MAX_COMMENT:
            raise InvalidRating(field="comment", max_length=MAX_COMMENT)
        s: FeedbackState = state
        earlier = s.answers.get(ticket.id)
        same = (ticket.service, ticket.completed_by, rating, comment)
        if earlier is not None and (earlier.service, earlier.counter, earlier.rating, _text(earlier)) == same:
            return []  # the same answer again (a double tap)
        return [
            Rated(
                at=command.at,
                ticket_id=ticket.id,
                day=ticket.day,
                today=core.local_day(command.at),
                service=ticket.service,
                counter=ticket.completed_by,
                rating=rating,
                comment=comment,
            )
        ]

    def apply(self, state: Any, event: ModuleEvent) -> None:
        s: FeedbackState = state
        assert isinstance(event, Rated)
        if event.today > s.today:
            s.today = event.today
            s.answers = {t: a for t, a in s.answers.items() if a.day >= event.today}
            oldest = (date.fromisoformat(event.today) - timedelta(days=self.keep_days - 1)).isoformat()
            s.days = {d: v for d, v in s.days.items() if d >= oldest}
        earlier = s.answers.pop(event.ticket_id, None)
        if earlier is not None:
            _withdraw(s, earlier)
        comment = None
        if event.comment:
            comment = Comment(
                at=event.at, service=event.service, counter=event.counter, rating=event.rating, text=event.comment
            )
        answer = Answer(
            day=event.day, service=event.service, counter=event.counter, rating=event.rating, comment=comment
        )
        day = s.days.setdefault(event.day, Day())
        day.counts.setdefault((event.service, event.counter), [0] * len(RATINGS))[event.rating - 1] += 1
        if comment is not None:
            day.comments.append(comment)
        s.answers[event.ticket_id] = answer

    def dump(self, state: Any) -> Any:
        s: FeedbackState = state
        return {
            "today": s.today,
            "days": {
                d: {
                    "counts": [[svc, ctr, list(n)] for (svc, ctr), n in day.counts.items()],
                    "comments": [_comment_dump(c) for c in day.comments],
                }
                for d, day in s.days.items()
            },
            "answers": [
                {
                    "ticket_id": t,
                    "day": a.day,
                    "service": a.service,
                    "counter": a.counter,
                    "rating": a.rating,
                    "comment": None if a.comment is None else _comment_dump(a.comment),
                }
                for t, a in s.answers.items()
            ],
        }

    def load(self, data: Any) -> FeedbackState:
        state = FeedbackState(today=str(data["today"]))
        for d, raw in data["days"].items():
            day = state.days[str(d)] = Day()
            for svc, ctr, counts in raw["counts"]:
                day.counts[(ServiceCode(svc), None if ctr is None else CounterId(ctr))] = [int(n) for n in counts]
            day.comments = [_comment_load(c) for c in raw["comments"]]
        for raw in data["answers"]:
            state.answers[TicketId(raw["ticket_id"])] = Answer(
                day=str(raw["day"]),
                service=ServiceCode(raw["service"]),
                counter=None if raw["counter"] is None else CounterId(raw["counter"]),
                rating=int(raw["rating"]),
                comment=None if raw["comment"] is None else _comment_load(raw["comment"]),
            )
        return state


def _text(answer: Answer) -> str:
    return "" if answer.comment is None else answer.comment.text


def _withdraw(state: FeedbackState, answer: Answer) -> None:
    """Take a replaced answer out of its day's counts and comments."""
    day = state.days.get(answer.day)
    if day is None:  # its day is older than keep_days: nothing left to correct
        return
    counts = day.counts.get((answer.service, answer.counter))
    if counts is not None and counts[answer.rating - 1] > 0:
        counts[answer.rating - 1] -= 1
    if answer.comment is not None and answer.comment in day.comments:
        day.comments.remove(answer.comment)


def _comment_dump(c: Comment) -> dict[str, Any]:
    return {"at": c.at, "service": c.service, "counter": c.counter, "rating": c.rating, "text": c.text}


def _comment_load(raw: dict[str, Any]) -> Comment:
    return Comment(
        at=int(raw["at"]),
        service=ServiceCode(raw["service"]),
        counter=None if raw["counter"] is None else CounterId(raw["counter"]),
        rating=int(raw["rating"]),
        text=str(raw["text"]),
    )


#: what ``[[modules]] use = "feedback"`` loads
MODULE = FeedbackModule
