"""The pure part: configuration, readings, and alerts that open once per breach and clear, with time as an input."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from typing import Any

import pytest

from modules.sla.messages import SlaDeriver
from modules.sla.module import MAX_HISTORY, AlertCleared, AlertOpened, Check, SlaModule, SlaState
from modules.sla.rules import AlertKind, Rules, next_due, readings
from modules.sla.view import supervisor_json
from modules.webhooks.module import MODULE_PUBLIC_TYPES, WebhooksModule
from queue_engine import codec
from queue_engine.config import ConfigError, demo_path, load_facility, parse_facility
from queue_engine.domain import commands as c
from queue_engine.domain.errors import InvalidCommand
from queue_engine.domain.events import Event
from queue_engine.domain.ids import CounterId
from queue_engine.domain.model import Channel
from queue_engine.domain.state import FacilityState
from tests.conftest import START, Desk, make_facility, service

MINUTE = 60_000


def desk(**options: Any) -> Desk:
    """Services A and B; L1 serves A, L2 serves B; every counter open; the sla module with ``options``."""
    base = make_facility(service("A"), service("B"), counters={"L1": ("A",), "L2": ("B",)})
    return Desk(replace(base, modules=(SlaModule(**options),)))


def sla(d: Desk) -> SlaState:
    state: SlaState = d.state.modules["sla"]
    return state


def check(d: Desk) -> list[Event]:
    """A check now; its events (applied)."""
    return d.run(Check(at=d.now)).events


def summary(events: list[Event]) -> list[tuple[str, str, str, int]]:
    return [(e.TYPE, e.alert_id, e.subject, e.value) for e in events if isinstance(e, AlertOpened | AlertCleared)]


# --------------------------------------------------------------------------- configuration


FILE = """
[facility]
id = "pkm-test"
name = "Puskesmas Uji"
[[services]]
code = "UMUM"
name = "Poli Umum"
prefix = "B"
[[counters]]
id = "umum-1"
name = "Ruang 1"
services = ["UMUM"]

[[modules]]
use = "sla"
counter_paused_min = 20
supervisors = ["kapus"]

[modules.services.UMUM]
longest_wait_min = 45
queue_max = 30

