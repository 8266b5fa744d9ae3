"""`POST warehouse-service/goods-note/goods-out/{id}/event` — print/pick/pack (and un-) and SHW (ship).

Response 200 `{}` (sandbox choice). `If-Match` with a stale lastEventVersion -> 409 WHSC-409; shipping an
already shipped note -> 400 WHSC-101; unknown event code -> 400 WHSC-100 (all sandbox choices).
"""

from __future__ import annotations

from typing import Any

from ..generator.mutations import ship_note
from .envelope import BpError, BpResponse, bad_request, not_found
from .formatting import DateParseError, parse_instant
from .router import Ctx, Route

FLAGS = {
    "PRI": ("printed", 1),
    "UPR": ("printed", 0),
    "PIC": ("picked", 1),
    "UPI": ("picked", 0),
    "PAC": ("packed", 1),
    "UPA": ("packed", 0),
}


def _events(body: Any) -> list[dict[str, Any]]:
    events = body.get("events") if isinstance(body, dict) else body
    if isinstance(events, dict):
        events = [events]
    if not isinstance(events, list) or not events or not all(isinstance(e, dict) for e in events):
        raise bad_request("Expected a list of events {eventCode, occured, eventOwnerId}", "WHSC-100")
    return events


def post_event(ctx: Ctx) -> BpResponse:
    note_id = int(ctx.args[0])
    events = _events(ctx.json())
    now = ctx.store.now_ms()
    with ctx.store.transaction() as conn:
        note = conn.execute("SELECT * FROM goods_out_notes WHERE id = ? AND deleted = 0", (note_id,)).fetchone()
        if note is None:
            raise not_found(f"Goods-out note {note_id} not found", "WHSC-404")
        expected = ctx.headers.get("if-match")
        if expected is not None and expected.strip('"') != str(note["last_event_version"]):
            raise BpError(409, "WHSC-409", f"lastEventVersion is {note['last_event_version']}, not {expected}")
        shipped = bool(note["shipped"])
        for event in events:
            code = str(event.get("eventCode", "")).upper()
            try:
                at = parse_instant(str(event["occured"])) if event.get("occured") else now
            except DateParseError as exc:
                raise bad_request(f"occured is not a valid date: {event.get('occured')!r}", "WHSC-100") from exc
            if code == "SHW":
                if shipped:
                    raise bad_request(f"Goods-out note {note_id} has already been shipped", "WHSC-101")
                ship_note(conn, note_id, at, now)
                shipped = True
            elif code in FLAGS:
                column, value = FLAGS[code]
                if shipped and not value:
                    raise bad_request(f"Goods-out note {note_id} is shipped and cannot be changed", "WHSC-101")
                conn.execute(
                    f"UPDATE goods_out_notes SET {column} = ?, {column}_ms = ?, "
                    "last_event_version = last_event_version + 1 WHERE id = ?",
                    (value, at if value else None, note_id),
                )
            else:
                raise bad_request(f"Unknown goods-out note event code '{code}'", "WHSC-100")
    return BpResponse(200, {})


def goods_out_routes() -> list[Route]:
    return [Route("POST", "warehouse-service/goods-note/goods-out/{id}/event", post_event, "post-goods-out-note-event")]
