"""The desk's Google Sheet through the Sheets v4 API (gspread's HTTP client, google-auth).

A run costs a constant number of Sheets requests, whatever the sheet's size (DESIGN.md
"Google Sheets"):

- `read()`: one `spreadsheets.get` (tab titles, grid sizes and merged blocks only) and one
  `values.batchGet` for both tabs, and the optional vendor list when the metadata shows that
  tab (UNFORMATTED_VALUE, dates as SERIAL_NUMBER).
- `write()`: one `values.batchGet` re-reading the header row and the rows the plan touches
  (fingerprint columns to written columns; adjacent rows in one range, at most 100 ranges;
  a 봇 확인 column being added whole; every column whole only when a row moved),
  `rules.settle` to decide what may land, then one `values.batchUpdate` with
  `valueInputOption=RAW` (one more per ~2 MB of body). That body goes as compact UTF-8 JSON
  (Korean text as itself: 3 bytes a syllable, where gspread's `json=`, through requests,
  would send the 6-byte `\\uXXXX` escape), and the ~2 MB is measured on exactly the bytes
  sent. When a written column falls beyond a tab's grid, one `spreadsheets.batchUpdate`
  carrying every `appendDimension` comes first. `write([])` makes no request. After the
  write, one `values.batchGet` reads the written rows' fingerprints back (their columns whole
  when the grid shrank below a written row): a row that moved inside the window is reported
  (`WriteResult.suspect`). A write is never resent blind:
  before each retry of a `values.batchUpdate` the verify read is done again and only the
  cells that still hold are sent (rows already holding the bot's values landed: their answer
  was lost).

gspread's `Client.open_by_key` and `Spreadsheet.worksheet(s)()` fetch the metadata on every
call, so this module uses gspread's `HTTPClient` directly and addresses tabs by A1 ranges.
408, 429 and 5xx answers (of the Sheets API and of Google's token endpoint) and dropped
connections are retried here (tenacity) with exponential backoff and full jitter, bounded in
attempts and in total time; gspread 6.2.1's BackOffHTTPClient is not used (its cap never stops
it, and it reads `APIError.code`, which is -1 when Google answers with an HTML page).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import google.auth
import google.auth.exceptions
import google.auth.transport.requests
import requests
import structlog
import tenacity
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEET_VALUES_BATCH_UPDATE_URL
from gspread.utils import absolute_range_name, extract_id_from_url, rowcol_to_a1

from bot.collector import paused
from bot.errors import (
    MissingHeader,
    MissingTab,
    MovebotError,
    ServiceFailure,
    SheetUnavailable,
    SourceChanged,
    UserError,
)
from bot.sheets import Ahead, column_letter
from rules.blocked import Range, with_blocked
from rules.columns import HeaderMismatch, TabSpec, find_columns, header_key
from rules.model import (
    VENDORS,
    CellValue,
    CellWrite,
    SheetKey,
    Skipped,
    Snapshot,
    Tab,
    TabKey,
    WriteResult,
)
from rules.parse import FINGERPRINT_FIELDS
from rules.settle import already_landed, moved, settle
from rules.text import unwritable
from rules.values import cell_text

__all__ = [
    "CELL_CHAR_LIMIT",
    "FORMULA_CELL",
    "MAX_BODY_BYTES",
    "SCOPES",
    "TOO_LONG",
    "GoogleBackend",
    "WriteInterrupted",
    "a1_range",
    "spreadsheet_id",
]

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
MAX_BODY_BYTES = 2_000_000  # Google's recommended maximum payload per request (bytes sent)
CELL_CHAR_LIMIT = 50_000  # Google Sheets' limit on the characters in one cell

# Skipped reasons (Korean: desk staff read them in reports).
TOO_LONG = "구글 시트 셀 글자 수 한도(50,000자)를 넘음"
BAD_TEXT = "셀에 쓸 수 없는 글자(깨진 문자나 제어 문자)가 있음"
FORMULA_CELL = "셀에 수식이 있어 봇이 덮어쓰지 않음"

_log = structlog.get_logger("movebot.sheets.google")
_T = TypeVar("_T")

# Only what the backend needs of the metadata: titles, grid sizes, merged blocks and the
# protected ranges.
_METADATA_FIELDS = (
    "spreadsheetId,properties.title,"
    "sheets(properties(sheetId,title,index,sheetType,gridProperties(rowCount,columnCount)),"
    "merges,protectedRanges(range,unprotectedRanges,requestingUserCanEdit,warningOnly))"
)
_ID = re.compile(r"^[A-Za-z0-9_-]{10,}$")


class WriteInterrupted(ServiceFailure):
    """A write split over several requests failed after some of them landed.

    `result` holds the cells that did land, so the journal can still record them.
    """

    def __init__(self, message: str, result: WriteResult) -> None:
        super().__init__(message)
        self.result = result


class _Retryable(Exception):
    """A failure worth another attempt: an HTTP status or a dropped connection."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class _AuthRequest(google.auth.transport.requests.Request):
    """google-auth's transport for the token endpoint, failing fast on 408/429/5xx.

    google-auth retries its token requests with its own sleeps; raising here hands the
    failure to this module's retries, which are bounded and whose sleep tests can replace.
    """

    def __call__(
        self,
        url: Any,
        method: Any = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: Any = 120,
        **kwargs: Any,
    ) -> Any:
        response = super().__call__(
            url, method=method, body=body, headers=headers, timeout=timeout, **kwargs
        )
        if _is_retryable_status(response.status):
            raise _Retryable(f"Google's token endpoint answered HTTP {response.status}")
        return response


@dataclass(frozen=True, slots=True)
class _SheetMeta:
    sheet_id: int
    title: str
    rows: int
    columns: int
    # merged blocks: (first row, first column, last row, last column), rows 1-based, columns
    # 0-based (the API's GridRange is 0-based with exclusive ends, its zeros left out)
    merges: tuple[Range, ...] = ()
    # the protected ranges the bot may not edit, each with its unprotected parts
    protected: tuple[tuple[Range, tuple[Range, ...]], ...] = ()


