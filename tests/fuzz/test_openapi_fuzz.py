"""Schemathesis against the OpenAPI document a running app serves: no server error, every error documented.

Two apps, each started once for this module (lifespan run, memory log, a manual clock that moves
one second per request, so rate limits and undo windows pass as they would): the demo puskesmas,
and the demo kecamatan office with e-Lampid plus the BPJS, webhooks and notify modules. Each
app's document is fetched from the app itself (``GET /api/v1/openapi.json``) and loaded with
:func:`schemathesis.openapi.from_dict`; every operation is one test whose cases Hypothesis draws
from the operation's schemathesis strategy, valid per the document (positive) and not (negative).

A case is sent as one persona: anonymous (with whatever random credentials schemathesis made
up), a kiosk or display device token, the metrics token, a staff or admin session (cookie and
``X-CSRF-Token``), the same session without its CSRF header, or an e-Lampid applicant's session;
the admin half of the time (it may do most), and one case in four with its token forged (any
bytes a header may carry). Path parameters and id fields of the body are, half of the time,
replaced by real ones (the facility's counters, displays and services, tickets issued at start,
an e-Lampid receipt), so cases reach past 401 and 404 into the engine.

Asserted of every response:

* no 5xx, except a 503 the operation documents (the log unavailable: never, on a memory log);
* an error (4xx, 5xx) is JSON ``{code, message_id, message_en}``, its code is in the document's
  ``Error.code`` enum, and its status is one the operation documents;
* schemathesis's checks: status code, content type and response schema conformance.

How many cases per operation: ``ANTRE_FUZZ_EXAMPLES`` (default 25, derandomized so that CI runs
the same cases every time: about 20 s for both apps on the 2-core CI machine). The nightly run
draws fresh random cases (2000 per operation, with ``test_parsers.py``: 29 minutes there)::

    ANTRE_FUZZ_EXAMPLES=2000 python -m pytest tests/fuzz -p no:cacheprovider
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, note, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from modules.bpjs.module import BpjsModule
from modules.elampid import REQUIRED_DOCUMENTS, CertificateKind
from modules.notify.module import NotifyModule
from modules.webhooks.module import WebhooksModule
from queue_engine.clock import ManualClock, SequentialIds
from queue_engine.config import load_facility
from queue_engine.domain.model import Facility
from queue_engine.log.memory import MemoryLog
from web.api import endpoints
from web.app import create_app
from web.auth import Accounts
from web.modules import load_web_modules

from ..modules.elampid import web_support as lampid
from ..web.conftest import METRICS_TOKEN, PASSWORDS, START, fast_accounts, make_settings

EXAMPLES = int(os.environ.get("ANTRE_FUZZ_EXAMPLES", "25"))
#: CI replays the same cases (a red CI is a real regression); a run with ANTRE_FUZZ_EXAMPLES set explores
DERANDOMIZE = "ANTRE_FUZZ_EXAMPLES" not in os.environ
#: the per-test timeout grows with the number of cases (pyproject's 120 s is for the CI run)
pytestmark = pytest.mark.timeout(max(120, EXAMPLES // 4))
#: one request moves the app's clock this far
TICK_MS = 1_000
DOCUMENT = "/api/v1/openapi.json"


def _always_open(facility: Facility) -> Facility:
    """Services open around the clock, as ``antre serve`` runs the demos."""
    return replace(facility, services={k: replace(v, hours={}) for k, v in facility.services.items()})


def puskesmas() -> Facility:
    return _always_open(load_facility(None))


def kecamatan_with_modules() -> Facility:
    """The demo kecamatan office (e-Lampid) with BPJS, webhooks and notifications enabled too."""
    facility = lampid.kelurahan_facility()
    poli = {
        "kodepoli": "ADM",
        "namapoli": "Administrasi",
        "kodedokter": 1,
        "namadokter": "-",
        "jampraktek": "08:00-15:00",
    }
    extra = (
        BpjsModule(variant="fktp", registration=["DOKUMEN"], poli={"ADMIN": poli}),  # no base_url: nothing is sent
        WebhooksModule(
            subscriptions=[
                {
                    "id": "simrs",
                    "url": "http://127.0.0.1:9/hook",
                    "events": ["ticket.*"],
                    "secret_env": "ANTRE_FUZZ_NONE",
                }
            ]
        ),
        NotifyModule(),  # no gateway_url: notices are only logged
    )
    return replace(facility, modules=(*facility.modules, *extra))


FACILITIES: dict[str, Callable[[], Facility]] = {"puskesmas": puskesmas, "modules": kecamatan_with_modules}


def _operations(app: str) -> list[tuple[str, str, str]]:
    """``(app, method, path)`` of every documented operation, from the endpoint table (no app started)."""
    facility = FACILITIES[app]()
    return [(app, e.method, e.path) for e in endpoints(load_web_modules(facility))]


OPERATIONS = [op for app in FACILITIES for op in _operations(app)]


# --------------------------------------------------------------------------- the running apps


@dataclass(kw_only=True)
class Target:
    """A running app, its served document loaded by schemathesis, and who may call it."""

    client: TestClient
    clock: ManualClock
    schema: Any
    #: the ``Error.code`` enum of the served document
    codes: frozenset[str]
    #: persona -> the headers it sends (cookie included)
    personas: dict[str, dict[str, str]]
    #: path parameter -> real values to put in
    known: dict[str, tuple[str, ...]]
    #: a body's id field -> real values to put in
    body_values: dict[str, tuple[str, ...]]


def _session(client: TestClient, path: str, body: dict[str, str]) -> dict[str, str]:
    """Log in (or unlock) on a clean cookie jar: the headers of that session (cookie and CSRF token)."""
    client.cookies.clear()
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    cookie = client.cookies["antre_session"]
    client.cookies.clear()
    return {"Cookie": f"antre_session={cookie}", "X-CSRF-Token": response.json()["csrf"]}


def _issue(client: TestClient, admin: dict[str, str], services: Sequence[str]) -> tuple[list[str], list[str]]:
    """Tickets issued by the admin, two per service: their tokens and ids."""
    tokens, ids = [], []
    for code in [*services, *services]:
        response = client.post("/api/v1/tickets", json={"service": code}, headers=admin)
        assert response.status_code == 201, response.text
        tokens.append(response.json()["token"])
        ids.append(response.json()["ticket_id"])
    client.cookies.clear()
    return tokens, ids


def _personas(client: TestClient, users: dict[str, str]) -> dict[str, dict[str, str]]:
    devices = {"kiosk": "kiosk-demo", "display": "papan-demo", "metrics": METRICS_TOKEN}
    personas: dict[str, dict[str, str]] = {"anonymous": {}}
    for name, token in devices.items():
        personas[name] = {"Authorization": f"Bearer {token}"}
    for username, password in users.items():
        personas[username] = _session(client, "/api/v1/auth/login", {"username": username, "password": password})
    personas["admin-without-csrf"] = {"Cookie": personas["admin"]["Cookie"]}
    return personas


@contextmanager
def running(
    facility: Facility, accounts: Accounts, users: dict[str, str], data_dir: Path
) -> Iterator[tuple[Target, TestClient]]:
    """The app started, its document loaded, personas logged in, counters open and tickets issued."""
    clock = ManualClock(START)
    app = create_app(
        make_settings(data_dir=str(data_dir)),
        log=MemoryLog(),
        clock=clock,
        ids=SequentialIds(),
        facility=facility,
        accounts=accounts,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(DOCUMENT)
        assert response.status_code == 200
        document = response.json()
        personas = _personas(client, users)
        for counter in facility.counters:
            opened = client.post(f"/api/v1/counters/{counter}/open", headers=personas["admin"])
            assert opened.status_code == 200, opened.text
        services = list(facility.services)
        tokens, ids = _issue(client, personas["admin"], services)
        target = Target(
            client=client,
            clock=clock,
            schema=schemathesis.openapi.from_dict(document),
            codes=frozenset(document["components"]["schemas"]["Error"]["properties"]["code"]["enum"]),
            personas=personas,
            known={
                "counter_id": tuple(facility.counters),
                "display_id": tuple(d.id for d in facility.displays),
                "token": tuple(tokens),
                "ticket_id": tuple(ids),
            },
            body_values={
                "service": tuple(services),
                "next_service": tuple(services),
                "to_service": tuple(services),
                "ticket_id": tuple(ids),
            },
        )
        yield target, client


@contextmanager
def puskesmas_target(data_dir: Path) -> Iterator[Target]:
    users = {name: PASSWORDS[name] for name in ("admin", "petugas-loket")}
    with running(puskesmas(), fast_accounts(), users, data_dir) as (target, _):
        yield target


@contextmanager
def modules_target(data_dir: Path) -> Iterator[Target]:
    users = {name: lampid.PASSWORD[name] for name in ("admin", "petugas-ketabang")}
    with running(kecamatan_with_modules(), lampid.kelurahan_accounts(), users, data_dir) as (target, client):
        receipt = lampid.apply(client, CertificateKind.KELAHIRAN)
        body = {"receipt_number": receipt["receipt_number"], "pin": receipt["pin"]}
        target.personas["applicant"] = _session(client, "/api/v1/lampid/access", body)
        target.known["receipt"] = (receipt["receipt_number"],)
        target.known["document"] = tuple(d.id for d in REQUIRED_DOCUMENTS[CertificateKind.KELAHIRAN])
        target.known["id"] = ("simrs",)
        yield target


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Target]]:
    """Both apps, started once for the module (the outbox workers off: nothing leaves the machine)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANTRE_OUTBOX", "off")
        with (
            puskesmas_target(tmp_path_factory.mktemp("puskesmas")) as first,
            modules_target(tmp_path_factory.mktemp("modules")) as second,
        ):
            yield {"puskesmas": first, "modules": second}


