"""``bpo edifact inspect``: what an interchange says, for a person or as JSON."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from edifact.errors import EdifactError
from edifact.inspect import inspect_interchange

edifact_app = typer.Typer(help="EDIFACT market messages.", no_args_is_help=True)
MAX_ITEMS = 20
"""A person sees this many entries of a long list (a load profile has thousands); --json has all."""


@edifact_app.command("inspect")
def inspect(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="EDIFACT interchange")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object with a list 'messages'")] = False,
) -> None:
    """Type, format version, Prüfidentifikator, parties, document and business content of every message."""
    try:
        view = inspect_interchange(file.read_bytes())
    except EdifactError as error:
        typer.echo(f"{file}: invalid interchange: {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(
        f"interchange [bold]{view['reference']}[/bold] from {view['sender']} to {view['receiver']}, "
        f"prepared {view['prepared_at']}, {len(view['messages'])} message(s)"
    )
    for message in view["messages"]:
        table = Table(title=f"{message['type']} {message.get('pruefidentifikator') or ''}".strip(), show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for name, value in message.items():
            if value not in (None, [], {}, ""):
                table.add_row(name, _render(value))
        console.print(table)


def _render(value: Any, depth: int = 0) -> str:
    indent = "  " * depth
    if isinstance(value, dict):
        parts = [f"{indent}{k}: {_render(v, depth + 1).lstrip()}" for k, v in value.items() if v not in (None, [], "")]
        return "\n".join(parts)
    if isinstance(value, list):
        shown = [_render(item, depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            shown.append(f"{indent}  … {len(value) - MAX_ITEMS} more")
        return "\n".join(f"{indent}- {line.lstrip()}" for line in shown)
    return f"{indent}{value}"
