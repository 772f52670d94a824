"""e-Lampid's rows of the API table, their request bodies, answer schemas and error statuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from queue_engine.domain.ids import Millis
from queue_engine.domain.modules import ModuleCommand
from web.api.common import DEVICE, SESSION, Endpoint

from .. import module as m
from ..application import CertificateKind
from ..domain import ApplicationId
from .api import _EXTENSIONS, _MAX_REASONS, _STATUSES, PATH

if TYPE_CHECKING:
    from .api import Api


def endpoints(api: Api) -> list[Endpoint]:
    """The e-Lampid rows of the API table (routes and OpenAPI)."""
    body_errors = ("invalid_json", "invalid_body")
    applicant = "the applicant's session (unlocked with receipt + PIN) with X-CSRF-Token"
    staff_who = "a staff or admin session of the application's kelurahan, with X-CSRF-Token"
    rows = [
        Endpoint(
            method="POST",
            path=f"{PATH}/uploads",
            handler=api.upload,
            name="lampid_upload",
            summary="Upload one document (raw body; ?document=<checklist id>&name=<file name>)",
            who="anyone (rate-limited per client)",
            status=201,
            answer="LampidUpload",
            errors=("invalid_body", "upload_rejected", "rate_limited"),
        ),
        Endpoint(
            method="POST",
            path=f"{PATH}/applications",
            handler=api.submit_application,
            name="lampid_submit",
            summary="Submit a birth or death certificate application; answers the receipt and its PIN",
            who="anyone (rate-limited per client)",
            body=SUBMIT_BODY,
            status=201,
            answer="LampidReceipt",
            errors=(
                *body_errors,
                "invalid_application",
                "invalid_nik",
                "invalid_kk",
                "missing_documents",
                "unknown_upload",
                "rate_limited",
            ),
        ),
        Endpoint(
            method="POST",
            path=f"{PATH}/access",
            handler=api.unlock,
            name="lampid_access",
            summary="Unlock an application with its receipt number and PIN (sets the session)",
            who="anyone (wrong PINs limited per receipt and per client)",
            body=ACCESS_BODY,
            answer="LampidAccess",
            errors=(*body_errors, "wrong_pin", "pin_locked"),
        ),
        Endpoint(
            method="GET",
            path=f"{PATH}/slots",
            handler=api.slots,
            name="lampid_slots",
            summary="The handover times on offer",
            who="anyone",
            answer="LampidSlots",
        ),
        Endpoint(
            method="GET",
            path=f"{PATH}/applications/{{receipt}}",
            handler=api.get_application,
            name="lampid_application",
            summary="One application with its personal data (a staff view is recorded in the audit log)",
            who="the applicant's session, or staff of its kelurahan",
            security=(SESSION,),
            answer="LampidApplication",
            errors=("application_not_found", "unauthenticated", "forbidden", "log_unavailable"),
        ),
        Endpoint(
            method="GET",
            path=f"{PATH}/applications/{{receipt}}/documents/{{document}}",
            handler=api.get_document,
            name="lampid_document",
            summary="One uploaded document (a staff view is recorded in the audit log)",
            who="the applicant's session, or staff of its kelurahan",
            security=(SESSION,),
            answer="LampidFile",
            media=tuple(_EXTENSIONS),
            errors=("application_not_found", "not_found", "unauthenticated", "forbidden"),
        ),
        Endpoint(
            method="POST",
            path=f"{PATH}/applications/{{receipt}}/resubmit",
            handler=api.resubmit,
            name="lampid_resubmit",
            summary="Send the application again after a fix (all fields; replaced documents only)",
            who=applicant,
            security=(SESSION,),
            body=RESUBMIT_BODY,
            answer="LampidApplication",
            errors=(
                *body_errors,
                *_APPLICANT_ERRORS,
                "invalid_application",
                "invalid_nik",
                "invalid_kk",
                "missing_documents",
                "unknown_upload",
            ),
        ),
        Endpoint(
            method="POST",
            path=f"{PATH}/applications/{{receipt}}/handover-slot",
            handler=api.choose_slot,
            name="lampid_handover_slot",
            summary="Pick a time to collect the certificate at the kelurahan",
            who=applicant,
            security=(SESSION,),
            body=SLOT_BODY,
            answer="LampidApplication",
            errors=(*body_errors, *_APPLICANT_ERRORS, "slot_not_offered", "invalid_command"),
        ),
    ]
    simple: list[tuple[str, str, Callable[[Millis, ApplicationId], ModuleCommand]]] = [
        (
            "delivery",
            "Have the certificate delivered to the address on the KTP",
            lambda at, a: m.RequestDelivery(at=at, application_id=a),
        ),
        ("cancel", "Cancel the application", lambda at, a: m.CancelApplication(at=at, application_id=a)),
    ]
    for action, summary, build in simple:
        rows.append(
            Endpoint(
                method="POST",
                path=f"{PATH}/applications/{{receipt}}/{action}",
                handler=api._simple(build),
                name=f"lampid_{action}",
                summary=summary,
                who=applicant,
                security=(SESSION,),
                body=EMPTY,
                answer="LampidApplication",
                errors=(*body_errors, *_APPLICANT_ERRORS),
            )
        )
    staff_actions = {
        "verify": ("Verify: documents complete and correct", EMPTY),
        "request-fix": ("Send back to the applicant with reasons", FIX_BODY),
        "issue": ("Mark the certificate issued", EMPTY),
        "hand-over": ("The applicant collected the certificate", EMPTY),
        "delivery-update": ("The courier's progress (shown to the applicant)", DELIVERY_UPDATE_BODY),
        "delivered": ("The courier delivered the certificate", DELIVERED_BODY),
    }
    for action, (summary, body) in staff_actions.items():
        rows.append(
            Endpoint(
                method="POST",
                path=f"{PATH}/applications/{{receipt}}/{action}",
                handler=api._staff_action(action),
                name=f"lampid_{action.replace('-', '_')}",
                summary=summary,
                who=staff_who,
                security=(SESSION,),
                body=body,
                answer="LampidApplication",
                errors=(
                    *body_errors,
                    "application_not_found",
                    "invalid_transition",
                    "invalid_command",
                    "unauthenticated",
                    "forbidden",
                    "csrf_failed",
                ),
            )
        )
    rows += [
        Endpoint(
            method="GET",
            path=f"{PATH}/staff/applications",
            handler=api.staff_list,
            name="lampid_staff_list",
            summary="Applications of the staff's kelurahan (?status=), without personal data",
            who="a staff or admin session",
            security=(SESSION,),
            answer="LampidList",
            errors=("invalid_body", "unauthenticated", "forbidden"),
        ),
        Endpoint(
            method="GET",
            path=f"{PATH}/audit",
            handler=api.audit,
            name="lampid_audit",
            summary="Who saw which application's personal data (the staff's kelurahan)",
            who="a staff or admin session",
            security=(SESSION,),
            answer="LampidAudit",
            errors=("unauthenticated", "forbidden"),
        ),
        Endpoint(
            method="POST",
            path=f"{PATH}/receipts/{{receipt}}/check-in",
            handler=api.check_in,
            name="lampid_check_in",
            summary="Check in for the handover with the receipt's QR: issues and checks in the queue ticket",
            who="a kiosk device, or a staff or admin session with X-CSRF-Token",
            security=(DEVICE, SESSION),
            body=EMPTY,
            answer="Ticket",
            errors=(
                *body_errors,
                "application_not_found",
                "checkin_not_allowed",
                "handover_not_today",
                "unauthenticated",
                "forbidden",
                "csrf_failed",
            ),
        ),
    ]
    return rows


_APPLICANT_ERRORS = ("application_not_found", "invalid_transition", "unauthenticated", "csrf_failed")

_STR: dict[str, Any] = {"type": "string"}
EMPTY: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
_DOCS = {
    "type": "object",
    "description": "checklist document id -> upload_id from POST /api/v1/lampid/uploads",
    "additionalProperties": _STR,
}
_FIELDS = {
    "type": "object",
    "description": "the form fields of the kind (see docs/modules.md)",
    "additionalProperties": _STR,
}
SUBMIT_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "kelurahan", "fields", "documents"],
    "properties": {
        "kind": {"type": "string", "enum": [k.value for k in CertificateKind]},
        "kelurahan": _STR,
        "fields": _FIELDS,
        "documents": _DOCS,
    },
}
RESUBMIT_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["fields"],
    "properties": {"fields": _FIELDS, "documents": _DOCS},
}
ACCESS_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["receipt_number", "pin"],
    "properties": {"receipt_number": _STR, "pin": {"type": "string", "pattern": "^[0-9]{6}$"}},
}
SLOT_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["at"],
    "properties": {"at": {"type": "integer", "description": "a slot's start from GET /api/v1/lampid/slots"}},
}
FIX_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reasons"],
    "properties": {"reasons": {"type": "array", "items": _STR, "minItems": 1, "maxItems": _MAX_REASONS}},
}
DELIVERY_UPDATE_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["note"],
    "properties": {"note": _STR, "courier_ref": _STR},
}
DELIVERED_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"courier_ref": _STR},
}


def _obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


_INT: dict[str, Any] = {"type": "integer"}
_SUMMARY = {
    "receipt_number": _STR,
    "kind": _STR,
    "kelurahan": _STR,
    "status": {"type": "string", "enum": sorted(_STATUSES)},
    "submitted_at": _INT,
    "updated_at": _INT,
    "submitted_text": _STR,
    "updated_text": _STR,
}
SCHEMAS: dict[str, Any] = {
    "LampidUpload": _obj(upload_id=_STR, document=_STR, content_type=_STR, size=_INT),
    "LampidSummary": _obj(**_SUMMARY),
    "LampidApplication": {
        "type": "object",
        "description": "personal data: only for the applicant and staff of its kelurahan",
        "required": [*_SUMMARY, "fields", "documents", "actions", "fix_reasons"],
        "properties": {
            **_SUMMARY,
            "fields": _FIELDS,
            "documents": {"type": "array", "items": {"type": "object"}},
            "actions": {"type": "array", "items": _STR},
            "fix_reasons": {"type": "array", "items": _STR},
            "handover_slot": {"oneOf": [_INT, {"type": "null"}]},
            "handover_ticket": {"oneOf": [{"type": "object"}, {"type": "null"}]},
            "history": {"type": "array", "items": {"type": "object"}},
        },
    },
    "LampidReceipt": _obj(
        receipt_number=_STR,
        pin={"type": "string", "description": "six digits, shown once"},
        status_url=_STR,
        receipt_qr={"type": "string", "description": "SVG"},
        application={"$ref": "#/components/schemas/LampidApplication"},
        csrf=_STR,
    ),
    "LampidAccess": _obj(application={"$ref": "#/components/schemas/LampidApplication"}, csrf=_STR),
    "LampidSlots": _obj(slots={"type": "array", "items": _obj(at=_INT, date=_STR, time=_STR)}),
    "LampidList": _obj(applications={"type": "array", "items": {"$ref": "#/components/schemas/LampidSummary"}}),
    "LampidAudit": _obj(entries={"type": "array", "items": _obj(receipt_number=_STR, actor=_STR, what=_STR, at=_INT)}),
    "LampidFile": {"type": "string", "format": "binary"},
}

#: error code -> HTTP status (the errors carry their own texts)
STATUSES: dict[str, int] = {
    "invalid_nik": 422,
    "invalid_kk": 422,
    "invalid_application": 422,
    "missing_documents": 422,
    "application_not_found": 404,
    "upload_rejected": 422,
    "unknown_upload": 422,
    "wrong_pin": 401,
    "pin_locked": 429,
    "slot_not_offered": 422,
    "handover_not_today": 409,
    "invalid_transition": 409,
    "invalid_command": 422,
    "duplicate_id": 409,
}