_UNBOUNDED = 10**9


def _grid_range(grid: Mapping[str, Any]) -> Range:
    """A GridRange (0-based, end exclusive, a missing bound unbounded) as a `Range`."""
    return (
        int(grid.get("startRowIndex", 0)) + 1,
        int(grid.get("startColumnIndex", 0)),
        int(grid.get("endRowIndex", _UNBOUNDED)),
        int(grid.get("endColumnIndex", _UNBOUNDED)) - 1,
    )


def _protected(sheet: Mapping[str, Any]) -> tuple[tuple[Range, tuple[Range, ...]], ...]:
    """The sheet's protected ranges the credentials may not edit (a warning-only one may be)."""
    return tuple(
        (_grid_range(p.get("range", {})), tuple(map(_grid_range, p.get("unprotectedRanges", ()))))
        for p in sheet.get("protectedRanges", ())
        if not p.get("requestingUserCanEdit", False) and not p.get("warningOnly", False)
    )


def _is_retryable_status(status: int) -> bool:
    return status in (408, 429) or 500 <= status <= 599


def spreadsheet_id(spreadsheet: str) -> str:
    """The spreadsheet id of an id or of a sheet's full URL (`.../spreadsheets/d/<id>/edit`)."""
    text = (spreadsheet or "").strip()
    if "/" in text:
        try:
            return extract_id_from_url(text)
        except Exception:
            raise UserError(
                f"Setting source.spreadsheet is '{text}', a URL without a spreadsheet id in "
                "it. Copy the sheet's address from the browser "
                "(https://docs.google.com/spreadsheets/d/<id>/edit) or give the id alone."
            ) from None
    if not _ID.match(text):
        raise UserError(
            f"Setting source.spreadsheet is '{text}', which is neither a spreadsheet id nor a "
            "Google Sheets URL. Give the id (the part between /d/ and /edit in the sheet's "
            "address) or the whole address."
        )
    return text


def _meta_of(sheets: Mapping[str, _SheetMeta], title: str) -> _SheetMeta | None:
    """The tab titled `title`: exact, else the only one equal ignoring whitespace."""
    meta = sheets.get(title)
    if meta is None:
        near = [m for t, m in sheets.items() if header_key(t) == header_key(title)]
        meta = near[0] if len(near) == 1 else None
    return meta


def a1_range(
    title: str,
    first_row: int,
    first_col: int,
    last_col: int | None = None,
    last_row: int | None = None,
) -> str:
    """`'tab'!C5`, `'tab'!C5:E` (open-ended rows) or `'tab'!C5:E9`; rows 1-based, columns 0-based."""
    cells = rowcol_to_a1(first_row, first_col + 1)
    if last_col is not None:
        cells += f":{column_letter(last_col + 1)}{'' if last_row is None else last_row}"
    return absolute_range_name(title, cells)


