"""The pure module: phone numbers, options, subscribing and unsubscribing, its state and snapshots."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import orjson
import pytest

from modules.notify.module import (
    InvalidPhone,
    NotifyModule,
    NotifyState,
    NotWaiting,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
    mask,
    normalise_phone,
)
from queue_engine import codec
from queue_engine.config import ConfigError, parse_facility
from queue_engine.domain.commands import Complete
from queue_engine.domain.errors import InvalidCommand, NotFound
from queue_engine.domain.ids import CounterId, Millis, TicketId
from queue_engine.domain.state import FacilityState
from tests.conftest import Desk, make_facility, service

from .support import PHONE, PHONE_FORMS

E164 = "+6281234567890"


def desk(**options) -> Desk:
    return Desk(replace(make_facility(service("A")), modules=(NotifyModule(**options),)))


def notify_state(d: Desk) -> NotifyState:
    state: NotifyState = d.state.modules["notify"]
    return state


# --------------------------------------------------------------------------- phone numbers


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        (PHONE, E164),
        ("081234567890", E164),
        ("+62 812 3456 7890", E164),
        ("6281234567890", E164),
        ("(0812) 3456.7890", E164),
        (" 0811-234-567 ", "+62811234567"),  # 10 digits nationally: the shortest
        ("0812-3456-78901", "+62812345678901"),  # 13 digits nationally: the longest
    ],
)
def test_mobile_numbers_are_normalised_to_e164(typed: str, e164: str) -> None:
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "0812",
        "0811-234-56",  # 9 digits
        "0812-3456-789012",  # 14 digits
        "021-5551-2345",  # a Jakarta landline
        "+1 415 555 0100",
        "+62 21 555 1234",
        "0812-3456-789O",  # a letter O
        "٠٨١٢٣٤٥٦٧٨٩٠",  # Arabic-Indic digits
        "08123456789" + " " * 40,
        "812-3456-7890",  # no trunk prefix
    ],
)
def test_anything_else_is_invalid_phone_without_the_value_in_the_error(typed: str) -> None:
    with pytest.raises(InvalidPhone) as raised:
        normalise_phone(typed)
    assert raised.value.code == "invalid_phone"
    assert raised.value.params == {"field": "phone"}
    assert "3456" not in str(raised.value)


def test_mask_shows_the_last_three_digits_only() -> None:
    assert mask(E164) == "***********890"
    assert mask("+62811234567") == "*********567"


# --------------------------------------------------------------------------- options


def test_options_default_and_validate() -> None:
    module = NotifyModule()
    assert (module.ahead, module.gateway_url, module.token_env, module.channel) == (
        (5, 2),
        "",
        "ANTRE_NOTIFY_TOKEN",
        "whatsapp",
    )
    assert NotifyModule(ahead=[2, 10, 5], channel="sms").ahead == (10, 5, 2)
    assert NotifyModule(ahead=[]).ahead == ()
    for bad in ([0], [51], [2, 2], [True], ["5"], "5", 5):
        with pytest.raises(ValueError, match="ahead"):
            NotifyModule(ahead=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gateway_url"):
        NotifyModule(gateway_url="ftp://gateway")
    with pytest.raises(ValueError, match="token_env"):
        NotifyModule(token_env="NOT A NAME")
    with pytest.raises(ValueError, match="channel"):
        NotifyModule(channel="telegram")


def test_the_facility_file_enables_it_and_refuses_bad_options() -> None:
    head = {"facility": {"id": "pkm", "name": "Puskesmas"}}
    facility = parse_facility({**head, "modules": [{"use": "notify", "ahead": [3], "channel": "sms"}]})
    module = facility.module("notify")
    assert isinstance(module, NotifyModule) and module.ahead == (3,) and module.channel == "sms"
    with pytest.raises(ConfigError, match="distinct"):
        parse_facility({**head, "modules": [{"use": "notify", "ahead": [3, 3]}]})
    with pytest.raises(ConfigError, match="unexpected keyword"):
        parse_facility({**head, "modules": [{"use": "notify", "gateway": "http://x"}]})


# --------------------------------------------------------------------------- subscribing


def test_a_waiting_ticket_subscribes_with_its_number_normalised() -> None:
    d = desk()
    ticket = d.issue()
    decision = d.run(Subscribe(at=d.now, ticket_id=ticket.id, phone=PHONE))
    assert decision.events == [
        Subscribed(at=d.now, ticket_id=ticket.id, phone=E164, day=ticket.day, today=d.state.local_day(d.now))
    ]
    assert notify_state(d).subscriptions[ticket.id].phone == E164
    # the same number again changes nothing; another number replaces it
    assert d.run(Subscribe(at=d.now, ticket_id=ticket.id, phone="+6281234567890")).events == []
    d.run(Subscribe(at=d.now, ticket_id=ticket.id, phone="0813-0000-1111"))
    assert notify_state(d).subscriptions[ticket.id].phone == "+6281300001111"


def test_unsubscribing_forgets_the_number_and_is_safe_to_repeat() -> None:
    d = desk()
    ticket = d.issue()
    d.run(Subscribe(at=d.now, ticket_id=ticket.id, phone=PHONE))
    assert d.run(Unsubscribe(at=d.now, ticket_id=ticket.id)).events == [Unsubscribed(at=d.now, ticket_id=ticket.id)]
    assert notify_state(d).subscriptions == {}
    assert d.run(Unsubscribe(at=d.now, ticket_id=ticket.id)).events == []


def test_only_an_existing_waiting_ticket_subscribes_and_a_refusal_changes_nothing() -> None:
    d = desk()
    ticket = d.issue()
    before = d.state.snapshot()
    with pytest.raises(InvalidPhone):
        d.run(Subscribe(at=d.now, ticket_id=ticket.id, phone="12345"))
    with pytest.raises(NotFound) as unknown:
        d.run(Subscribe(at=d.now, ticket_id=TicketId("nope"), phone=PHONE))
    assert unknown.value.code == "ticket_not_found"
    d.call_next()
    with pytest.raises(NotWaiting):  # called
        d.run(Subscribe(at=d.now, ticket_id=ticket.id, phone=PHONE))
    d.run(Complete(at=d.now, counter=CounterId("L1")))
    with pytest.raises(NotWaiting):  # done
        d.run(Subscribe(at=d.now, ticket_id=ticket.id, phone=PHONE))
    assert notify_state(d).subscriptions == {}
    assert before["modules"] == d.state.snapshot()["modules"]


def test_other_commands_are_refused() -> None:
    d = desk()
    module = NotifyModule()
    with pytest.raises(InvalidCommand):
        module.decide(d.state, notify_state(d), Complete(at=d.now, counter=CounterId("L1")))  # type: ignore[arg-type]


def test_a_new_day_drops_earlier_days_subscriptions_from_the_state() -> None:
    module = NotifyModule()
    state = module.new_state()

    def subscribe(ticket: str, day: str, today: str) -> None:
        module.apply(state, Subscribed(at=Millis(1), ticket_id=TicketId(ticket), phone=E164, day=day, today=today))

    subscribe("t1", "2026-11-26", "2026-11-26")
    subscribe("t2", "2026-11-28", "2026-11-26")  # booked for a later day
    subscribe("t3", "2026-11-26", "2026-11-26")
    assert list(state.subscriptions) == ["t1", "t2", "t3"]
    subscribe("t4", "2026-11-27", "2026-11-27")  # the first of the next day
    assert list(state.subscriptions) == ["t2", "t4"]


# --------------------------------------------------------------------------- privacy, codec, snapshots


def test_every_repr_masks_the_number() -> None:
    d = desk()
    ticket = d.issue()
    d.run(Subscribe(at=d.now, ticket_id=ticket.id, phone=PHONE))
    texts = [
        repr(Subscribe(at=d.now, ticket_id=ticket.id, phone=PHONE)),
        repr(d.events[-1]),
        repr(notify_state(d)),
        str(d.events[-1]),
    ]
    for text in texts:
        for form in PHONE_FORMS:
            assert form not in text, text
    assert "***890" in repr(d.events[-1])


def test_events_round_trip_through_the_codec_and_the_state_through_a_snapshot() -> None:
    d = desk()
    module = d.facility.modules[0]
    codec.register_modules([module])
    first, second = d.issue(), d.issue()
    d.run(Subscribe(at=d.now, ticket_id=first.id, phone=PHONE))
    d.run(Subscribe(at=d.now, ticket_id=second.id, phone="0813-0000-1111"))
    d.run(Unsubscribe(at=d.now, ticket_id=first.id))
    for event in d.events:
        assert codec.decode_event(codec.encode_event(event)) == event
    snapshot = orjson.loads(orjson.dumps(d.state.snapshot()))
    restored = FacilityState.from_snapshot(d.facility, snapshot)
    assert restored.modules["notify"] == notify_state(d)


def test_the_module_imports_no_io() -> None:
    """The engine loads the pure module (``use = "notify"``) without the web layer or an HTTP client."""
    code = (
        "import sys, modules.notify; "
        "print(sorted(m for m in ('httpx2', 'starlette', 'web', 'modules.outbox.worker') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
