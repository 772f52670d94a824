"""e-Lampid's HTTP API (``/api/v1/lampid/…``): thin handlers that check who asks, parse, submit, render.

* anyone: upload a document, submit an application (rate-limited per client), unlock one with
  its receipt number and PIN (rate-limited per receipt and per client), the handover slots;
* the applicant (the session that unlocked it): its view and documents, resubmit after a fix,
  choose a handover slot or delivery, cancel;
* staff of the application's kelurahan: the list per status (no personal data), the view and the
  documents (each view recorded in the audit log *before* the data is sent), verify, ask for a
  fix, mark issued, hand over, confirm delivery; the audit log;
* a kiosk: check in with the receipt's QR, which issues the handover ticket through the engine.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from queue_engine.domain import commands as c
from queue_engine.domain.ids import Millis, ServiceCode, TicketId
from queue_engine.domain.model import Channel
from queue_engine.domain.modules import ModuleCommand
from web.api.common import ApiRequest, Endpoint, client_address, read_body, staff, submit
from web.auth import Principal, Role, check_csrf, csrf_token, require
from web.errors import ApiError
from web.json import JSONResponse
from web.ratelimit import MINUTE_MS, SlidingWindow
from web.render import ticket_json
from web.schemas import MAX_TEXT, only, text

from .. import module as m
from ..application import REQUIRED_DOCUMENTS, CertificateKind, parse_application
from ..domain import ApplicationId, ApplicationRecord, ApplicationState, ApplicationStatus, DocumentFile, ReceiptNumber
from ..errors import ApplicationNotFound, HandoverNotToday, SlotNotOffered, UnknownUpload
from ..uploads import UploadRejected, UploadStore
from . import access
from .slots import offered_slots
from .views import application_json, summary_json, when

if TYPE_CHECKING:
    from . import ElampidWeb

#: uploads and submissions allowed per client address in ten minutes (one application has 7 documents)
UPLOADS_PER_CLIENT = 40
SUBMISSIONS_PER_CLIENT = 5
_WINDOW_MS = 10 * MINUTE_MS
_ALL_DOCUMENTS = {d.id for docs in REQUIRED_DOCUMENTS.values() for d in docs}
_MAX_FIELDS = 40
_MAX_REASONS = 10
#: the statuses a list may be asked for
_STATUSES = {s.value for s in ApplicationStatus}

PATH = "/api/v1/lampid"


class Api:
    """The handlers over one app's e-Lampid web part (its upload store and limiters)."""

    def __init__(self, part: ElampidWeb) -> None:
        self.part = part
        self.module = part.module
        self.limits = SlidingWindow(_WINDOW_MS)
        self.pins = access.PinGuard()

    # -- helpers ------------------------------------------------------------------------------

    @property
    def store(self) -> UploadStore:
        return self.part.store

    def _state(self, request: ApiRequest) -> ApplicationState:
        state: ApplicationState = request.state["runtime"].state.modules[m.NAME]
        return state

    def _record(self, request: ApiRequest) -> ApplicationRecord:
        state = self._state(request)
        application_id = state.receipts.get(ReceiptNumber(request.path_params["receipt"]))
        if application_id is None:
            raise ApplicationNotFound()
        return state.applications[application_id]

    def _limit(self, request: ApiRequest, what: str, limit: int) -> None:
        now = request.state["runtime"].now()
        wait = self.limits.hit(f"{what}:{client_address(request)}", now, limit)
        if wait is not None:
            raise ApiError("rate_limited", retry_after_s=-(-wait // 1000))

    def _view(self, request: ApiRequest, record: ApplicationRecord, *, staff_view: bool) -> dict[str, Any]:
        runtime = request.state["runtime"]
        fresh = self._state(request).applications[record.application_id]
        return application_json(fresh, runtime.state, runtime.now(), staff=staff_view)

    def _documents(self, state: ApplicationState, data: dict[str, Any], kind: CertificateKind) -> list[DocumentFile]:
        """``{doc_id: upload_id}`` -> files, each upload existing and not used by another application."""
        raw = data.get("documents", {})
        if not isinstance(raw, dict) or len(raw) > len(_ALL_DOCUMENTS):
            raise ApiError("invalid_body", field="documents")
        checklist = {d.id for d in REQUIRED_DOCUMENTS[kind]}
        used = {f.upload_id for r in state.applications.values() for f in r.files}
        files = []
        for document, upload_id in raw.items():
            if document not in checklist or not isinstance(upload_id, str):
                raise ApiError("invalid_body", field=f"documents.{document}"[:80])
            if upload_id in used:
                raise UnknownUpload(document=document)
            try:
                content_type = self.store.content_type(upload_id)
            except KeyError:
                raise UnknownUpload(document=document) from None
            files.append(DocumentFile(document=document, upload_id=upload_id, content_type=content_type))
        return files

    def _fields(self, data: dict[str, Any]) -> dict[str, object]:
        fields = data.get("fields")
        if not isinstance(fields, dict) or len(fields) > _MAX_FIELDS:
            raise ApiError("invalid_body", field="fields")
        return fields

    def _today(self, request: ApiRequest) -> date:
        runtime = request.state["runtime"]
        return datetime.fromtimestamp(runtime.now() / 1000, runtime.state.tz).date()

    # -- anyone ---------------------------------------------------------------------------------

    async def upload(self, request: ApiRequest) -> Response:
        """``POST /api/v1/lampid/uploads?document=<id>&name=<file name>``: the file as the raw body."""
        document = request.query_params.get("document", "")
        name = request.query_params.get("name", "")
        if document not in _ALL_DOCUMENTS:
            raise ApiError("invalid_body", field="document")
        if not name or len(name) > MAX_TEXT:
            raise ApiError("invalid_body", field="name")
        self._limit(request, "upload", UPLOADS_PER_CLIENT)
        limit = self.module.max_upload_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise UploadRejected("too_large")  # before reading a byte of it
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise UploadRejected("too_large")  # a body longer than it said, or chunked
            chunks.append(chunk)
        stored = self.store.save(b"".join(chunks), name)
        return JSONResponse(
            {"upload_id": stored.id, "document": document, "content_type": stored.content_type, "size": stored.size},
            status_code=201,
        )

    async def submit_application(self, request: ApiRequest) -> Response:
        """``POST /api/v1/lampid/applications``: 201 with the receipt number and the PIN (shown once)."""
        runtime = request.state["runtime"]
        data = await read_body(request)
        only(data, ("kind", "kelurahan", "fields", "documents"))
        self._limit(request, "submit", SUBMISSIONS_PER_CLIENT)
        kind_raw = text(data, "kind", required=True)
        kelurahan = text(data, "kelurahan", required=True) or ""
        application = parse_application(kind_raw or "", self._fields(data), today=self._today(request))
        files = self._documents(self._state(request), data, application.KIND)
        pin = access.new_pin()
        receipt = ReceiptNumber(access.new_receipt_number())
        command = m.SubmitApplication(
            at=runtime.now(),
            application_id=ApplicationId(secrets.token_urlsafe(12)),
            receipt_number=receipt,
            application=application,
            documents=[f.document for f in files],
            kelurahan=kelurahan,
            pin_hash=access.hash_pin(pin, n=self.part.pin_cost),
            files=files,
        )
        await submit(request, command)
        record = self._state(request).applications[command.application_id]
        access.grant(request, record)
        base = self.part.base_url(request)
        return JSONResponse(
            {
                "receipt_number": receipt,
                "pin": pin,
                "status_url": f"/lampid/r/{receipt}",
                "receipt_qr": str(self.part.receipt_qr(f"{base}/lampid/r/{receipt}")),
                "application": self._view(request, record, staff_view=False),
                "csrf": csrf_token(request),
            },
            status_code=201,
            headers={"Cache-Control": "no-store"},
        )

    async def unlock(self, request: ApiRequest) -> Response:
        """``POST /api/v1/lampid/access``: receipt number + PIN -> the session may see the application."""
        runtime = request.state["runtime"]
        data = await read_body(request)
        only(data, ("receipt_number", "pin"))
        receipt = (text(data, "receipt_number", required=True, max_len=32) or "").strip().upper()
        pin = text(data, "pin", required=True, max_len=6) or ""
        if not (len(pin) == 6 and pin.isdigit()):
            raise ApiError("invalid_body", field="pin")
        state = self._state(request)
        application_id = state.receipts.get(ReceiptNumber(receipt))
        record = state.applications.get(application_id) if application_id is not None else None
        self.pins.check(record, pin, receipt=receipt, client=client_address(request), now=runtime.now())
        assert record is not None
        access.grant(request, record)
        return JSONResponse(
            {"application": self._view(request, record, staff_view=False), "csrf": csrf_token(request)},
            headers={"Cache-Control": "no-store"},
        )

    async def slots(self, request: ApiRequest) -> Response:
        """``GET /api/v1/lampid/slots``: the handover times on offer."""
        runtime = request.state["runtime"]
        state = runtime.state
        return JSONResponse(
            {
                "slots": [
                    {
                        "at": at,
                        "date": when(at, state.tz).rsplit(" ", 1)[0],
                        "time": when(at, state.tz).rsplit(" ", 1)[1],
                    }
                    for at in self._offered(request)
                ]
            }
        )

    def _offered(self, request: ApiRequest) -> list[Millis]:
        runtime = request.state["runtime"]
        module = self.module
        return offered_slots(
            runtime.state,
            module.handover_service,
            slot_minutes=module.slot_minutes,
            days=module.slot_days,
            now=runtime.now(),
        )

    # -- the applicant or staff -----------------------------------------------------------------

    async def get_application(self, request: ApiRequest) -> Response:
        """``GET …/applications/{receipt}``: the applicant's view, or staff's (recorded in the audit log first)."""
        record = self._record(request)
        if access.is_applicant(request, record):
            return JSONResponse(self._view(request, record, staff_view=False), headers=NO_STORE)
        principal = access.staff_of(request, record)
        if principal is None:
            raise ApiError("unauthenticated")
        await self._audit(request, record, principal, "application")
        return JSONResponse(self._view(request, record, staff_view=True), headers=NO_STORE)

    async def get_document(self, request: ApiRequest) -> Response:
        """``GET …/applications/{receipt}/documents/{document}``: the file, to its applicant or staff."""
        record = self._record(request)
        document = request.path_params["document"]
        file = record.file(document)
        if not access.is_applicant(request, record):
            principal = access.staff_of(request, record)
            if principal is None:
                raise ApiError("unauthenticated")
            if file is None:
                raise ApiError("not_found")
            await self._audit(request, record, principal, f"document:{document}")
        if file is None:
            raise ApiError("not_found")
        try:
            data = self.store.read(file.upload_id)
        except KeyError:
            raise ApiError("not_found") from None
        return Response(
            data,
            media_type=file.content_type,
            headers={
                **NO_STORE,
                "Content-Disposition": f'inline; filename="{document}{_EXTENSIONS[file.content_type]}"',
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; img-src 'self'; plugin-types application/pdf; sandbox",
            },
        )

    async def _audit(self, request: ApiRequest, record: ApplicationRecord, principal: Principal, what: str) -> None:
        runtime = request.state["runtime"]
        command = m.RecordView(at=runtime.now(), application_id=record.application_id, actor=principal.name, what=what)
        await submit(request, command)

    # -- the applicant ----------------------------------------------------------------------------

    def _applicant(self, request: ApiRequest) -> ApplicationRecord:
        record = self._record(request)
        if not access.is_applicant(request, record):
            raise ApiError("unauthenticated")
        access.check_session_csrf(request)
        return record

    async def resubmit(self, request: ApiRequest) -> Response:
        runtime = request.state["runtime"]
        record = self._applicant(request)
        data = await read_body(request)
        only(data, ("fields", "documents"))
        application = parse_application(record.kind, self._fields(data), today=self._today(request))
        replaced = {f.document: f for f in self._documents(self._state(request), data, record.kind)}
        files = [replaced.pop(f.document, f) for f in record.files]
        files.extend(replaced.values())
        command = m.ResubmitApplication(
            at=runtime.now(),
            application_id=record.application_id,
            application=application,
            documents=[f.document for f in files],
            files=files,
        )
        await submit(request, command)
        return JSONResponse(self._view(request, record, staff_view=False), headers=NO_STORE)

    async def choose_slot(self, request: ApiRequest) -> Response:
        runtime = request.state["runtime"]
        record = self._applicant(request)
        data = await read_body(request)
        only(data, ("at",))
        at = data.get("at")
        if not isinstance(at, int) or isinstance(at, bool):
            raise ApiError("invalid_body", field="at")
        if record.status in (ApplicationStatus.TERBIT, ApplicationStatus.SIAP_DIAMBIL) and at not in self._offered(
            request
        ):
            raise SlotNotOffered(at=at)
        await submit(
            request, m.ChooseHandoverSlot(at=runtime.now(), application_id=record.application_id, slot=Millis(at))
        )
        return JSONResponse(self._view(request, record, staff_view=False), headers=NO_STORE)

    def _simple(self, build: Callable[[Millis, ApplicationId], ModuleCommand]) -> Callable[[ApiRequest], Any]:
        async def handler(request: ApiRequest) -> Response:
            runtime = request.state["runtime"]
            record = self._applicant(request)
            only(await read_body(request))
            await submit(request, build(runtime.now(), record.application_id))
            return JSONResponse(self._view(request, record, staff_view=False), headers=NO_STORE)

        return handler

    # -- staff --------------------------------------------------------------------------------------

    async def staff_list(self, request: ApiRequest) -> Response:
        """``GET /api/v1/lampid/staff/applications?status=``: rows of the staff's kelurahan, no personal data."""
        principal = require(request, request.state["accounts"], Role.STAFF, Role.ADMIN)
        status = request.query_params.get("status")
        if status is not None and status not in _STATUSES:
            raise ApiError("invalid_body", field="status")
        tz = request.state["runtime"].state.tz
        rows = [
            summary_json(r, tz)
            for r in self._state(request).applications.values()
            if r.kelurahan in principal.kelurahan and (status is None or r.status.value == status)
        ]
        rows.sort(key=lambda row: row["updated_at"])
        return JSONResponse({"applications": rows})

    async def audit(self, request: ApiRequest) -> Response:
        """``GET /api/v1/lampid/audit``: who saw which application's personal data (their kelurahan's)."""
        principal = require(request, request.state["accounts"], Role.STAFF, Role.ADMIN)
        state = self._state(request)
        tz = request.state["runtime"].state.tz
        entries = [
            {
                "receipt_number": state.applications[e.application_id].receipt_number,
                "actor": e.actor,
                "what": e.what,
                "at": e.at,
                "at_text": when(e.at, tz),
            }
            for e in state.audit
            if state.applications[e.application_id].kelurahan in principal.kelurahan
        ]
        return JSONResponse({"entries": entries[-1000:]})

    def _staff_action(self, action: str) -> Callable[[ApiRequest], Any]:
        async def handler(request: ApiRequest) -> Response:
            runtime = request.state["runtime"]
            principal = staff(request)
            record = self._record(request)
            if record.kelurahan not in principal.kelurahan:
                raise ApiError("forbidden", field="kelurahan")
            data = await read_body(request)
            at, app_id, actor = runtime.now(), record.application_id, principal.name
            command: ModuleCommand
            match action:
                case "verify":
                    only(data)
                    command = m.VerifyApplication(at=at, application_id=app_id, actor=actor)
                case "request-fix":
                    only(data, ("reasons",))
                    reasons = data.get("reasons")
                    if (
                        not isinstance(reasons, list)
                        or not 1 <= len(reasons) <= _MAX_REASONS
                        or not all(isinstance(r, str) and len(r) <= MAX_TEXT for r in reasons)
                    ):
                        raise ApiError("invalid_body", field="reasons")
                    command = m.RequestFix(at=at, application_id=app_id, reasons=reasons, actor=actor)
                case "issue":
                    only(data)
                    command = m.IssueCertificate(at=at, application_id=app_id, actor=actor)
                case "hand-over":
                    only(data)
                    command = m.HandOver(at=at, application_id=app_id, actor=actor)
                case "delivery-update":
                    only(data, ("courier_ref", "note"))
                    note = text(data, "note", required=True, max_len=MAX_TEXT) or ""
                    ref = text(data, "courier_ref", max_len=MAX_TEXT) or ""
                    command = m.UpdateDelivery(at=at, application_id=app_id, note=note, courier_ref=ref, actor=actor)
                case _:
                    only(data, ("courier_ref",))
                    ref = text(data, "courier_ref", max_len=MAX_TEXT) or ""
                    command = m.ConfirmDelivery(at=at, application_id=app_id, courier_ref=ref, actor=actor)
            await submit(request, command)
            return JSONResponse(self._view(request, record, staff_view=True), headers=NO_STORE)

        return handler

    # -- the kiosk ------------------------------------------------------------------------------

    async def check_in(self, request: ApiRequest) -> Response:
        """``POST /api/v1/lampid/receipts/{receipt}/check-in``: the kiosk scanned the receipt's QR.

        Issues the handover ticket through the engine (``channel=module``, the chosen slot as the
        appointment, one idempotency key per application), links it, and checks it in. Each step
        is safe to repeat, so scanning again after a lost answer gives the same ticket.
        """
        runtime = request.state["runtime"]
        principal = require(request, request.state["accounts"], Role.KIOSK, Role.STAFF, Role.ADMIN)
        check_csrf(request, principal, None)
        only(await read_body(request))
        record = self._record(request)
        if record.status is not ApplicationStatus.SIAP_DIAMBIL or record.handover_slot is None:
            raise ApiError("checkin_not_allowed", status=409)
        core = runtime.state
        now = runtime.now()
        if core.local_day(record.handover_slot) != core.local_day(now):
            raise HandoverNotToday(day=core.local_day(record.handover_slot))
        ticket_id = record.handover_ticket
        if ticket_id is None:
            grace = core.facility.policy.checkin_grace_min * MINUTE_MS
            slot = record.handover_slot
            issue = c.IssueTicket(
                at=now,
                ticket_id=runtime.ids.ticket_id(),
                token=runtime.ids.token(),
                service=ServiceCode(self.module.handover_service),
                channel=Channel.MODULE,
                appointment_at=slot if slot >= now - grace else None,
                idempotency_key=f"elampid:{record.application_id}",
            )
            result = await submit(request, issue)
            ticket_id = TicketId(result.ticket_id) if result.ticket_id else issue.ticket_id
            await submit(
                request,
                m.CheckInForHandover(at=runtime.now(), application_id=record.application_id, ticket_id=ticket_id),
            )
        await submit(request, c.CheckIn(at=runtime.now(), ticket_id=ticket_id))
        ticket = runtime.state.tickets[ticket_id]
        return JSONResponse(
            {
                **ticket_json(runtime.state, ticket, runtime.now()),
                "token": ticket.token,
                "tracking_url": f"/t/{ticket.token}",
                "print_url": f"/kiosk/ticket/{ticket.token}",
            }
        )

    # -- the table ----------------------------------------------------------------------------------

    def endpoints(self) -> list[Endpoint]:
        from .table import endpoints

        return endpoints(self)


NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