# --------------------------------------------------------------------------- sending and checking


def _rereadable(value: bytes) -> bool:
    """schemathesis re-reads a request's headers through requests, which refuses a value that starts
    with whitespace once decoded (NBSP, NEL: as Latin-1 or as UTF-8)."""
    return not any(value.decode(encoding, "replace")[:1].isspace() for encoding in ("latin-1", "utf-8"))


#: what a header value may hold on the wire (RFC 9110 field-value: visible ASCII, space, tab, obs-text)
HEADER_BYTES = (
    st.lists(st.sampled_from([9, *range(0x20, 0x7F), *range(0x80, 0x100)]).map(lambda b: bytes([b])), max_size=40)
    .map(lambda parts: b"".join(parts).strip())
    .filter(_rereadable)
)


@st.composite
def credentials(draw: st.DrawFn, target: Target) -> tuple[str, dict[str, str | bytes]]:
    """A persona's headers (the admin, who may do most, half of the time); one time in four with a
    forged token (any bytes a header may carry)."""
    persona = draw(st.one_of(st.just("admin"), st.sampled_from(sorted(target.personas))))
    headers: dict[str, str | bytes] = dict(target.personas[persona])
    if draw(st.integers(0, 3)) == 3:  # not 0: Hypothesis draws the simplest value (0) far more often than 1 in 4
        forged = draw(HEADER_BYTES, label="forged")
        if "Cookie" in headers:
            headers["X-CSRF-Token"] = forged
        else:
            headers["Authorization"] = b"Bearer " + forged
        persona += " (forged)"
    return persona, headers


