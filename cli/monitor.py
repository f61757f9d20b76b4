"""``bpo inbox monitor``: the market-communication check as tables."""

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlmodel import Session

from models.base import utcnow
from rules.calendar import BERLIN
from services.monitor import MonitorFilter, MonitorState, list_messages, summary

STYLE = {MonitorState.ANSWER_OVERDUE: "bold red", MonitorState.CLEARING: "yellow", MonitorState.ANSWERED: "magenta"}


def show(session: Session, tenant_id: str, where: MonitorFilter) -> None:
    console = Console()
    now = utcnow()
    counts = Table(title=f"market messages of {tenant_id}")
    for state in MonitorState:
        counts.add_column(state.value.replace("_", " "), justify="right")
    counts.add_row(*(str(n) for n in summary(session, tenant_id, now).values()))
    console.print(counts)
    rows = list_messages(session, tenant_id, where, now)
    table = Table(show_lines=False)
    for column in ("id", "dir", "state", "type", "PID", "partner", "reference", "MaLo", "at", "due", "note"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id),
            row.direction,
            Text(row.monitor_state.value, style=STYLE.get(row.monitor_state, "")),
            row.message_type or "",
            row.pruefidentifikator or "",
            row.partner or "",
            row.document_number or row.interchange_ref or "",
            row.malo_id or "",
            f"{row.created_at.astimezone(BERLIN):%d.%m. %H:%M}",
            f"{row.answer_due_at.astimezone(BERLIN):%d.%m. %H:%M}" if row.answer_due_at else "",
            (row.error or "")[:60],
        )
    console.print(table)
    if not rows:
        console.print("no messages match")
