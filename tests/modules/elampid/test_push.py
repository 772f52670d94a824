"""The applicant's live status over a real WebSocket (uvicorn on a free port): a module topic, the ticket protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modules.elampid import CertificateKind, module as m, parse_application
from modules.elampid.domain import ApplicationId, ReceiptNumber

from ...web.wsutil import Served, connect_ws, receive, receive_until, refusal, serve, settings, signed_session
from .support import TODAY, all_documents, birth_data
from .web_support import kelurahan_accounts, kelurahan_facility

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


APP = ApplicationId("app-live-1")
RECEIPT = ReceiptNumber("LMP-LIVE-0001")


async def _submit(served: Served) -> None:
    await served.submit(
        m.SubmitApplication(
            at=served.clock.now(),
            application_id=APP,
            receipt_number=RECEIPT,
            application=parse_application(CertificateKind.KELAHIRAN, birth_data(), today=TODAY),
            documents=all_documents(CertificateKind.KELAHIRAN),
            kelurahan="Ketabang",
        )
    )


def _config(tmp_path: Path) -> dict[str, Any]:
    return {
        "config": settings(data_dir=str(tmp_path)),
        "facility": kelurahan_facility(),
        "accounts": kelurahan_accounts(),
    }


async def test_status_changes_reach_the_applicant_and_nothing_else_does(tmp_path: Path) -> None:
    async with serve(**_config(tmp_path)) as served:
        await _submit(served)
        cookie = {"Cookie": signed_session({"lampid": [APP]})}
        async with connect_ws(served, f"/ws/lampid/{RECEIPT}", additional_headers=cookie) as ws:
            snapshot = await receive(ws)
            assert snapshot["type"] == "snapshot" and snapshot["data"]["status"] == "diajukan"
            # An engine change that does not touch the application sends nothing to it.
            await served.issue("ADMIN")
            fix = m.RequestFix(at=served.clock.now(), application_id=APP, reasons=["KK buram"], actor="petugas")
            await served.submit(fix)
            update = (await receive_until(ws, "update"))[-1]
            assert update["data"]["status"] == "perlu_perbaikan" and update["data"]["fix_reasons"] == ["KK buram"]
            assert update["position"] == snapshot["position"] + 2
            # Resuming from the snapshot's position replays exactly the missed update.
            async with connect_ws(
                served, f"/ws/lampid/{RECEIPT}?after={snapshot['position']}", additional_headers=cookie
            ) as again:
                replayed = await receive_until(again, "heartbeat")
                assert [msg["type"] for msg in replayed] == ["update", "heartbeat"]
                assert replayed[0]["data"]["status"] == "perlu_perbaikan"


async def test_the_live_status_needs_the_unlocked_session_from_this_site(tmp_path: Path) -> None:
    async with serve(**_config(tmp_path)) as served:
        await _submit(served)
        path = f"/ws/lampid/{RECEIPT}"
        assert (await refusal(served, path))[0] == 4401
        other = {"Cookie": signed_session({"lampid": ["someone-else"]})}
        assert (await refusal(served, path, additional_headers=other))[0] == 4401
        mine = {"Cookie": signed_session({"lampid": [APP]}), "Origin": "https://evil.example"}
        assert (await refusal(served, path, additional_headers=mine))[0] == 4403
        assert (await refusal(served, "/ws/lampid/LMP-NONE-0000"))[0] == 4004
