"""Every request parser, fed anything JSON can carry: a valid value or the parser's documented error, never another.

The documented errors: :class:`web.errors.ApiError` with a code of :data:`web.errors.MESSAGES`
(``web.schemas``, the ``Idempotency-Key`` header), a :class:`~queue_engine.domain.errors.DomainError`
subclass (e-Lampid's application, NIK and KK checks and uploads, notify's phone numbers, BPJS
visits), ``Gagal`` (Mobile JKN's bodies, answered the BPJS way) and ``ValueError`` (a webhooks
subscription in the facility file, refused at start). Inputs are what ``orjson`` can hand a parser:
``None``, booleans, 64-bit integers, finite floats, strings without lone surrogates, lists and
objects; mixed with plausible values (real enum values, digit strings, dates) so that the checks
past the first ones are reached too.
"""

from __future__ import annotations

import os
import string
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import orjson
import pytest
from hypothesis import given, settings, strategies as st
from starlette.requests import Request

from modules.bpjs import mobilejkn
from modules.bpjs.module import InvalidVisit, Visit, check_visit
from modules.elampid.application import BirthApplication, CertificateKind, DeathApplication, parse_application
from modules.elampid.errors import InvalidApplication, InvalidKk, InvalidNik
from modules.elampid.identity import PROVINCE_CODES, check_kk, check_nik
from modules.elampid.uploads import KINDS, UploadRejected, sniff
from modules.notify.module import InvalidPhone, normalise_phone
from modules.webhooks.module import PUBLIC_TYPES, Subscription, WebhooksModule, subscription
from queue_engine.clock import SequentialIds
from queue_engine.domain import commands as c
from queue_engine.domain.errors import DomainError
from queue_engine.domain.ids import CounterId, TicketId
from queue_engine.domain.model import Channel, Payer, Priority
from web import schemas
from web.api.common import IDEMPOTENCY_HEADER, keyed
from web.api.counters import ACTIONS as COUNTER_ACTIONS
from web.api.staff import ACTIONS as TICKET_ACTIONS
from web.auth import same_secret
from web.errors import MESSAGES, ApiError

