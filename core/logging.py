"""One logging set-up per process: console on a terminal, JSON otherwise; activity context on every line."""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from temporalio import activity


def _activity_context(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Add workflow id, run id and activity type when the line is logged inside an activity."""
    if activity.in_activity():
        info = activity.info()
        event.setdefault("workflow_id", info.workflow_id)
        event.setdefault("run_id", info.workflow_run_id)
        event.setdefault("activity", info.activity_type)
    return event


def configure_logging(level: str = "INFO", json: bool | None = None) -> None:
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _activity_context,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    for chatty in ("fontTools", "weasyprint"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    logging.getLogger("weasyprint").addFilter(_KnownFontNotice())


class _KnownFontNotice(logging.Filter):
    """WeasyPrint warns on every PDF when HarfBuzz-Subset is missing; the output is the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "HarfBuzz-Subset" not in record.getMessage()


def get_logger(**context: Any) -> Any:
    """A lazy logger: safe at import time, it takes the configuration in force when it first logs."""
    return structlog.get_logger(**context)
