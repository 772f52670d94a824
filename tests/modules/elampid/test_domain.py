"""The application lifecycle: transition table, decide functions, apply and replay."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from modules.elampid import (
    EVENT_TYPES,
    TRANSITIONS,
    Action,
    ApplicationId,
    ApplicationNotFound,
    ApplicationState,
    ApplicationStatus as S,
    ApplicationSubmitted,
    CertificateKind,
    DuplicateApplication,
    Event,
    FixRequested,
    InvalidApplicationTransition,
    InvalidElampidCommand,
    MissingDocuments,
    ReceiptNumber,
    apply,
    check_transition,
    decide_cancel,
    decide_choose_handover_slot,
    decide_deliver,
    decide_hand_over,
    decide_issue,
    decide_request_delivery,
    decide_request_fix,
    decide_resubmit,
    decide_submit,
    decide_verify,
    parse_application,
    replay,
)
from modules.elampid.application import Application
from modules.elampid.domain import (
    APPLICANT,
    DocumentFile,
    HandoverCheckedIn,
    decide_check_in,
    decide_update_delivery,
    decide_view,
)
from modules.elampid.errors import InvalidApplication
from queue_engine.domain.ids import Millis, TicketId

from .support import TODAY, all_documents, birth_data, death_data

K, M = CertificateKind.KELAHIRAN, CertificateKind.KEMATIAN
AID = ApplicationId("app-1")
T0 = 1_764_115_200_000  # 2025-11-26T00:00Z, passed in: the domain reads no clock

LEGAL = {
    (S.DIAJUKAN, S.DIVERIFIKASI),
    (S.DIAJUKAN, S.PERLU_PERBAIKAN),
    (S.DIAJUKAN, S.DIBATALKAN),
    (S.PERLU_PERBAIKAN, S.DIAJUKAN),
    (S.PERLU_PERBAIKAN, S.DIBATALKAN),
    (S.DIVERIFIKASI, S.TERBIT),
    (S.TERBIT, S.SIAP_DIAMBIL),
    (S.TERBIT, S.DIKIRIM),
    (S.SIAP_DIAMBIL, S.SIAP_DIAMBIL),  # another slot, until checked in
    (S.SIAP_DIAMBIL, S.SELESAI),
    (S.DIKIRIM, S.SELESAI),
}


def _app(kind: CertificateKind = K) -> Application:
    return parse_application(kind, birth_data() if kind is K else death_data(), today=TODAY)


def _submitted(kind: CertificateKind = K, application_id: ApplicationId = AID) -> tuple[ApplicationState, list[Event]]:
    state = ApplicationState()
    events = decide_submit(
        state,
        application_id=application_id,
        receipt_number=ReceiptNumber(f"R-{application_id}"),
        application=_app(kind),
        documents=all_documents(kind),
        at=T0,
    )
    for event in events:
        apply(state, event)
    return state, events


def test_the_table_is_exactly_the_specified_machine() -> None:
    table = {(before, after) for before, row in TRANSITIONS.items() for after in row.values()}
    assert table == LEGAL
    assert set(TRANSITIONS) == set(S)
    targets = {
        action: {after for row in TRANSITIONS.values() for a, after in row.items() if a is action} for action in Action
    }
    assert all(len(t) == 1 for t in targets.values())  # each action leads to one status


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(Action))
def test_check_transition_every_pair(status: S, action: Action) -> None:
    if action in TRANSITIONS[status]:
        assert check_transition(status, action) is TRANSITIONS[status][action]
    else:
        with pytest.raises(InvalidApplicationTransition) as info:
            check_transition(status, action)
        assert info.value.code == "invalid_transition"
        assert info.value.from_status == status.value
        assert info.value.params == {"from_status": status.value, "to_status": info.value.to_status}


def _run(state: ApplicationState, events: list[Event]) -> list[Event]:
    for event in events:
        apply(state, event)
    return events


def _through(kind: CertificateKind, path: str) -> tuple[ApplicationState, list[Event]]:
    """Drive one application along a named happy path; return the state and every event."""
    state, log = _submitted(kind)
    steps: dict[str, list[Callable[[], list[Event]]]] = {
        "fix": [
            lambda: decide_request_fix(state, AID, reasons=["KTP ayah buram", " "], actor="staff-1", at=T0 + 1),
            lambda: decide_resubmit(state, AID, application=_app(kind), documents=all_documents(kind), at=T0 + 2),
        ],
        "verify_issue": [
            lambda: decide_verify(state, AID, actor="staff-1", at=T0 + 3),
            lambda: decide_issue(state, AID, actor="staff-1", at=T0 + 4),
        ],
        "handover": [
            lambda: decide_choose_handover_slot(state, AID, slot=T0 + 86_400_000, at=T0 + 5),
            lambda: decide_hand_over(state, AID, actor="staff-2", at=T0 + 86_400_000),
        ],
        "delivery": [
            lambda: decide_request_delivery(state, AID, at=T0 + 5),
            lambda: decide_deliver(state, AID, at=T0 + 6, courier_ref="POS-123"),
        ],
    }
    for name in path.split("+"):
        for step in steps[name]:
            log += _run(state, step())
    return state, log


@pytest.mark.parametrize("kind", list(CertificateKind))
@pytest.mark.parametrize("path", ["fix+verify_issue+handover", "verify_issue+delivery", "verify_issue+handover"])
def test_happy_paths_and_replay(kind: CertificateKind, path: str) -> None:
    state, log = _through(kind, path)
    record = state.get(AID)
    assert record.status is S.SELESAI
    assert record.kind is kind
    assert record.submitted_at == T0
    assert type(log[0]).TYPE == "elampid.submitted"
    if "fix" in path:
        fix = next(e for e in log if isinstance(e, FixRequested))
        assert fix.reasons == ("KTP ayah buram",)
        assert record.fix_reasons == ("KTP ayah buram",)
    if "delivery" in path:
        assert record.courier_ref == "POS-123"
    else:
        assert record.handover_slot == T0 + 86_400_000
    rebuilt = replay(log)
    assert rebuilt.applications == state.applications
    assert rebuilt.receipts == state.receipts == {ReceiptNumber("R-app-1"): AID}


def test_statuses_along_the_way() -> None:
    state, _ = _submitted()
    seen = [state.get(AID).status]
    deciders: tuple[Callable[[], list[Event]], ...] = (
        lambda: decide_request_fix(state, AID, reasons=["x"], actor="s", at=T0),
        lambda: decide_resubmit(state, AID, application=_app(), documents=all_documents(K), at=T0),
        lambda: decide_verify(state, AID, actor="s", at=T0),
        lambda: decide_issue(state, AID, actor="s", at=T0),
        lambda: decide_request_delivery(state, AID, at=T0),
        lambda: decide_deliver(state, AID, at=T0),
    )
    for decide in deciders:
        _run(state, decide())
        seen.append(state.get(AID).status)
    assert seen == [S.DIAJUKAN, S.PERLU_PERBAIKAN, S.DIAJUKAN, S.DIVERIFIKASI, S.TERBIT, S.DIKIRIM, S.SELESAI]


@pytest.mark.parametrize("after_fix", [False, True])
def test_cancel_from_diajukan_and_perlu_perbaikan(after_fix: bool) -> None:
    state, _ = _submitted()
    if after_fix:
        _run(state, decide_request_fix(state, AID, reasons=["x"], actor="s", at=T0))
    _run(state, decide_cancel(state, AID, at=T0 + 1, reason=" batal "))
    assert state.get(AID).status is S.DIBATALKAN
    with pytest.raises(InvalidApplicationTransition):
        decide_resubmit(state, AID, application=_app(), documents=all_documents(K), at=T0 + 2)


@pytest.mark.parametrize(
    ("path", "decide", "from_status", "to_status"),
    [
        ("", lambda s: decide_issue(s, AID, actor="s", at=T0), "diajukan", "terbit"),
        (
            "",
            lambda s: decide_resubmit(s, AID, application=_app(), documents=all_documents(K), at=T0),
            "diajukan",
            "diajukan",
        ),
        ("", lambda s: decide_hand_over(s, AID, actor="s", at=T0), "diajukan", "selesai"),
        ("verify_issue", lambda s: decide_cancel(s, AID, at=T0), "terbit", "dibatalkan"),
        ("verify_issue", lambda s: decide_verify(s, AID, actor="s", at=T0), "terbit", "diverifikasi"),
        ("verify_issue+handover", lambda s: decide_request_delivery(s, AID, at=T0), "selesai", "dikirim"),
        ("verify_issue+delivery", lambda s: decide_issue(s, AID, actor="s", at=T0), "selesai", "terbit"),
        ("fix", lambda s: decide_deliver(s, AID, at=T0), "diajukan", "selesai"),
    ],
)
def test_illegal_transitions_name_from_and_to(
    path: str, decide: Callable[[ApplicationState], list[Event]], from_status: str, to_status: str
) -> None:
    state, _ = _through(K, path) if path else _submitted()
    before = dict(state.applications)
    with pytest.raises(InvalidApplicationTransition) as info:
        decide(state)
    assert (info.value.from_status, info.value.to_status) == (from_status, to_status)
    assert state.applications == before


def test_hand_over_needs_a_slot_and_deliver_needs_delivery() -> None:
    state, _ = _through(K, "verify_issue")
    _run(state, decide_request_delivery(state, AID, at=T0))
    with pytest.raises(InvalidApplicationTransition):
        decide_hand_over(state, AID, actor="s", at=T0)
    state, _ = _through(K, "verify_issue")
    _run(state, decide_choose_handover_slot(state, AID, slot=T0, at=T0))
    with pytest.raises(InvalidApplicationTransition):
        decide_deliver(state, AID, at=T0)


def test_submit_rejections() -> None:
    state, _ = _submitted()
    kwargs = {"application": _app(), "documents": all_documents(K), "at": T0}
    with pytest.raises(DuplicateApplication):
        decide_submit(state, application_id=AID, receipt_number=ReceiptNumber("R-new"), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(DuplicateApplication):
        decide_submit(state, application_id=ApplicationId("app-2"), receipt_number=ReceiptNumber("R-app-1"), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(MissingDocuments) as info:
        decide_submit(
            state,
            application_id=ApplicationId("app-2"),
            receipt_number=ReceiptNumber("R-2"),
            application=_app(),
            documents=["kk", "ktp_ibu"],
            at=T0,
        )
    assert info.value.code == "missing_documents"
    assert info.value.documents == ["surat_keterangan_lahir", "ktp_ayah", "buku_nikah", "ktp_saksi_1", "ktp_saksi_2"]


def test_other_rejections_change_nothing() -> None:
    state, _ = _submitted()
    before = dict(state.applications)
    with pytest.raises(ApplicationNotFound) as nf:
        decide_verify(state, ApplicationId("nope"), actor="s", at=T0)
    assert nf.value.code == "application_not_found"
    with pytest.raises(InvalidElampidCommand):
        decide_request_fix(state, AID, reasons=[" ", ""], actor="s", at=T0)
    _run(state, decide_request_fix(state, AID, reasons=["x"], actor="s", at=T0))
    with pytest.raises(InvalidElampidCommand):
        decide_resubmit(state, AID, application=_app(M), documents=all_documents(M), at=T0)
    with pytest.raises(MissingDocuments):
        decide_resubmit(state, AID, application=_app(), documents=["kk"], at=T0)
    assert state.get(AID).status is S.PERLU_PERBAIKAN
    state2, _ = _through(K, "verify_issue")
    with pytest.raises(InvalidElampidCommand):
        decide_choose_handover_slot(state2, AID, slot=T0 - 1, at=T0)
    assert before[AID].status is S.DIAJUKAN


def test_resubmission_replaces_data_and_documents() -> None:
    state, _ = _submitted()
    _run(state, decide_request_fix(state, AID, reasons=["nama salah"], actor="s", at=T0))
    fixed = parse_application(K, birth_data(child_name="Nama Benar"), today=TODAY)
    _run(state, decide_resubmit(state, AID, application=fixed, documents=[*all_documents(K), "kk"], at=T0 + 9))
    record = state.get(AID)
    assert record.application == fixed
    assert record.documents == tuple(all_documents(K))
    assert record.updated_at == T0 + 9


def test_events_are_namespaced_and_versioned() -> None:
    types = [cls.TYPE for cls in EVENT_TYPES]
    assert len(set(types)) == len(types) == 13
    assert all(t.startswith("elampid.") for t in types)
    assert all(cls.VERSION == 1 for cls in EVENT_TYPES)
    assert ApplicationSubmitted.TYPE == "elampid.submitted"


# --------------------------------------------------------------------------- random histories

DECIDERS = {
    Action.VERIFY: lambda s, a, t: decide_verify(s, a, actor="s", at=t),
    Action.REQUEST_FIX: lambda s, a, t: decide_request_fix(s, a, reasons=["r"], actor="s", at=t),
    Action.RESUBMIT: lambda s, a, t: decide_resubmit(s, a, application=_app(), documents=all_documents(K), at=t),
    Action.ISSUE: lambda s, a, t: decide_issue(s, a, actor="s", at=t),
    Action.CHOOSE_HANDOVER_SLOT: lambda s, a, t: decide_choose_handover_slot(s, a, slot=t + 1, at=t),
    Action.REQUEST_DELIVERY: lambda s, a, t: decide_request_delivery(s, a, at=t),
    Action.HAND_OVER: lambda s, a, t: decide_hand_over(s, a, actor="s", at=t),
    Action.DELIVER: lambda s, a, t: decide_deliver(s, a, at=t),
    Action.CANCEL: lambda s, a, t: decide_cancel(s, a, at=t),
}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(list(Action))), max_size=40))
def test_replay_of_random_histories_equals_live_state(steps: list[tuple[int, Action]]) -> None:
    state, log = ApplicationState(), []
    ids = [ApplicationId(f"app-{i}") for i in range(3)]
    for i, aid in enumerate(ids):
        log += _run(
            state,
            decide_submit(
                state,
                application_id=aid,
                receipt_number=ReceiptNumber(f"R{i}"),
                application=_app(),
                documents=all_documents(K),
                at=T0,
            ),
        )
    for n, (index, action) in enumerate(steps):
        aid = ids[index]
        status = state.get(aid).status
        try:
            events = DECIDERS[action](state, aid, T0 + n)
        except InvalidApplicationTransition:
            assert action not in TRANSITIONS[status]
            continue
        assert state.get(aid).status is status  # deciding changed nothing
        log += _run(state, events)
        assert state.get(aid).status is TRANSITIONS[status][action]
    assert replay(log).applications == state.applications


# --------------------------------------------------------------------------- purity

PACKAGE = Path(__file__).resolve().parents[3] / "modules" / "elampid"
#: the module's I/O edges (storing uploads), outside the pure domain on purpose
IO_EDGES = {"uploads.py"}
FORBIDDEN_MODULES = {"time", "random", "secrets", "uuid", "asyncio", "sqlite3", "socket", "os", "subprocess", "io"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "uuid4", "open", "time_ns", "monotonic"}


@pytest.mark.parametrize(
    "path", sorted(p for p in PACKAGE.glob("*.py") if p.name not in IO_EDGES), ids=lambda p: p.name
)
def test_domain_reads_no_clock_randomness_or_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    called: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call):
            func = node.func
            called.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    assert not imported & FORBIDDEN_MODULES
    assert not called & FORBIDDEN_CALLS


# --------------------------------------------------------------------------- files, kelurahan, check-in, audit


def _files(kind: CertificateKind) -> list[DocumentFile]:
    return [DocumentFile(document=d, upload_id=f"u-{d}", content_type="application/pdf") for d in all_documents(kind)]


def test_submission_carries_its_kelurahan_pin_hash_and_files() -> None:
    state = ApplicationState()
    events = decide_submit(
        state,
        application_id=AID,
        receipt_number=ReceiptNumber("R-1"),
        application=_app(),
        documents=all_documents(K),
        at=T0,
        kelurahan="Ketabang",
        served=("Ketabang", "Genteng"),
        pin_hash="scrypt$…",
        files=_files(K),
    )
    replay(events, state)
    record = state.get(AID)
    assert (record.kelurahan, record.pin_hash) == ("Ketabang", "scrypt$…")
    kk = record.file("kk")
    assert kk is not None and kk.upload_id == "u-kk"
    assert record.file("ktp_almarhum") is None
    assert [(h.status, h.actor) for h in record.history] == [(S.DIAJUKAN, APPLICANT)]


def test_a_kelurahan_not_served_here_is_refused() -> None:
    with pytest.raises(InvalidApplication) as refused:
        decide_submit(
            ApplicationState(),
            application_id=AID,
            receipt_number=ReceiptNumber("R-1"),
            application=_app(),
            documents=all_documents(K),
            at=T0,
            kelurahan="Surabaya Utara",
            served=("Ketabang",),
        )
    assert refused.value.reasons == {"kelurahan": "invalid_choice"}


@pytest.mark.parametrize(
    "files",
    [
        [DocumentFile(document="ktp_almarhum", upload_id="u", content_type="application/pdf")],  # not of this kind
        [DocumentFile(document="kk", upload_id="u1", content_type="image/png")] * 2,  # two files for one document
        [DocumentFile(document="kk", upload_id="", content_type="image/png")],  # no upload
    ],
)
def test_files_must_each_stand_for_one_listed_document(files: list[DocumentFile]) -> None:
    with pytest.raises(InvalidElampidCommand):
        decide_submit(
            ApplicationState(),
            application_id=AID,
            receipt_number=ReceiptNumber("R-1"),
            application=_app(),
            documents=all_documents(K),
            at=T0,
            files=files,
        )


def test_resubmission_replaces_the_files_and_history_names_who_acted() -> None:
    state, _ = _submitted()
    replay(decide_request_fix(state, AID, reasons=["KK buram"], actor="petugas-1", at=Millis(T0 + 1)), state)
    new = [*_files(K)[:-1], DocumentFile(document="ktp_saksi_2", upload_id="u-new", content_type="image/jpeg")]
    replay(
        decide_resubmit(state, AID, application=_app(), documents=all_documents(K), files=new, at=Millis(T0 + 2)), state
    )
    record = state.get(AID)
    last = record.file("ktp_saksi_2")
    assert last is not None and last.upload_id == "u-new"
    assert [(h.status, h.actor) for h in record.history] == [
        (S.DIAJUKAN, APPLICANT),
        (S.PERLU_PERBAIKAN, "petugas-1"),
        (S.DIAJUKAN, APPLICANT),
    ]


def _ready(state: ApplicationState) -> None:
    replay(decide_verify(state, AID, actor="p", at=Millis(T0 + 1)), state)
    replay(decide_issue(state, AID, actor="p", at=Millis(T0 + 2)), state)
    replay(decide_choose_handover_slot(state, AID, slot=Millis(T0 + 3_600_000), at=Millis(T0 + 3)), state)


def test_check_in_links_one_ticket_once() -> None:
    state, _ = _submitted()
    with pytest.raises(InvalidApplicationTransition):
        decide_check_in(state, AID, ticket_id=TicketId("t1"), at=Millis(T0 + 1))
    _ready(state)
    events = decide_check_in(state, AID, ticket_id=TicketId("t1"), at=Millis(T0 + 4))
    assert [type(e) for e in events] == [HandoverCheckedIn]
    replay(events, state)
    assert state.get(AID).handover_ticket == "t1" and state.tickets == {"t1": AID}
    assert state.get(AID).status is S.SIAP_DIAMBIL  # checking in is not a status change
    assert decide_check_in(state, AID, ticket_id=TicketId("t1"), at=Millis(T0 + 5)) == []  # scanned again
    with pytest.raises(InvalidElampidCommand):
        decide_check_in(state, AID, ticket_id=TicketId("t2"), at=Millis(T0 + 5))


def test_every_view_of_personal_data_is_recorded() -> None:
    state, _ = _submitted()
    replay(decide_view(state, AID, actor="petugas-1", what="application", at=Millis(T0 + 1)), state)
    replay(decide_view(state, AID, actor="petugas-1", what="document:kk", at=Millis(T0 + 2)), state)
    assert [(e.actor, e.what, e.at) for e in state.audit] == [
        ("petugas-1", "application", T0 + 1),
        ("petugas-1", "document:kk", T0 + 2),
    ]
    assert state.get(AID).updated_at == T0  # a view changes nothing of the application
    with pytest.raises(InvalidElampidCommand):
        decide_view(state, AID, actor="", what="application", at=Millis(T0 + 3))
    with pytest.raises(InvalidElampidCommand):
        decide_view(state, AID, actor="p", what="", at=Millis(T0 + 3))
    with pytest.raises(ApplicationNotFound):
        decide_view(state, ApplicationId("nope"), actor="p", what="application", at=Millis(T0 + 3))


def test_courier_updates_only_while_out_for_delivery() -> None:
    state, _ = _submitted()
    with pytest.raises(InvalidApplicationTransition):
        decide_update_delivery(state, AID, note="x", courier_ref="", actor="p", at=Millis(T0 + 1))
    replay(decide_verify(state, AID, actor="p", at=Millis(T0 + 1)), state)
    replay(decide_issue(state, AID, actor="p", at=Millis(T0 + 2)), state)
    replay(decide_request_delivery(state, AID, at=Millis(T0 + 3)), state)
    with pytest.raises(InvalidElampidCommand):
        decide_update_delivery(state, AID, note=" ", courier_ref="", actor="p", at=Millis(T0 + 4))
    replay(decide_update_delivery(state, AID, note=" Dikirim ", courier_ref="R-1", actor="p", at=Millis(T0 + 4)), state)
    replay(
        decide_update_delivery(state, AID, note="Sampai di kantor pos", courier_ref="", actor="p", at=Millis(T0 + 5)),
        state,
    )
    record = state.get(AID)
    assert record.status is S.DIKIRIM and record.courier_ref == "R-1"
    assert [(u.at, u.note) for u in record.courier_updates] == [(T0 + 4, "Dikirim"), (T0 + 5, "Sampai di kantor pos")]


def test_another_slot_may_be_chosen_until_check_in() -> None:
    state, _ = _submitted()
    _ready(state)
    first = state.get(AID).handover_slot
    replay(decide_choose_handover_slot(state, AID, slot=Millis(T0 + 7_200_000), at=Millis(T0 + 5)), state)
    record = state.get(AID)
    assert record.handover_slot == T0 + 7_200_000 != first
    assert [h.status for h in record.history].count(S.SIAP_DIAMBIL) == 1  # one step, whatever the slots
    replay(decide_check_in(state, AID, ticket_id=TicketId("t1"), at=Millis(T0 + 6)), state)
    with pytest.raises(InvalidElampidCommand):
        decide_choose_handover_slot(state, AID, slot=Millis(T0 + 9_000_000), at=Millis(T0 + 7))
