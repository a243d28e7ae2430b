"""Logs: structlog, console-pretty on a terminal and JSON lines otherwise, on stderr.

One processor chain serves movebot's own structlog calls and the stdlib records of gspread,
APScheduler, urllib3 and apprise (through `structlog.stdlib.ProcessorFormatter`):

    merge_contextvars        -> run_id bound with `bind_contextvars(run_id=...)` on every line
    add_log_level, add_logger_name
    timestamp                -> ISO 8601 in Asia/Seoul with its offset (2024-12-03T10:15:00.123+09:00)
    redact                   -> phones masked, secrets and tokens dropped (see `redact`)
    ConsoleRenderer | JSONRenderer

stdout stays free for `--json` output. No phone, name, key or token is ever logged: the code
logs none, and `redact` catches what slips through (a phone in a library's message, an apprise
URL in its error, a value under a key named like a secret, any pydantic `SecretStr`).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, ExcInfo, Processor, WrappedLogger

from bot.masking import mask_name, mask_phone, scrub
from rules.values import KST

REDACTED = "[redacted]"

# Libraries whose lower levels carry URLs with tokens or request bodies: never below WARNING.
QUIET_LOGGERS = (
    "urllib3",
    "apprise",
    "google.auth",
    "requests_oauthlib",
    "oauthlib",
    "apscheduler.scheduler",  # job bookkeeping; worker.* lines say what matters
)

_SECRET_KEY = re.compile(
    r"(token|secret|passw|api_?key|app_?key|private_?key|authorization|cookie|signature"
    r"|^key$|_key$|^sig$|credentials?_json|sa_json)",
    re.IGNORECASE,
)
_PHONE_KEY = re.compile(r"(phone|^tel$|연락처|예비번호)", re.IGNORECASE)
_NAME_KEY = re.compile(r"^(customer|customer_name|고객명)$", re.IGNORECASE)
_KEEP = frozenset({"timestamp", "level", "logger", "exc_info"})
_MAX_DEPTH = 4


def _redact_value(key: str, value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if hasattr(value, "get_secret_value"):  # pydantic SecretStr / SecretBytes
        return REDACTED
    if _SECRET_KEY.search(key):
        return REDACTED if value != "" else value
    if _PHONE_KEY.search(key) and isinstance(value, (str, int, float)):
        return mask_phone(value)
    if _NAME_KEY.search(key) and isinstance(value, str):
        return mask_name(value)
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, BaseException):
        return scrub(f"{type(value).__name__}: {value}")
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(key, v, depth + 1) for v in value]
    return value


def redact(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Mask what must never be logged, in place of the event dict's values.

    - any `SecretStr`, and values under keys named like token / secret / password / key /
      authorization / signature: `[redacted]`;
    - values under keys named like phone / 연락처: `010-****-4269`; customer / 고객명: `김*수`;
    - every string (the event included): phone-looking runs masked, registered secrets
      replaced, credentials cut out of URLs (`slack://***`, `https://hooks.slack.com/***`).
    """
    for key in list(event_dict):
        if key in _KEEP:
            continue
        event_dict[key] = _redact_value(str(key), event_dict[key])
    return event_dict


def _exception_text(exc_info: ExcInfo) -> str:
    return scrub("".join(traceback.format_exception(*exc_info)).rstrip("\n"))


def _scrubbed_exception_formatter(sio: TextIO, exc_info: ExcInfo) -> None:
    """ConsoleRenderer's traceback, with phones and secrets masked (messages carry them)."""
    sio.write("\n" + _exception_text(exc_info))


def _exception_to_text(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """For JSON lines: `exc_info` becomes a scrubbed `exception` string."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        event_dict["exception"] = _exception_text(exc_info)
    return event_dict


_FIRST = ("timestamp", "level", "event", "logger", "run_id")


def _leading_keys(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """JSON lines read better with time, level and event first."""
    ordered = {k: event_dict[k] for k in _FIRST if k in event_dict}
    ordered.update((k, v) for k, v in event_dict.items() if k not in ordered)
    return ordered


def kst_timestamp(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """`timestamp`: now in Asia/Seoul, ISO 8601 with milliseconds and the +09:00 offset."""
    event_dict.setdefault("timestamp", datetime.now(KST).isoformat(timespec="milliseconds"))
    return event_dict


def shared_processors() -> list[Processor]:
    """The chain every record passes before rendering: movebot's and the libraries'."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        kst_timestamp,
    ]


class _MovebotHandler(logging.StreamHandler):
    """The one handler `configure_logging` installs on the root logger (and replaces)."""


def configure_logging(
    json: bool | None = None,
    level: str | int = "INFO",
    stream: TextIO | None = None,
) -> logging.Handler:
    """Route structlog and stdlib logging through one chain, to `stream` (default stderr).

    `json`: JSON lines; None picks them when `stream` is not a terminal, the console renderer
    when it is. Calling it again replaces the previous configuration. Returns the handler.
    """
    stream = stream if stream is not None else sys.stderr
    tty = bool(getattr(stream, "isatty", lambda: False)())
    as_json = (not tty) if json is None else json
    shared = shared_processors()

    renderer: Processor
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if as_json:
        final += [_exception_to_text, redact, _leading_keys]
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False, default=str)
    else:
        final += [redact]
        renderer = structlog.dev.ConsoleRenderer(
            colors=tty, exception_formatter=_scrubbed_exception_formatter
        )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared, processors=[*final, renderer]
    )

    handler = _MovebotHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _MovebotHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"not a log level: {level!r} (use DEBUG, INFO, WARNING or ERROR)")
    root.setLevel(numeric)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))

    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return handler