[modules.counters.umum-1]
counter_paused_min = 30
"""


def test_the_facility_file_enables_it_with_defaults_and_overrides() -> None:
    facility = parse_facility(tomllib.loads(FILE))
    (module,) = facility.modules
    assert isinstance(module, SlaModule)
    assert module.rules.service("UMUM") == (30, 45)
    assert module.rules.counter("umum-1") == 30
    assert module.rules.counter("other") == 20
    assert module.supervisors == {"kapus"}
    module.rules.check(facility)


@pytest.mark.parametrize(
    "options, error",
    [
        ({"queue_max": -1}, "queue_max must be a whole number"),
        ({"longest_wait_min": 2000}, "longest_wait_min must be a whole number"),
        ({"counter_paused_min": True}, "counter_paused_min must be a whole number"),
        ({"services": {"UMUM": {"queue_max": "30"}}}, "services.UMUM.queue_max"),
        ({"services": {"UMUM": {"queue": 30}}}, "unknown option"),
        ({"counters": {"c": {"queue_max": 3}}}, "unknown option"),
        ({"services": ["UMUM"]}, "table of tables"),
        ({"services": {"UMUM": 30}}, "table of thresholds"),
        ({"supervisors": "kapus"}, "list of staff usernames"),
        ({"supervisors": [""]}, "each of supervisors"),
        ({"phones_env": "not a name"}, "phones_env"),
        ({"gateway_url": "ftp://x"}, "gateway_url"),
        ({"channel": "pager"}, "channel"),
        ({"stale_min": 0}, "stale_min"),
    ],
)
def test_bad_options_are_refused_with_a_reason(options: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        SlaModule(**options)


def test_an_unknown_option_in_the_file_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="queue_limit"):
        parse_facility(tomllib.loads(FILE.replace("counter_paused_min = 20", "queue_limit = 20")))


def test_thresholds_for_unknown_services_or_counters_are_refused_at_start() -> None:
    module = SlaModule(services={"POLI": {"queue_max": 3}}, counters={"loket-9": {"counter_paused_min": 5}})
    with pytest.raises(ValueError, match=r"\['POLI'\].*\['loket-9'\]"):
        module.rules.check(load_facility(demo_path()))
    SlaModule(services={"UMUM": {"queue_max": 3}}, counters={"loket-1": {"counter_paused_min": 5}}).rules.check(
        load_facility(demo_path())
    )


def test_zero_turns_a_rule_off_for_one_service() -> None:
    rules = Rules.parse(queue_max=10, longest_wait_min=30, services={"B": {"queue_max": 0}})
    assert rules.service("A") == (10, 30)
    assert rules.service("B") == (0, 30)


# --------------------------------------------------------------------------- queue length


def test_a_queue_over_its_limit_opens_one_alert_and_clears_when_back_within() -> None:
    d = desk(queue_max=2)
    for _ in range(2):
        d.issue("A")
    assert check(d) == []  # a queue of exactly the limit is within it
    d.issue("A")
    assert summary(check(d)) == [("sla.alert_opened", "sla-1", "A", 3)]
    d.issue("A")
    assert check(d) == [] and check(d) == []  # the same breach never opens twice
    assert [a.id for a in sla(d).open.values()] == ["sla-1"]
    d.call_next("L1")
    assert check(d) == []  # 3 waiting: still over
    d.call_next("L1", complete_current=True)
    assert summary(check(d)) == [("sla.alert_cleared", "sla-1", "A", 2)]
    assert sla(d).open == {} and [a.cleared_at for a in sla(d).history] == [d.now]
    for _ in range(2):
        d.issue("A")
    assert summary(check(d)) == [("sla.alert_opened", "sla-2", "A", 4)]  # a new breach is a new alert


def test_not_checked_in_tickets_do_not_count() -> None:
    d = desk(queue_max=1)
    d.issue("A")
    d.issue("A", channel=Channel.WEB)
    assert check(d) == []


# --------------------------------------------------------------------------- time passing


def test_the_longest_wait_opens_exactly_when_it_reaches_the_limit_as_time_passes() -> None:
    d = desk(longest_wait_min=45)
    first = d.issue("A")  # arrives while the service is open: its wait starts now
    assert first.joined_at == START
    reading = readings(d.state, sla_rules(d), d.now)[0]
    assert (reading.kind, reading.value, reading.breached, reading.due) == (
        AlertKind.LONGEST_WAIT,
        0,
        False,
        START + 45 * MINUTE,
    )
    d.advance(10 * MINUTE)
    d.issue("A")  # a later arrival does not move the due time: the oldest does
    assert next_due(readings(d.state, sla_rules(d), d.now), set()) == START + 45 * MINUTE
    d.advance(35 * MINUTE - 1)
    assert check(d) == []
    d.advance(1)
    (opened,) = check(d)
    assert isinstance(opened, AlertOpened)
    assert (opened.kind, opened.value, opened.threshold, opened.since, opened.at) == (
        AlertKind.LONGEST_WAIT,
        45,
        45,
        START,
        START + 45 * MINUTE,
    )
    assert next_due(readings(d.state, sla_rules(d), d.now), set(sla(d).open)) is None  # already alerted
    d.advance(30 * MINUTE)
    assert check(d) == []
    d.call_next("L1")  # the oldest is called: the next one has waited 65 min, still over
    assert check(d) == []
    d.call_next("L1", complete_current=True)  # nobody waits
    assert summary(check(d)) == [("sla.alert_cleared", "sla-1", "A", 0)]


def test_a_counter_paused_too_long_opens_and_clears_when_it_reopens() -> None:
    d = desk(counter_paused_min=20, counters={"L2": {"counter_paused_min": 0}})
    d.run(c.PauseCounter(at=d.now, counter=CounterId("L1"), reason="Istirahat"))
    d.run(c.PauseCounter(at=d.now, counter=CounterId("L2"), reason="Istirahat"))  # L2: not watched
    d.advance(19 * MINUTE)
    assert check(d) == []
    d.advance(MINUTE)
    (opened,) = check(d)
    assert isinstance(opened, AlertOpened)
    assert (opened.kind, opened.subject, opened.value, opened.since) == (AlertKind.COUNTER_PAUSED, "L1", 20, START)
    d.advance(MINUTE)
    d.run(c.PauseCounter(at=d.now, counter=CounterId("L1"), reason="Rapat"))  # already paused: no change
    assert check(d) == []
    d.run(c.OpenCounter(at=d.now, counter=CounterId("L1")))
    assert summary(check(d)) == [("sla.alert_cleared", "sla-1", "L1", 0)]
    d.run(c.CloseCounter(at=d.now, counter=CounterId("L1")))
    d.advance(60 * MINUTE)
    assert check(d) == []  # closed is not paused


def test_an_alert_whose_rule_is_turned_off_clears() -> None:
    d = desk(queue_max=1)
    d.issue("A")
    d.issue("A")
    check(d)
    module = SlaModule(queue_max=0)
    events = module.decide(d.state, sla(d), Check(at=d.now))
    assert summary(list(events)) == [("sla.alert_cleared", "sla-1", "A", 0)]


# --------------------------------------------------------------------------- state, snapshots, messages


def test_state_survives_a_snapshot_and_the_events_decode() -> None:
    d = desk(queue_max=1, counter_paused_min=5)
    d.issue("A")
    d.issue("A")
    d.run(c.PauseCounter(at=d.now, counter=CounterId("L2"), reason="Ibadah"))
    d.advance(5 * MINUTE)
    check(d)
    d.run(c.OpenCounter(at=d.now, counter=CounterId("L2")))
    check(d)
    codec.register_modules(d.facility.modules)
    for event in d.events:
        assert codec.decode_event(codec.encode_event(event)) == event
    again = FacilityState.from_snapshot(d.facility, d.state.snapshot())
    assert again.snapshot() == d.state.snapshot()
    restored: SlaState = again.modules["sla"]
    assert restored.open == sla(d).open and restored.history == sla(d).history and restored.opened == 2
    assert again.counters[CounterId("L2")].since == d.now


def test_history_is_bounded() -> None:
    d = desk(queue_max=1)
    for _ in range(MAX_HISTORY + 3):
        d.issue("A")
        d.issue("A")
        check(d)
        d.call_next("L1", complete_current=True)
        d.call_next("L1", complete_current=True)
        check(d)
    assert len(sla(d).history) == MAX_HISTORY and sla(d).opened == MAX_HISTORY + 3
    assert sla(d).history[-1].id == f"sla-{MAX_HISTORY + 3}"


def test_each_alert_becomes_one_message_per_phone_in_indonesian_first() -> None:
    d = desk(queue_max=1, counter_paused_min=5)
    d.issue("A")
    d.issue("A")
    d.run(c.PauseCounter(at=d.now, counter=CounterId("L2"), reason="Ibadah"))
    d.advance(5 * MINUTE)
    events = check(d)
    deriver = SlaDeriver(("+6281211112222", "+6281333334444"))
    messages = [m for e in events for m in deriver.derive(40, e, d.state)]
    assert [m.key for m in messages] == [
        "sla:sla-1:opened:1",
        "sla:sla-1:opened:2",
        "sla:sla-2:opened:1",
        "sla:sla-2:opened:2",
    ]
    texts = [m.body["notice"].text for m in messages[::2]]
    assert texts == [
        "Antre Puskesmas Uji PERINGATAN: antrean Layanan A 2 orang menunggu (batas 1). "
        "/ ALERT: Layanan A queue has 2 waiting (limit 1).",
        "Antre Puskesmas Uji PERINGATAN: Loket L2 dijeda 5 menit (batas 5 menit), alasan: Ibadah. "
        "/ ALERT: Loket L2 paused 5 min (limit 5 min).",
    ]
    assert "+62812" not in repr(messages[0].body["notice"])
    d.run(c.OpenCounter(at=d.now, counter=CounterId("L2")))
    (cleared,) = check(d)
    (message, _) = deriver.derive(41, cleared, d.state)
    assert message.key == "sla:sla-2:cleared:1" and message.kind == "alert_cleared"
    assert message.body["notice"].text == (
        "Antre Puskesmas Uji PULIH: Loket L2 tidak lagi dijeda. / RESOLVED: Loket L2 is no longer paused."
    )
    assert deriver.derive(42, d.events[0], d.state) == []


def test_the_overview_shows_queues_counters_and_alerts_without_personal_data() -> None:
    d = desk(queue_max=1, longest_wait_min=30)
    d.issue("A")
    d.advance(5 * MINUTE)
    d.issue("A")
    d.call_next("L1")
    d.issue("A")
    check(d)
    d.run(c.PauseCounter(at=d.now, counter=CounterId("L2"), reason="Istirahat"))
    d.advance(7 * MINUTE)
    view = supervisor_json(d.state, sla(d), sla_rules(d), d.now)
    a = view["services"][0]
    assert (a["waiting"], a["longest_wait_min"], a["queue_max"], a["longest_wait_limit"]) == (2, 7, 1, 30)
    assert a["serving"] == [{"number": "A001", "status": "called", "counter": "L1", "counter_name": "Loket L1"}]
    assert a["alerts"] == ["sla-1"]
    l2 = view["counters"][1]
    assert (l2["status"], l2["pause_reason"], l2["minutes"], l2["paused_limit"]) == ("paused", "Istirahat", 7, None)
    assert [al["name"] for al in view["alerts"]] == ["Layanan A"]
    assert view["totals"] == {"waiting": 2, "open": 1, "paused": 1, "closed": 0, "alerts": 1}
    assert "secret-token" not in str(view)


def test_webhooks_may_forward_exactly_the_sla_alert_types() -> None:
    assert {AlertOpened.TYPE, AlertCleared.TYPE} == MODULE_PUBLIC_TYPES
    module = WebhooksModule(
        subscriptions=[{"id": "dinkes", "url": "https://d.example/h", "events": ["sla.*"], "secret_env": "X"}]
    )
    (sub,) = module.subscriptions
    assert sub.wants("sla.alert_opened") and not sub.wants("ticket.called") and not sub.wants("sla.outbox_advanced")


def test_the_longest_wait_cleared_text_and_unknown_commands() -> None:
    d = desk(longest_wait_min=10)
    d.issue("A")
    d.advance(10 * MINUTE)
    check(d)
    d.call_next("L1")
    (cleared,) = check(d)
    (message,) = SlaDeriver(("+6281211112222",)).derive(9, cleared, d.state)
    assert message.body["notice"].text == (
        "Antre Puskesmas Uji PULIH: tunggu terlama di Layanan A kembali di bawah 10 menit. "
        "/ RESOLVED: Layanan A longest wait back under 10 min."
    )
    with pytest.raises(InvalidCommand):
        sla_module_of(d).decide(d.state, sla(d), c.OpenCounter(at=d.now, counter=CounterId("L1")))  # type: ignore[arg-type]


def sla_module_of(d: Desk) -> SlaModule:
    module = d.facility.module("sla")
    assert isinstance(module, SlaModule)
    return module


def sla_rules(d: Desk) -> Rules:
    return sla_module_of(d).rules