T = TypeVar("T")
E = TypeVar("E", bound=Exception)
TODAY = date(2026, 11, 26)
#: examples per property: Hypothesis's 100 in CI; the nightly run sets ANTRE_FUZZ_EXAMPLES=2000
EXAMPLES = int(os.environ.get("ANTRE_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None)
pytestmark = pytest.mark.timeout(max(120, EXAMPLES // 4))

# --------------------------------------------------------------------------- JSON-ish inputs

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
#: two levels of nesting are enough (every parser checks a value's type first); st.recursive made
#: Hypothesis report FlakyStrategyDefinition on long runs
NESTED = SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(st.text(max_size=10), SCALARS, max_size=3)
JSON = SCALARS | st.lists(NESTED, max_size=4) | st.dictionaries(st.text(max_size=10), NESTED, max_size=4)
DIGITS = st.text(string.digits, min_size=0, max_size=20)


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(string.digits, min_size=n, max_size=n)


def nik_like() -> st.SearchStrategy[str]:
    """16 digits that often pass the early checks: a real province, a plausible date of birth."""
    return st.builds(
        lambda province, rest, day, month, yy, serial: f"{province}{rest}{day:02d}{month:02d}{yy:02d}{serial}",
        st.sampled_from(sorted(PROVINCE_CODES)) | digits(2),
        digits(4),
        st.integers(0, 99),
        st.integers(0, 13),
        st.integers(0, 99),
        digits(4),
    )


def body(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with some of ``fields`` (a plausible value or any JSON), now and then an unknown key."""
    optional = {name: plausible | JSON for name, plausible in fields.items()}
    extra = st.dictionaries(st.text(max_size=10), JSON, max_size=1)
    return st.builds(lambda known, more: {**more, **known}, st.fixed_dictionaries({}, optional=optional), extra)


def outcome(call: Callable[[], T], error: type[E]) -> T | E:
    """``call()``'s value, or the error it raised if it is an ``error`` (anything else fails the test)."""
    try:
        return call()
    except error as exc:
        return exc


def documented(error: ApiError, *codes: str) -> bool:
    """``error`` has a code of :data:`~web.errors.MESSAGES` (one of ``codes``, if given)."""
    assert error.code in MESSAGES
    assert not codes or error.code in codes, error.code
    return True


# --------------------------------------------------------------------------- web.schemas


CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "application/problem+json", "text/plain"]


@FUZZ
@given(
    raw=st.binary(max_size=200) | JSON.map(orjson.dumps),
    content_type=st.none() | st.text(max_size=30) | st.sampled_from(CONTENT_TYPES),
)
def test_parse_json(raw: bytes, content_type: str | None) -> None:
    result = outcome(lambda: schemas.parse_json(raw, content_type), ApiError)
    if isinstance(result, ApiError):
        assert documented(result, "invalid_json", "invalid_body")
    else:
        assert isinstance(result, dict)
        assert result == ({} if not raw.strip() else orjson.loads(raw))


@FUZZ
@given(
    data=st.dictionaries(st.text(max_size=10), JSON, max_size=4), name=st.text(max_size=5), max_len=st.integers(0, 50)
)
def test_field_helpers(data: dict[str, Any], name: str, max_len: int) -> None:
    if data and name not in data:
        name = next(iter(data))
    text = outcome(lambda: schemas.text(data, name, max_len=max_len), ApiError)
    assert text is None or (documented(text, "invalid_body") if isinstance(text, ApiError) else len(text) <= max_len)
    flag = outcome(lambda: schemas.flag(data, name), ApiError)
    assert documented(flag, "invalid_body") if isinstance(flag, ApiError) else isinstance(flag, bool)
    millis = outcome(lambda: schemas.millis(data, name), ApiError)
    assert millis is None or (
        documented(millis, "invalid_body") if isinstance(millis, ApiError) else 0 <= millis <= schemas.MAX_MILLIS
    )
    choice = outcome(lambda: schemas.choice(data, name, Priority, Priority.UMUM), ApiError)
    assert documented(choice, "invalid_body") if isinstance(choice, ApiError) else isinstance(choice, Priority)
    only = outcome(lambda: schemas.only(data, ("service", "reason")), ApiError)
    assert documented(only, "invalid_body") if isinstance(only, ApiError) else set(data) <= {"service", "reason"}


ISSUE_FIELDS = {
    "service": st.sampled_from(["LOKET", "UMUM", ""]) | st.text(max_size=70),
    "priority": st.sampled_from([p.value for p in Priority]),
    "payer": st.sampled_from([p.value for p in Payer]),
    "appointment_at": st.integers(-1, schemas.MAX_MILLIS + 1),
    "idempotency_key": st.text(min_size=14, max_size=130),
}


@FUZZ
@given(data=body(ISSUE_FIELDS), channel=st.sampled_from(Channel))
def test_issue_ticket(data: dict[str, Any], channel: Channel) -> None:
    ids = SequentialIds()
    result = outcome(lambda: schemas.issue_ticket(data, at=0, ids=ids, channel=channel, key_scope="kiosk:k1"), ApiError)
    if isinstance(result, ApiError):
        assert documented(result, "invalid_body")
        return
    assert set(data) <= set(ISSUE_FIELDS)
    assert result.service == data["service"] and len(result.service) <= schemas.MAX_ID
    assert result.channel is channel and isinstance(result.priority, Priority) and isinstance(result.payer, Payer)
    assert result.appointment_at is None or 0 <= result.appointment_at <= schemas.MAX_MILLIS
    assert result.idempotency_key is None or result.idempotency_key == f"kiosk:k1:{data['idempotency_key']}"


COMMAND_FIELDS = {
    "reason": st.text(max_size=210),
    "complete_current": st.booleans(),
    "ticket_id": st.sampled_from(["t1", ""]) | st.text(max_size=70),
    "next_service": st.sampled_from(["POLI", ""]),
    "to_service": st.sampled_from(["POLI", ""]),
}


@FUZZ
@given(action=st.sampled_from(sorted(set(COUNTER_ACTIONS) - {"undo"})), data=body(COMMAND_FIELDS))
def test_counter_command(action: str, data: dict[str, Any]) -> None:
    result = outcome(
        lambda: schemas.counter_command(action, data, at=0, counter=CounterId("L1"), actor="admin"), ApiError
    )
    if isinstance(result, ApiError):
        assert documented(result, "invalid_body")
    else:
        assert getattr(result, "counter", None) == "L1"


@FUZZ
@given(action=st.sampled_from(sorted(TICKET_ACTIONS)), data=body(COMMAND_FIELDS))
def test_ticket_command(action: str, data: dict[str, Any]) -> None:
    result = outcome(
        lambda: schemas.ticket_command(action, data, at=0, ticket_id=TicketId("t1"), actor="admin"), ApiError
    )
    if isinstance(result, ApiError):
        assert documented(result, "invalid_body")
    else:
        assert getattr(result, "ticket_id", None) == "t1"


@FUZZ
@given(data=body({"username": st.text(max_size=70), "password": st.text(max_size=260)}))
def test_credentials(data: dict[str, Any]) -> None:
    result = outcome(lambda: schemas.credentials(data), ApiError)
    if isinstance(result, ApiError):
        assert documented(result, "invalid_body")
    else:
        username, password = result
        assert (username, password) == (data["username"], data["password"])


def _request(headers: list[tuple[bytes, bytes]]) -> Request[Any]:
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""})


@FUZZ
@given(key=st.binary(max_size=140) | st.text(string.printable, min_size=14, max_size=130).map(str.encode))
def test_idempotency_key_header(key: bytes) -> None:
    command = c.Recall(at=0, counter=CounterId("L1"), actor="admin")
    result = outcome(lambda: keyed(_request([(IDEMPOTENCY_HEADER.lower().encode(), key)]), command), ApiError)
    if isinstance(result, ApiError):
        assert documented(result, "invalid_body")
    else:
        assert isinstance(result, c.Keyed) and result.command == command
        assert result.key.endswith(key.decode("latin-1"))


@FUZZ
@given(
    expected=st.text(max_size=40),
    given_=st.text(max_size=40) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)
def test_same_secret_takes_any_characters(expected: str, given_: str) -> None:
    """Regression: a CSRF header with a byte >= 0x80 was a 500 (``hmac.compare_digest`` on non-ASCII str)."""
    assert same_secret(expected, given_) is (expected == given_)
    assert same_secret(given_, given_)


# --------------------------------------------------------------------------- e-Lampid


@FUZZ
@given(nik=nik_like() | st.text(max_size=20), female=st.none() | st.booleans(), born=st.none() | st.dates())
def test_check_nik(nik: str, female: bool | None, born: date | None) -> None:
    result = outcome(lambda: check_nik(nik, female=female, birth_date=born), InvalidNik)
    if isinstance(result, InvalidNik):
        assert isinstance(result, DomainError) and result.code == "invalid_nik"
        return
    assert result.value == nik and nik[:2] in PROVINCE_CODES and 1 <= result.birth_month <= 12
    assert female is None or result.female is female
    assert nik not in repr(result)  # personal data stays out of reprs


@FUZZ
@given(value=JSON | nik_like())
def test_check_nik_and_kk_take_any_json(value: Any) -> None:
    nik = outcome(lambda: check_nik(value), InvalidNik)
    assert isinstance(nik, InvalidNik) or nik.value == value
    kk = outcome(lambda: check_kk(value), InvalidKk)
    assert isinstance(kk, InvalidKk) or kk.value == value


PEOPLE = ("mother", "father", "reporter", "witness1", "witness2", "deceased")
FIELD_NAMES = (
    *(f"{person}_{part}" for person in PEOPLE for part in ("nik", "name")),
    *("child_name", "birth_date", "birth_place", "child_sex", "kk_number", "reporter_relation"),
    *("death_date", "death_place", "cause"),
)


def _plausible(name: str) -> st.SearchStrategy[Any]:
    if name.endswith("_nik") or name == "kk_number":
        return nik_like()
    if name.endswith("_date"):
        return st.dates(date(1890, 1, 1), date(2030, 1, 1)).map(date.isoformat) | st.text(max_size=12)
    if name == "child_sex":
        return st.sampled_from(["L", "P", "l", " p ", "X", ""])
    return st.text(max_size=110)


@FUZZ
@given(
    kind=st.sampled_from([k.value for k in CertificateKind]) | st.text(max_size=10),
    data=body({name: _plausible(name) for name in FIELD_NAMES}),
)
def test_parse_application(kind: str, data: dict[str, Any]) -> None:
    result = outcome(lambda: parse_application(kind, data, today=TODAY), InvalidApplication)
    if isinstance(result, InvalidApplication):
        assert result.code == "invalid_application" and result.fields
        assert all(isinstance(reason, str) for reason in result.reasons.values())
        return
    assert isinstance(result, BirthApplication | DeathApplication)
    assert kind == result.KIND


@FUZZ
@given(
    data=st.binary(max_size=64)
    | st.sampled_from([m for m, _ in KINDS.values()]).flatmap(
        lambda magic: st.binary(max_size=64).map(lambda rest: magic + rest)
    ),
    name=st.text(max_size=20) | st.sampled_from(["scan.pdf", "foto.JPG", "x.png", "a.exe"]),
)
def test_sniff_upload(data: bytes, name: str) -> None:
    result = outcome(lambda: sniff(data, name, max_bytes=48), UploadRejected)
    assert isinstance(result, UploadRejected) or (result in KINDS and data.startswith(KINDS[result][0]))


# --------------------------------------------------------------------------- notify


@FUZZ
@given(
    raw=st.text(max_size=40)
    | st.builds(
        lambda prefix, number, sep: prefix + sep.join([number[:4], number[4:]]),
        st.sampled_from(["08", "+628", "628", "8", "+62 8", "0"]),
        DIGITS,
        st.sampled_from(["", " ", "-", ".", "/", "\t", "\u00a0"]),
    )
)
def test_normalise_phone(raw: str) -> None:
    result = outcome(lambda: normalise_phone(raw), InvalidPhone)
    if isinstance(result, InvalidPhone):
        assert result.code == "invalid_phone" and result.params == {"field": "phone"}  # never the number
        return
    assert result.startswith("+628") and result[1:].isdigit() and 12 <= len(result) <= 15


# --------------------------------------------------------------------------- BPJS


VISIT_FIELDS = {
    "nomorkartu": digits(13) | st.integers(0, 10**14),
    "nik": nik_like() | st.integers(0, 10**17),
    "nohp": st.sampled_from(["081234567890", "+62 812-3456-7890", "12345"]),
    "jeniskunjungan": st.sampled_from(["1", "4", "5", "", " 2 "]) | st.integers(-1, 6),
    "nomorreferensi": st.text(max_size=45),
    "norm": st.text(max_size=35),
    "tanggalperiksa": st.dates().map(date.isoformat) | st.text("0123456789-", max_size=12),
    "jampraktek": st.text("0123456789:- ", max_size=14),
}


@FUZZ
@given(data=body(VISIT_FIELDS))
def test_mobilejkn_bodies(data: dict[str, Any]) -> None:
    visit = outcome(lambda: mobilejkn._visit(data), mobilejkn.Gagal)
    assert isinstance(visit, mobilejkn.Gagal) or (len(visit.nik) == 16 and visit.jeniskunjungan in (1, 2, 3, 4))
    day = outcome(lambda: mobilejkn._date(data, "tanggalperiksa"), mobilejkn.Gagal)
    assert isinstance(day, mobilejkn.Gagal | date)
    hours = data.get("jampraktek")
    if isinstance(hours, str):
        window = outcome(lambda: mobilejkn._window(hours, "jampraktek"), mobilejkn.Gagal)
        assert isinstance(window, mobilejkn.Gagal) or 0 <= window[0] < window[1] <= 24 * 60


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {
            "kodebooking": st.text(max_size=40),
            "jenispasien": st.sampled_from(["JKN", "NON JKN", "jkn", ""]),
            "nik": nik_like() | st.text(max_size=18),
            "nomorkartu": digits(13) | st.text(max_size=14),
            "nomorreferensi": st.text(max_size=10),
            "pasienbaru": st.integers(-1, 2),
            "jeniskunjungan": st.integers(0, 5),
        }
    ),
    variant=st.sampled_from(["rs", "fktp"]),
)
def test_check_visit(fields: dict[str, Any], variant: str) -> None:
    visit = Visit(ticket_id=TicketId("t1"), **fields)
    result = outcome(lambda: check_visit(visit, variant=variant), InvalidVisit)
    assert result is None or (isinstance(result, InvalidVisit) and set(result.params["fields"]) <= set(fields))


