"""The outbox's progress: only forward by advancing, only backward by rewinding, kept through snapshots."""

from __future__ import annotations

import pytest

from modules.outbox import progress
from modules.outbox.progress import Failure, Outbox, OutboxRefused, outbox_types
from queue_engine import codec
from queue_engine.domain.ids import Millis

T = outbox_types("demo")
AT = Millis(1_795_654_800_000)


def _run(outbox: Outbox, command: progress.Advance | progress.Rewind) -> list[object]:
    events = progress.decide(outbox, T, command)
    for event in events:
        progress.apply(outbox, event)
    return list(events)


def test_types_are_namespaced_per_module_and_routed_to_it() -> None:
    assert [cls.TYPE for cls in T.events] == ["demo.outbox_advanced", "demo.outbox_rewound"]
    assert T.advance.MODULE == T.rewind.MODULE == "demo"
    other = outbox_types("other")
    assert other.advanced.TYPE == "other.outbox_advanced" and other.advanced is not T.advanced
    assert T.advanced.__name__ == "DemoOutboxAdvanced"


def test_advancing_moves_the_cursor_forward_only_and_counts() -> None:
    outbox = Outbox()
    failure = Failure(key="k1", kind="x", reason="refused", at=AT)
    assert len(_run(outbox, T.advance(at=AT, stream="s", upto=10, sent=3, failed=[failure]))) == 1
    assert _run(outbox, T.advance(at=AT, stream="s", upto=10, sent=1)) == []  # another node got there first
    assert _run(outbox, T.advance(at=AT, stream="s", upto=7, sent=1)) == []
    _run(outbox, T.advance(at=AT, stream="s", upto=12, sent=2))
    p = outbox.streams["s"]
    assert (p.cursor, p.sent, p.failures) == (12, 5, [failure])
    assert outbox.cursor("s") == 12 and outbox.cursor("unknown") == 0


def test_rewinding_goes_back_only() -> None:
    outbox = Outbox()
    _run(outbox, T.advance(at=AT, stream="s", upto=10, sent=3))
    assert [type(e) for e in _run(outbox, T.rewind(at=AT, stream="s", to=4, actor="admin"))] == [T.rewound]
    assert outbox.cursor("s") == 4
    for to in (5, -1):
        with pytest.raises(OutboxRefused):
            _run(outbox, T.rewind(at=AT, stream="s", to=to, actor="admin"))


def test_failures_kept_are_bounded() -> None:
    outbox = Outbox()
    many = [Failure(key=f"k{i}", kind="x", reason="r", at=AT) for i in range(progress.MAX_FAILURES + 5)]
    _run(outbox, T.advance(at=AT, stream="s", upto=1, sent=0, failed=many))
    assert [f.key for f in outbox.streams["s"].failures] == [f.key for f in many[5:]]


def test_dump_and_load_through_the_snapshot_codec() -> None:
    outbox = Outbox()
    _run(outbox, T.advance(at=AT, stream="a", upto=3, sent=2, failed=[Failure(key="k", kind="x", reason="r", at=AT)]))
    _run(outbox, T.advance(at=AT, stream="b", upto=9, sent=1))
    restored = progress.load(codec.loads(codec.dumps(progress.dump(outbox))))
    assert restored == outbox