def _realistic(target: Target, case: Any, data: st.DataObject) -> None:
    """Half of the time, each path parameter or id field of the body becomes a real one."""
    for name, values in target.known.items():
        if "{" + name + "}" in case.path and data.draw(st.booleans(), label=f"real {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(values), label=name)
    if isinstance(case.body, dict):
        for field, values in target.body_values.items():
            if field in case.body and data.draw(st.booleans(), label=f"real {field}"):
                case.body[field] = data.draw(st.sampled_from(values), label=field)


def _send(target: Target, case: Any, persona: str, chosen: dict[str, str | bytes]) -> Any:
    """The case through the app's TestClient, with the persona's credentials replacing made-up ones."""
    kwargs = case.as_transport_kwargs(base_url=str(target.client.base_url))
    headers: dict[str, str | bytes] = dict(kwargs["headers"])
    cookies: dict[str, str] = kwargs.get("cookies") or {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if chosen:
        for name in ("Authorization", "Cookie", "X-CSRF-Token"):
            headers.pop(name, None)
        headers.update(chosen)
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), bytes | str):
        body["content"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        body["data"] = kwargs["data"]
    raw = [(k.encode("latin-1"), v if isinstance(v, bytes) else v.encode("latin-1")) for k, v in headers.items()]
    target.client.cookies.clear()
    target.clock.advance(TICK_MS)
    response = target.client.request(
        kwargs["method"], kwargs["url"], headers=raw, params=kwargs.get("params") or None, **body
    )
    target.client.cookies.clear()  # a Set-Cookie (a fuzzed login, say) must not leak into the next case
    shown = {k: v for k, v in headers.items() if k not in ("Cookie", "User-Agent", "Accept", "Accept-Encoding")}
    note(f"as {persona}: {kwargs['method']} {response.request.url} headers={shown} body={body!r}")
    return response


def _check(target: Target, case: Any, response: Any) -> None:
    status = response.status_code
    documented = set(case.operation.definition.raw["responses"])
    where = f"{case.method} {case.formatted_path} -> {status}: {response.text[:500]}"
    assert status < 500 or (status == 503 and "503" in documented), f"server error: {where}"
    if status >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), where
        body = response.json()
        assert isinstance(body, dict), where
        assert all(isinstance(body.get(k), str) for k in ("code", "message_id", "message_en")), where
        assert body["code"] in target.codes, f"undocumented error code: {where}"
        assert str(status) in documented, f"undocumented status: {where}"
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )


@pytest.mark.parametrize(("app", "method", "path"), OPERATIONS, ids=[f"{a}:{m} {p}" for a, m, p in OPERATIONS])
def test_operation(targets: dict[str, Target], app: str, method: str, path: str) -> None:
    target = targets[app]
    operation = target.schema[path][method]
    modes = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=DERANDOMIZE,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no "explain": slow, and it tripped
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(case=modes, who=credentials(target), data=st.data())
    def fuzz(case: Any, who: tuple[str, dict[str, str | bytes]], data: st.DataObject) -> None:
        _realistic(target, case, data)
        _check(target, case, _send(target, case, *who))

    fuzz()


def test_every_served_operation_is_fuzzed(targets: dict[str, Target]) -> None:
    """The parametrized list (from the endpoint table) is exactly what each app serves."""
    for app, target in targets.items():
        served = {
            (app, method.upper(), path) for path, ops in target.schema.raw_schema["paths"].items() for method in ops
        }
        assert served == {op for op in OPERATIONS if op[0] == app}