# --------------------------------------------------------------------------- webhooks


SUBSCRIPTION_FIELDS = {
    "id": st.sampled_from(["simrs", "a", "-x", "UPPER"]) | st.text(max_size=45),
    "url": st.sampled_from(
        ["https://simrs.example/hook", "http://[::1]:80/x", "http://h:99999/", "ftp://h/", "http://u:p@h/"]
    )
    | st.text(max_size=30),
    "events": st.lists(st.sampled_from([*sorted(PUBLIC_TYPES), "ticket.*", "bpjs.*", "x"]) | JSON, max_size=3) | JSON,
    "secret_env": st.sampled_from(["ANTRE_WEBHOOK_SECRET", "lower", ""]) | st.text(max_size=10),
    "secret": st.text(max_size=5),
}


@FUZZ
@given(raw=body(SUBSCRIPTION_FIELDS) | JSON)
def test_webhook_subscription(raw: Any) -> None:
    result = outcome(lambda: subscription(raw), ValueError)
    if isinstance(result, ValueError):
        secret = raw.get("secret") if isinstance(raw, dict) else None
        assert not isinstance(secret, str) or len(secret) < 3 or secret not in str(result)  # never echoes a secret
        return
    assert isinstance(result, Subscription) and "secret" not in raw
    assert result.events and all(p in PUBLIC_TYPES or p.endswith(".*") for p in result.events)
    assert result.url.startswith(("http://", "https://"))


@FUZZ
@given(subscriptions=st.lists(body(SUBSCRIPTION_FIELDS), max_size=3) | JSON)
def test_webhooks_module_options(subscriptions: Any) -> None:
    result = outcome(lambda: WebhooksModule(subscriptions=subscriptions), ValueError)
    assert isinstance(result, ValueError | WebhooksModule)


@pytest.mark.parametrize("value", ["é", "\x80\xff", "token-with-ü"])
def test_csrf_header_with_high_bytes_is_refused_not_a_crash(value: str) -> None:
    """The fuzzer's find, pinned: ``X-CSRF-Token`` with bytes >= 0x80 answers 403 ``csrf_failed``."""
    from ..web.conftest import api_client, login

    with api_client() as client:
        login(client, "admin")
        headers = [(b"x-csrf-token", value.encode("latin-1", "replace"))]
        response = client.post("/api/v1/counters/loket-1/open", headers=headers)
        assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