def _runs(columns: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted columns -> runs of contiguous columns as (first, last)."""
    runs: list[tuple[int, int]] = []
    for col in sorted(set(columns)):
        if runs and runs[-1][1] == col - 1:
            runs[-1] = (runs[-1][0], col)
        else:
            runs.append((col, col))
    return runs


def _cell(value: Any) -> CellValue:
    """A value of an UNFORMATTED_VALUE answer as a Tab holds it ("" is an empty cell)."""
    if value == "" or value is None:
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


_AS_IS = (int, float, bool)  # with text that is not "": what `_cell` keeps as it is


def _row(values: Sequence[Any]) -> tuple[CellValue, ...]:
    # `_cell` inlined for the common cells: 100k rows of an answer are 1.7 million cells
    row = [v if (type(v) is str and v) or type(v) in _AS_IS else _cell(v) for v in values]
    while row and row[-1] is None:
        row.pop()
    return tuple(row)


def _header_text(value: Any) -> str:
    return cell_text(_cell(value))


def _error_message(err: APIError) -> str:
    """Google's own message, short; an HTML error page reduced to its title."""
    message = str(err.error.get("message", "")) if isinstance(err.error, Mapping) else ""
    if "<html" in message.lower():
        m = re.search(r"<title>(.*?)</title>", message, re.IGNORECASE | re.DOTALL)
        message = m.group(1).strip() if m else "an HTML error page"
    message = " ".join(message.split())
    return message[:300]


def _status_of(err: APIError) -> int:
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return status
    return int(err.code) if isinstance(err.code, int) else -1


def _cause(state: tenacity.RetryCallState) -> str:
    """What made the last attempt fail (its `_Retryable`), for the log and the message."""
    error = state.outcome.exception() if state.outcome else None
    return error.cause if isinstance(error, _Retryable) else str(error)


class GoogleBackend:
    """The `SheetBackend` for a Google Sheet (config `source: {kind: google, ...}`).

    `spreadsheet` is the spreadsheet id or the sheet's full URL. `credentials` is a
    service-account key (JSON file); without it, GOOGLE_APPLICATION_CREDENTIALS, else Google's
    application default credentials. The key is loaded on the first request.

    Retries: a request answered 408, 429 or 5xx (or whose connection dropped) is tried again
    after a random wait of up to `backoff_base * 2**(n-1)` seconds (at most `backoff_cap`),
    at most `max_attempts` times in all and never beyond `max_retry_seconds` from the first
    attempt; then `ServiceFailure` (exit 3). `sleep` and `clock` are for tests.
    """

    def __init__(
        self,
        spreadsheet: str,
        leads: TabSpec,
        ob: TabSpec,
        bot_note_header: str = "봇 확인",
        credentials: Path | str | None = None,
        *,
        auth: google.auth.credentials.Credentials | None = None,
        max_attempts: int = 7,
        max_retry_seconds: float = 150.0,
        backoff_base: float = 2.0,
        backoff_cap: float = 60.0,
        timeout: float | tuple[float, float] = (10.0, 120.0),
        max_body_bytes: int = MAX_BODY_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        vendors: TabSpec | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.spreadsheet_id = spreadsheet_id(spreadsheet)
        self.specs: dict[SheetKey, TabSpec] = {"leads": leads, "ob": ob}
        self.vendors = vendors  # the optional 장기고객 업체 리스트: read when the tab is there
        self.bot_note_header = bot_note_header
        self.credentials_path = Path(credentials) if credentials else None
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._clock = clock
        self._auth = auth
        self._credentials_source = "the credentials given" if auth is not None else ""
        self._http: HTTPClient | None = None
        self._sheets: dict[str, _SheetMeta] = {}

    # -- credentials and the HTTP client ------------------------------------------------------

    @property
    def service_account_email(self) -> str | None:
        """The e-mail the sheet must be shared with, when the credentials name one."""
        email = getattr(self._auth, "service_account_email", None)
        if isinstance(email, str) and "@" in email:
            return email
        return None

    def _load_credentials(self) -> google.auth.credentials.Credentials:
        if self._auth is not None:
            return self._auth
        env = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
        if self.credentials_path is not None:
            self._auth = self._credentials_from_file(
                self.credentials_path, f"source.credentials ({self.credentials_path})"
            )
        elif env:
            self._auth = self._credentials_from_file(
                Path(env), f"GOOGLE_APPLICATION_CREDENTIALS ({env})"
            )
        else:
            try:
                self._auth, _ = google.auth.default(scopes=list(SCOPES))
            except google.auth.exceptions.DefaultCredentialsError:
                raise UserError(
                    "No Google credentials found: source.credentials is not set, "
                    "GOOGLE_APPLICATION_CREDENTIALS is not set, and there are no application "
                    "default credentials. Create a service-account key (JSON) in the Google "
                    "Cloud console, set source.credentials to its path, and share the sheet "
                    "with the service account's e-mail."
                ) from None
            self._credentials_source = "the application default credentials"
        return self._auth

    def _credentials_from_file(
        self, path: Path, source: str
    ) -> google.auth.credentials.Credentials:
        self._credentials_source = source
        fix = (
            "Download a service-account key (JSON) from the Google Cloud console "
            "(IAM > Service accounts > Keys) and point source.credentials at it."
        )
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"Google credentials file not found: {source}. {fix}") from None
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(
                f"Cannot read the Google credentials file {source}: {err}. {fix}"
            ) from None
        except ValueError:
            raise UserError(f"The Google credentials file {source} is not JSON. {fix}") from None
        kind = info.get("type") if isinstance(info, dict) else None
        try:
            if kind == "service_account":
                return service_account.Credentials.from_service_account_info(
                    info, scopes=list(SCOPES)
                )
            if kind == "authorized_user":
                return user_credentials.Credentials.from_authorized_user_info(
                    info, scopes=list(SCOPES)
                )
        except (ValueError, google.auth.exceptions.GoogleAuthError) as err:
            raise UserError(
                f"The Google credentials file {source} is not a usable key: "
                f"{str(err).rstrip('.')}. {fix}"
            ) from None
        raise UserError(
            f"The Google credentials file {source} is not a service-account key "
            f"(its \"type\" is {kind!r}, expected 'service_account'). {fix}"
        )

    def _client(self) -> HTTPClient:
        if self._http is None:
            creds = self._load_credentials()
            session = google.auth.transport.requests.AuthorizedSession(
                creds, auth_request=_AuthRequest(requests.Session())
            )
            self._http = HTTPClient(auth=creds, session=session)
            self._http.set_timeout(self.timeout)
        return self._http

    # -- requests, retried -------------------------------------------------------------------

    def _call(self, what: str, send: Callable[[HTTPClient], _T]) -> _T:
        """`send` with retries (tenacity); every failure turned into a MovebotError."""
        client = self._client()
        start = self._clock()

        def give_up_now(state: tenacity.RetryCallState) -> bool:
            # before sleeping: out of attempts, or would the next one start beyond the budget?
            elapsed = self._clock() - start
            return (
                state.attempt_number >= self.max_attempts
                or elapsed + state.upcoming_sleep > self.max_retry_seconds
            )

        def log_retry(state: tenacity.RetryCallState) -> None:
            _log.warning(
                "sheets.retry",
                request=what,
                cause=_cause(state),
                attempt=state.attempt_number,
                delay=round(state.upcoming_sleep, 3),
            )

        def give_up(state: tenacity.RetryCallState) -> NoReturn:
            raise ServiceFailure(
                f"Google Sheets kept failing while {what} spreadsheet "
                f"{self.spreadsheet_id}: {_cause(state)}, {state.attempt_number} attempt(s) over "
                f"{self._clock() - start:.0f} s. The run stopped there; no cell value was changed "
                "by the failed request. This is on Google's side or the network's "
                "(or the per-minute quota is exhausted by other programs using the same "
                "account): try again in a few minutes."
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=give_up_now,
            wait=tenacity.wait_random_exponential(
                multiplier=self.backoff_base, max=self.backoff_cap
            ),
            sleep=self._sleep,
            before_sleep=log_retry,
            retry_error_callback=give_up,
        )
        return retrying(self._attempt, what, send, client)

    def _attempt(self, what: str, send: Callable[[HTTPClient], _T], client: HTTPClient) -> _T:
        """One try of `send`: `_Retryable` for what deserves another, else a MovebotError."""
        try:
            return send(client)
        except APIError as err:
            status = _status_of(err)
            if not _is_retryable_status(status):
                raise self._api_failure(err, status, what) from None
            raise _Retryable(f"HTTP {status} ({_error_message(err) or 'no message'})") from None
        except google.auth.exceptions.RefreshError as err:
            if not getattr(err, "retryable", False):
                raise self._refused_credentials(err) from None
            raise _Retryable(f"Google's token endpoint: {err}") from None
        except google.auth.exceptions.TransportError as err:
            raise _Retryable(
                f"cannot reach Google's token endpoint ({type(err).__name__})"
            ) from None
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as err:
            raise _Retryable(f"connection failed ({type(err).__name__})") from None

    def _refused_credentials(self, err: Exception) -> UserError:
        detail = err.args[0] if err.args and isinstance(err.args[0], str) else str(err)
        return UserError(
            f"Google refused the credentials from {self._credentials_source or 'the key'}: "
            f"{detail.rstrip('.')}. The key may have been deleted or disabled; create a new service-account "
            "key (JSON) and point source.credentials at it."
        )

    def _api_failure(self, err: APIError, status: int, what: str) -> MovebotError:
        sid = self.spreadsheet_id
        message = _error_message(err)
        if status == 403:
            if re.search(r"has not been used|is disabled|SERVICE_DISABLED", str(err.error)):
                return SheetUnavailable(
                    "The Google Sheets API is not enabled for the Google Cloud project of "
                    f"the credentials ({message}). Enable 'Google Sheets API' in that project "
                    "(APIs & Services > Library), wait a minute, and run again."
                )
            if "insufficient authentication scopes" in message.lower():
                return SheetUnavailable(
                    f"The credentials movebot uses ({self._credentials_source or 'the default'})"
                    f" were not granted the Google Sheets scope (403: {message}). Use a "
                    "service-account key (source.credentials), or sign in again with `gcloud "
                    "auth application-default login --scopes="
                    f"{SCOPES[0]},https://www.googleapis.com/auth/cloud-platform`."
                )
            email = self.service_account_email
            who = f"the service account {email}" if email else "the Google account movebot uses"
            return SheetUnavailable(
                f"Google Sheets refused access to spreadsheet {sid} while {what} it (403: "
                f"{message or 'permission denied'}). Share the sheet with {who} as an Editor "
                f"(the sheet's Share button, add {email or 'that account'}), then run again."
            )
        if status == 404:
            return SheetUnavailable(
                f"Spreadsheet {sid} was not found (404). Check source.spreadsheet: it must be "
                "the id between /d/ and /edit in the sheet's address, or that whole address."
            )
        if status == 401:
            return self._refused_credentials(err)
        if status == 400 and "not supported for this document" in message:
            return SheetUnavailable(
                f"Spreadsheet {sid} is an Excel file stored in Google Drive, not a Google "
                "Sheet, so the Sheets API cannot edit it. Open it and choose File > Save as "
                "Google Sheets, then use the new sheet's id (or run movebot on the .xlsx "
                "with --workbook)."
            )
        if status == 400 and ("exceeds grid limits" in message or "Unable to parse" in message):
            return SourceChanged(
                f"Spreadsheet {sid} changed shape while movebot was {what} it (Google said: "
                f"{message}): a tab was renamed or columns or rows were deleted. Nothing more "
                "was written; run again."
            )
        return MovebotError(
            f"Google Sheets rejected a request while {what} spreadsheet {sid} "
            f"(HTTP {status}: {message or 'no message'})."
        )

    # -- metadata ----------------------------------------------------------------------------

    def _fetch_metadata(self) -> dict[str, _SheetMeta]:
        sid = self.spreadsheet_id
        body = self._call(
            "reading",
            lambda http: http.spreadsheets_get(sid, params={"fields": _METADATA_FIELDS}),
        )
        sheets: dict[str, _SheetMeta] = {}
        for sheet in body.get("sheets", []):
            props = sheet.get("properties", {})
            if props.get("sheetType", "GRID") != "GRID":
                continue
            grid = props.get("gridProperties", {})
            meta = _SheetMeta(
                sheet_id=int(props.get("sheetId", 0)),
                title=str(props.get("title", "")),
                rows=int(grid.get("rowCount", 0)),
                columns=int(grid.get("columnCount", 0)),
                merges=tuple(_grid_range(m) for m in sheet.get("merges", ())),
                protected=_protected(sheet),
            )
            sheets[meta.title] = meta
        self._sheets = sheets
        return sheets

    def _find_tabs(self, sheets: Mapping[str, _SheetMeta]) -> dict[SheetKey, _SheetMeta]:
        found: dict[SheetKey, _SheetMeta] = {}
        missing: list[str] = []
        for key, spec in self.specs.items():
            meta = _meta_of(sheets, spec.title)
            if meta is None:
                missing.append(f"'{spec.title}' (sheets.{key}.title)")
            else:
                found[key] = meta
        if missing:
            tabs = ", ".join(f"'{t}'" for t in sheets) or "(none)"
            raise MissingTab(
                f"Spreadsheet {self.spreadsheet_id} has no tab {' and no tab '.join(missing)}. "
                f"Tabs found there: {tabs}. Rename the tab in the sheet, or set the tab's "
                "title in the config."
            )
        return found

    # -- read --------------------------------------------------------------------------------

    def read(self) -> Snapshot:
        """Both tabs (and the vendor list, when the metadata shows that tab): one
        `spreadsheets.get` and one `values.batchGet`."""
        with paused():  # a whole sheet's answer and rows (`bot.collector`)
            return self._read()

    def _read(self) -> Snapshot:
        sheets = self._fetch_metadata()
        tabs: dict[TabKey, _SheetMeta] = {k: m for k, m in self._find_tabs(sheets).items()}
        specs: dict[TabKey, TabSpec] = {k: s for k, s in self.specs.items()}
        if self.vendors is not None:
            vendors = _meta_of(sheets, self.vendors.title)
            if vendors is not None:
                tabs[VENDORS], specs[VENDORS] = vendors, self.vendors
        ranges: list[str] = []
        keys: list[TabKey] = []
        for key, meta in tabs.items():
            spec = specs[key]
            if meta.rows >= spec.header_row and meta.columns > 0:
                keys.append(key)
                ranges.append(a1_range(meta.title, spec.header_row, 0, meta.columns - 1))
        answers = self._batch_get(ranges, "reading")
        values: dict[TabKey, list[list[Any]]] = {k: [] for k in tabs}
        for key, answer in zip(keys, answers, strict=True):
            values[key] = answer.get("values", [])
        try:
            built = {key: self._tab(key, specs[key], tabs[key], values[key]) for key in tabs}
        except HeaderMismatch as err:
            raise MissingHeader(f"Spreadsheet {self.spreadsheet_id}: {err}") from None
        _log.info(
            "sheets.read",
            spreadsheet=self.spreadsheet_id,
            leads=len(built["leads"].rows),
            ob=len(built["ob"].rows),
        )
        return Snapshot(
            source=self.spreadsheet_id,
            leads_tab=built["leads"],
            ob_tab=built["ob"],
            vendors_tab=built.get(VENDORS),
        )

    def _batch_get(
        self, ranges: list[str], what: str, render: str = "UNFORMATTED_VALUE"
    ) -> list[dict[str, Any]]:
        if not ranges:
            return []
        sid = self.spreadsheet_id
        params = {
            "valueRenderOption": render,
            "dateTimeRenderOption": "SERIAL_NUMBER",
            "majorDimension": "ROWS",
        }
        body = self._call(what, lambda http: http.values_batch_get(sid, ranges, dict(params)))
        answers = body.get("valueRanges", [])
        if len(answers) != len(ranges):
            raise MovebotError(
                f"Google Sheets answered {len(answers)} ranges for {len(ranges)} asked "
                f"while {what} spreadsheet {sid}."
            )
        return answers

    def _tab(self, key: TabKey, spec: TabSpec, meta: _SheetMeta, values: list[list[Any]]) -> Tab:
        headers = tuple(_header_text(v) for v in (values[0] if values else []))
        columns = find_columns(
            key, meta.title, spec.header_row, headers, spec.aliases, self.bot_note_header
        )
        tab = Tab(
            key=key,
            title=meta.title,
            header_row=spec.header_row,
            headers=headers,
            columns=columns,
            rows=tuple(_row(r) for r in values[1:]),
            grid_columns=meta.columns,
            merges=tuple(m for m in meta.merges if m[2] >= spec.header_row),
            cell_limit=CELL_CHAR_LIMIT,
        )
        return tab if key == VENDORS else with_blocked(tab, (), meta.protected)

    # -- write -------------------------------------------------------------------------------

    def write(
        self, snapshot: Snapshot, writes: Sequence[CellWrite], ahead: Ahead | None = None
    ) -> WriteResult:
        """Land `writes` where the sheet still agrees with them: widen the grid if needed,
        re-read the touched rows, settle, then one RAW `values.batchUpdate` per ~2 MB, then
        read the written rows back."""
        # no collector pass either between the verify read and the write (`bot.collector`)
        with paused():
            return self._write(snapshot, list(writes), ahead)

    def _write(
        self, snapshot: Snapshot, writes: list[CellWrite], ahead: Ahead | None
    ) -> WriteResult:
        if not writes:
            return WriteResult()
        for w in writes:
            tab = snapshot.tab(w.sheet)
            if w.column < 0 or w.row < tab.header_row:
                raise ValueError(f"{tab.title}: no such cell (row {w.row}, column {w.column})")
        ready, skipped = _refuse_rows(writes, _unsendable)
        if not ready:
            return WriteResult(skipped=tuple(skipped))
        touched: dict[SheetKey, Tab] = {w.sheet: snapshot.tab(w.sheet) for w in ready}
        grid = self._widen(touched, ready)
        fresh = self._verify_read(touched, ready, grid)
        landing, settled = settle(ready, fresh, touched)
        skipped.extend(_formula_reasons(settled, fresh))
        written: list[CellWrite] = []
        if landing:
            written, edited = self._put(touched, landing, grid, ahead)
            skipped.extend(edited)
        suspect: list[CellWrite] = []
        if written:
            # the read-back: one request, the written rows as they are now
            suspect = moved(written, self._read_back(touched, written, grid))
        _log.info(
            "sheets.write",
            spreadsheet=self.spreadsheet_id,
            written=len(written),
            skipped=len(skipped),
        )
        if suspect:
            _log.warning("sheets.write.suspect", cells=len(suspect))
        return WriteResult(
            written=tuple(written),
            skipped=tuple(skipped),
            suspect=tuple(suspect),
        )

    def _grid_columns(self, tab: Tab) -> tuple[int, _SheetMeta | None]:
        meta = self._sheets.get(tab.title)
        known = [n for n in (tab.grid_columns, meta.columns if meta else None) if n is not None]
        return (max(known) if known else 0), meta

    def _widen(
        self, touched: Mapping[SheetKey, Tab], writes: Sequence[CellWrite]
    ) -> dict[SheetKey, int]:
        """Append columns where a write falls beyond a tab's grid (one request for all tabs).

        Returns each touched tab's column count after widening."""
        need: dict[SheetKey, int] = defaultdict(int)
        for w in writes:
            need[w.sheet] = max(need[w.sheet], w.column + 1)
        grid: dict[SheetKey, int] = {}
        short: list[tuple[SheetKey, int]] = []
        for key, tab in touched.items():
            columns, _ = self._grid_columns(tab)
            grid[key] = max(columns, need[key])
            if need[key] > columns:
                short.append((key, need[key] - columns))
        if not short:
            return grid
        if any(touched[key].title not in self._sheets for key, _ in short):
            self._fetch_metadata()  # only when write() runs without this backend's read()
        requests_: list[dict[str, Any]] = []
        for key, _ in short:
            meta = self._sheets.get(touched[key].title)
            if meta is None:
                raise SourceChanged(
                    f"Spreadsheet {self.spreadsheet_id} no longer has the tab "
                    f"'{touched[key].title}' it was read from. Nothing was written; run again."
                )
            length = need[key] - meta.columns
            if length > 0:
                requests_.append(
                    {
                        "appendDimension": {
                            "sheetId": meta.sheet_id,
                            "dimension": "COLUMNS",
                            "length": length,
                        }
                    }
                )
        if requests_:
            sid = self.spreadsheet_id
            body = {"requests": requests_}
            self._call("widening", lambda http: http.batch_update(sid, body))
            for key, _ in short:
                meta = self._sheets[touched[key].title]
                self._sheets[meta.title] = replace(meta, columns=max(meta.columns, need[key]))
            _log.info("sheets.widen", tabs=[touched[k].title for k, _ in short])
        return grid

    def _verify_read(
        self,
        touched: Mapping[SheetKey, Tab],
        writes: Sequence[CellWrite],
        grid: Mapping[SheetKey, int],
        whole: bool = False,
    ) -> dict[SheetKey, Tab]:
        """The fingerprint columns and written columns of each touched tab, as they are now.

        Narrow (the usual case): only the header row and the touched rows, adjacent rows in one
        range, so the read and what follows it stay short at any sheet size; a 봇 확인 column
        the write adds is read whole (its cells must all be empty). Whole columns when a
        touched row no longer holds its fingerprint (a row moved: it is looked for in the
        whole tab), or lies past the grid (staff deleted rows at the bottom: Google answers
        400 for the narrow ranges)."""
        rows: dict[SheetKey, set[int]] = defaultdict(set)
        columns: dict[SheetKey, set[int]] = defaultdict(set)
        added: dict[SheetKey, set[int]] = defaultdict(set)  # 봇 확인 columns this write adds
        for w in writes:
            if w.row == touched[w.sheet].header_row:
                added[w.sheet].add(w.column)
            else:
                rows[w.sheet].add(w.row)
                columns[w.sheet].add(w.column)
        for key, tab in touched.items():
            columns[key].update(_fingerprint_columns(tab))
        if whole:
            every = {key: columns[key] | added[key] for key in touched}
            return self._read_cells(touched, grid, "re-reading", {}, {}, every)
        narrow = {key: columns[key] - added[key] for key in touched}
        try:
            fresh = self._read_cells(touched, grid, "re-reading", rows, narrow, added)
        except SourceChanged:  # a touched row past the grid: staff deleted rows at the bottom
            return self._verify_read(touched, writes, grid, whole=True)
        if moved(writes, fresh):
            return self._verify_read(touched, writes, grid, whole=True)
        return fresh

    def _read_back(
        self,
        touched: Mapping[SheetKey, Tab],
        written: Sequence[CellWrite],
        grid: Mapping[SheetKey, int],
    ) -> dict[SheetKey, Tab]:
        """The fingerprints of the written rows right after the write (one request; one more,
        of the fingerprint columns whole, when staff deleted rows below the last written one
        since: a range past the grid's last row is a 400, and the cells did land)."""
        rows: dict[SheetKey, set[int]] = defaultdict(set)
        for w in written:
            rows[w.sheet].add(w.row)
        fingerprints = {key: set(_fingerprint_columns(tab)) for key, tab in touched.items()}
        try:
            return self._read_cells(touched, grid, "reading back", rows, fingerprints, {})
        except SourceChanged:
            return self._read_cells(touched, grid, "reading back", {}, {}, fingerprints)

    def _read_cells(
        self,
        touched: Mapping[SheetKey, Tab],
        grid: Mapping[SheetKey, int],
        what: str,
        rows: Mapping[SheetKey, set[int]],
        columns: Mapping[SheetKey, set[int]],
        whole: Mapping[SheetKey, set[int]],
    ) -> dict[SheetKey, Tab]:
        """Each touched tab as it is now, holding only what was asked for: `columns` (first to
        last) on the header row and on `rows` (sheet rows, in at most 100 ranges), and the
        `whole` columns on every row; the other rows stay empty. One `values.batchGet`.

        FORMULA render: a formula cell reads as its formula, so it never matches a planned
        value and the bot never writes over it; other cells read as with UNFORMATTED_VALUE."""
        # (tab, first sheet row, first column, whether every row of the answer is kept)
        plan: list[tuple[SheetKey, int, int, bool]] = []
        ranges: list[str] = []
        for key, tab in touched.items():
            if columns.get(key):
                first, last = min(columns[key]), max(columns[key])
                for r1, r2 in _spans(rows.get(key, ()), tab.header_row):
                    plan.append((key, r1, first, False))
                    ranges.append(a1_range(tab.title, r1, first, last, r2))
            for first, last in _runs(whole.get(key, ())):
                plan.append((key, tab.header_row, first, True))
                ranges.append(a1_range(tab.title, tab.header_row, first, last))
        answers = self._batch_get(ranges, what, render="FORMULA")
        cells: dict[SheetKey, dict[int, list[Any]]] = {key: {} for key in touched}
        for (key, r1, first, every), answer in zip(plan, answers, strict=True):
            by_row, keep, header_row = cells[key], rows.get(key, set()), touched[key].header_row
            for row, values in enumerate(answer.get("values", ()), r1):
                # the rows between the touched ones (a range spans them) are not needed
                if values and (every or row in keep or row == header_row):
                    _place(by_row.setdefault(row, []), first, values)
        return {key: _fresh(tab, cells[key], grid.get(key)) for key, tab in touched.items()}

    def _put(
        self,
        touched: Mapping[SheetKey, Tab],
        landing: Sequence[CellWrite],
        grid: Mapping[SheetKey, int],
        ahead: Ahead | None,
    ) -> tuple[list[CellWrite], list[Skipped]]:
        """One RAW values.batchUpdate per chunk whose body, as sent (UTF-8 JSON), is at most
        `max_body_bytes`; rows taken in sheet order, a row's cells never straddle two chunks.
        Returns the cells that landed and the ones a retry found edited by staff.

        A single row larger than the limit still goes, alone in its chunk. A chunk is never
        resent blind: before each retry its cells are read again (`_reverify`)."""
        prefixes = {key: _range_prefix_bytes(tab.title) for key, tab in touched.items()}
        bodies = _bodies(landing, prefixes, self.max_body_bytes)
        url = SPREADSHEET_VALUES_BATCH_UPDATE_URL % self.spreadsheet_id
        written: list[CellWrite] = []
        skipped: list[Skipped] = []
        for n, body in enumerate(bodies, 1):
            what = "writing" if len(bodies) == 1 else f"writing (part {n} of {len(bodies)})"
            pending = list(body.writes)
            sending = body
            tries = 0
            if ahead is not None:
                ahead(pending)  # journaled as pending before the request goes out

            def send(http: HTTPClient) -> Any:
                nonlocal pending, sending, tries
                tries += 1
                if tries > 1:
                    pending = self._reverify(touched, pending, grid, written, skipped)
                    sending = _bodies(pending, prefixes, None)[0]
                if not pending:
                    return None
                data = sending.value_ranges(touched)
                payload = _encode({"valueInputOption": "RAW", "data": data})
                return http.request("post", url, data=payload, headers=dict(_JSON_HEADERS)).json()

            try:
                self._call(what, send)
            except MovebotError as err:
                if not written:
                    raise
                raise WriteInterrupted(
                    f"{err} The write was split in {len(bodies)} parts to stay under Google's "
                    f"request size; parts 1 to {n - 1} ({len(written)} cells) had landed.",
                    WriteResult(
                        written=tuple(written),
                        skipped=tuple(skipped),
                    ),
                ) from None
            _log.debug("sheets.write.part", part=n, parts=len(bodies), cells=len(pending))
            written.extend(pending)
        return written, skipped

    def _reverify(
        self,
        touched: Mapping[SheetKey, Tab],
        pending: Sequence[CellWrite],
        grid: Mapping[SheetKey, int],
        written: list[CellWrite],
        skipped: list[Skipped],
    ) -> list[CellWrite]:
        """Before a write is retried: read its cells again; rows already holding the bot's
        values landed (the lost answer's request did), rows staff edited meanwhile are
        skipped; the rest go again."""
        fresh = self._verify_read(touched, pending, grid)
        landed, rest = already_landed(pending, fresh)
        written.extend(landed)
        again, edited = settle(rest, fresh, touched)
        skipped.extend(_formula_reasons(edited, fresh))
        _log.info("sheets.write.reverified", landed=len(landed), skipped=len(edited))
        return again


def _bodies(
    writes: Sequence[CellWrite], prefixes: Mapping[SheetKey, int], limit: int | None
) -> list[_Body]:
    """`writes` as values.batchUpdate bodies of at most `limit` bytes each (None: one body),
    rows in sheet order; a row's cells, and the rows of one rule's change group (they land
    together or not at all), never split between two bodies."""
    bodies = [_Body(prefixes)]
    for group in _tied_rows(writes):
        body = bodies[-1]
        cost = body.cost(group)
        if limit is not None and body.writes and body.size + cost > limit:
            body = _Body(prefixes)
            bodies.append(body)
            cost = body.cost(group)
        body.add(group, cost)
    return bodies


def _tied_rows(writes: Sequence[CellWrite]) -> list[list[CellWrite]]:
    """The writes in sets that must travel in one request: each row's, joined with the rows
    sharing a change group with it; in order of their first row, rows in sheet order."""
    rows: dict[tuple[SheetKey, int], list[CellWrite]] = defaultdict(list)
    for w in sorted(writes, key=lambda w: (w.sheet, w.row)):
        rows[(w.sheet, w.row)].append(w)
    parent = {row: row for row in rows}

    def root(row: tuple[SheetKey, int]) -> tuple[SheetKey, int]:
        while parent[row] != row:
            parent[row] = parent[parent[row]]
            row = parent[row]
        return row

    first_of: dict[int, tuple[SheetKey, int]] = {}
    for row, group in rows.items():
        for g in {g for w in group for g in w.groups}:
            a, b = root(first_of.setdefault(g, row)), root(row)
            if a != b:
                parent[max(a, b)] = min(a, b)
    tied: dict[tuple[SheetKey, int], list[CellWrite]] = defaultdict(list)
    for row, group in rows.items():  # in sheet order: each set's first row comes first
        tied[root(row)].extend(group)
    return list(tied.values())


def _encode(body: Any) -> bytes:
    """A request body as sent: compact JSON, UTF-8 (Korean text as itself, not `\\uXXXX`)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


def _json_bytes(value: str) -> int:
    """`len(_encode(value))`, without building an encoder for each cell."""
    return len(encode_basestring(value).encode("utf-8"))


_JSON_HEADERS = {"Content-Type": "application/json; charset=UTF-8"}
# `{"valueInputOption":"RAW","data":[]}`: the body without its ValueRanges.
_BODY_BYTES = len(_encode({"valueInputOption": "RAW", "data": []}))
# `{"range":"","majorDimension":"ROWS","values":[]}` less the range's `""`: a ValueRange
# without its range (a JSON string) and its cells (each `[value]`, comma-separated).
_RUN_BYTES = len(_encode({"range": "", "majorDimension": "ROWS", "values": []})) - 2


def _range_prefix_bytes(title: str) -> int:
    """The encoded bytes of `"'tab'!"`, the start of every range of the tab, quotes included;
    the column letters, row numbers and `:` after it are one byte each."""
    return _json_bytes(absolute_range_name(title) + "!")


@dataclass(slots=True)
class _Run:
    """Cells of one column on consecutive rows: one ValueRange."""

    sheet: SheetKey
    column: int
    first: int
    last: int
    writes: list[CellWrite]


class _Body:
    """A values.batchUpdate body filled row by row, its encoded size (`_encode`) kept exact.

    Rows come in (sheet, row) order, so a cell either extends its column's run ending on the
    row above or starts a new run (a ValueRange); `size` is then the length of the bytes sent.
    """

    def __init__(self, prefixes: Mapping[SheetKey, int]) -> None:
        self.prefixes = prefixes
        self.runs: list[_Run] = []
        self.open: dict[tuple[SheetKey, int], _Run] = {}  # each column's latest run
        self.writes: list[CellWrite] = []
        self.size = _BODY_BYTES

    def _range_bytes(self, sheet: SheetKey, column: int, first: int, last: int) -> int:
        letters = len(column_letter(column + 1))
        size = self.prefixes[sheet] + letters + len(str(first))
        return size if last == first else size + 1 + letters + len(str(last))

    def _step(self, w: CellWrite, span: tuple[int, int] | None, runs: int) -> int:
        """The bytes `w` adds: extending the run `span` (first, last row) of its column when
        that ends on the row above, else a new run after `runs` others."""
        cell = _json_bytes(w.new) + 2  # [value]
        if span is not None and span[1] == w.row - 1:
            before = self._range_bytes(w.sheet, w.column, *span)
            after = self._range_bytes(w.sheet, w.column, span[0], w.row)
            return after - before + 1 + cell
        new = _RUN_BYTES + self._range_bytes(w.sheet, w.column, w.row, w.row) + cell
        return new + (1 if runs else 0)

    def cost(self, group: Sequence[CellWrite]) -> int:
        """The bytes `add(group)` would add."""
        spans: dict[tuple[SheetKey, int], tuple[int, int]] = {
            key: (run.first, run.last)
            for key in {(w.sheet, w.column) for w in group}
            if (run := self.open.get(key)) is not None
        }
        runs = len(self.runs)
        total = 0
        for w in group:
            key = (w.sheet, w.column)
            span = spans.get(key)
            total += self._step(w, span, runs)
            if span is not None and span[1] == w.row - 1:
                spans[key] = (span[0], w.row)
            else:
                spans[key] = (w.row, w.row)
                runs += 1
        return total

    def add(self, group: Sequence[CellWrite], cost: int) -> None:
        """`group` in; `cost` is what `cost(group)` said it adds."""
        self.size += cost
        for w in group:
            key = (w.sheet, w.column)
            run = self.open.get(key)
            if run is not None and run.last == w.row - 1:
                run.last = w.row
                run.writes.append(w)
            else:
                run = _Run(w.sheet, w.column, w.row, w.row, [w])
                self.runs.append(run)
                self.open[key] = run
            self.writes.append(w)

    def value_ranges(self, touched: Mapping[SheetKey, Tab]) -> list[dict[str, Any]]:
        """The runs as ValueRanges, by sheet, column and row."""
        data: list[dict[str, Any]] = []
        for run in sorted(self.runs, key=lambda r: (r.sheet, r.column, r.first)):
            title = touched[run.sheet].title
            if run.first == run.last:
                rng = a1_range(title, run.first, run.column)
            else:
                rng = a1_range(title, run.first, run.column, run.column, run.last)
            data.append(
                {"range": rng, "majorDimension": "ROWS", "values": [[w.new] for w in run.writes]}
            )
        return data


_MAX_VERIFY_RANGES = 100  # ranges of one narrow verify read (its GET's query stays short)


def _spans(rows: Iterable[int], header_row: int) -> list[tuple[int, int]]:
    """The header row, then the sheet rows to verify as (first, last) spans: adjacent rows in
    one span, the nearest spans joined until there are at most `_MAX_VERIFY_RANGES`."""
    spans = _runs(r for r in rows if r > header_row)
    if len(spans) >= _MAX_VERIFY_RANGES:
        gaps = sorted(b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False))
        widest = gaps[len(spans) - _MAX_VERIFY_RANGES]  # joined: every gap up to this one
        joined = [spans[0]]
        for first, last in spans[1:]:
            if first - joined[-1][1] <= widest:
                joined[-1] = (joined[-1][0], last)
            else:
                joined.append((first, last))
        spans = joined
    return [(header_row, header_row), *spans]


def _fingerprint_columns(tab: Tab) -> list[int]:
    return [tab.columns[f] for f in FINGERPRINT_FIELDS[tab.key] if f in tab.columns]


def _place(cells: list[Any], first: int, values: Sequence[Any]) -> None:
    """`values` into a row's `cells` from column `first` on (columns before it padded)."""
    if len(cells) < first:
        cells.extend([None] * (first - len(cells)))
    cells[first : first + len(values)] = values


def _fresh(tab: Tab, cells: Mapping[int, list[Any]], grid_columns: int | None) -> Tab:
    """`tab` with the cells of a verify read (sheet row -> its cells); rows not read empty."""
    first = tab.header_row + 1
    rows: list[tuple[CellValue, ...]] = [()] * (max(cells, default=tab.header_row) + 1 - first)
    for row, values in cells.items():
        if row >= first:
            rows[row - first] = _row(values)
    return Tab(
        key=tab.key,
        title=tab.title,
        header_row=tab.header_row,
        headers=tuple(_header_text(v) for v in cells.get(tab.header_row, ())),
        columns=dict(tab.columns),
        rows=tuple(rows),
        grid_columns=grid_columns,
        merges=tab.merges,
    )


def _unsendable(w: CellWrite) -> str | None:
    """Why a write cannot go in any request (write.blocked turned off lets it reach here):
    beyond the cell's limit, or a character no request can carry (a lone surrogate)."""
    if len(w.new) > CELL_CHAR_LIMIT:
        return TOO_LONG
    return BAD_TEXT if unwritable(w.new) else None


def _refuse_rows(
    writes: Sequence[CellWrite], reason_of: Callable[[CellWrite], str | None]
) -> tuple[list[CellWrite], list[Skipped]]:
    """Writes split into those that go on and those skipped: a row's writes stay together."""
    reasons: dict[tuple[SheetKey, int], str] = {}
    for w in writes:
        reason = reason_of(w)
        if reason and (w.sheet, w.row) not in reasons:
            reasons[(w.sheet, w.row)] = reason
    if not reasons:
        return list(writes), []
    ready = [w for w in writes if (w.sheet, w.row) not in reasons]
    return ready, [
        Skipped(w, reasons[(w.sheet, w.row)]) for w in writes if (w.sheet, w.row) in reasons
    ]


def _formula_reasons(skipped: Sequence[Skipped], fresh: Mapping[SheetKey, Tab]) -> list[Skipped]:
    """Settle's "staff edited the cell" becomes "the cell holds a formula" where it does."""
    formula_rows: set[tuple[SheetKey, int]] = set()
    for s in skipped:
        w = s.write
        tab = fresh[w.sheet]
        i = w.row - tab.header_row - 1
        row = tab.rows[i] if 0 <= i < len(tab.rows) else ()
        value = row[w.column] if w.column < len(row) else None
        if isinstance(value, str) and value.startswith("=") and value != w.old:
            formula_rows.add((w.sheet, w.row))
    return [
        Skipped(s.write, FORMULA_CELL) if (s.write.sheet, s.write.row) in formula_rows else s
        for s in skipped
    ]
