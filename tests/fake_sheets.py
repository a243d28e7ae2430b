"""An in-memory Google Sheets v4 API, served through `responses`, for running real gspread code.

It plays the parts of the API movebot uses — `spreadsheets.get`, `spreadsheets.batchUpdate`
(appendDimension, insertDimension, addSheet), `values.get`, `values.batchGet`, `values.update`,
`values.batchUpdate` — and Google's OAuth token endpoint, which checks the service account's
signed JWT like Google does. It behaves like the API where movebot could tell the difference:

- A1 ranges: quoted tab names (`'OB 상세'!A1`, `''` escaping), open-ended ranges (`A1:ZZ`,
  `A:C`, `A2:C`, `2:5`), a range or a write beyond the grid is a 400 "exceeds grid limits",
  an unknown tab a 400 "Unable to parse range".
- Reads: FORMATTED_VALUE / UNFORMATTED_VALUE / FORMULA, dates as serial numbers (days since
  1899-12-30) or formatted strings, trailing empty cells and rows dropped, `values` omitted for
  an empty range, ROWS or COLUMNS major dimension.
- Writes: RAW keeps text as text; USER_ENTERED turns `=...` into a formula and numeric, boolean
  and ISO date text into numbers, booleans and dates; `null` skips a cell, `""` clears it; a
  cell holds at most 50,000 characters; a batch is validated before any cell changes.
- Every request is checked against the Sheets v4 discovery document that google-api-python-client
  ships: the HTTP method and path must be a real method, each query parameter must exist for it
  (with a valid enum value), and every body field must exist in the request schema, recursively.
  A violation is answered 400 like Google would, recorded in `violations`, and fails the test
  through `assert_clean()` (the `serve()` context manager calls it).

Test hooks: `fail()` queues 408/429/5xx answers (a 502 comes as Google's HTML page), its `then`
runs after such an answer (staff editing while the bot waits to retry), `lose_answer()` serves a
request and drops the connection before answering (the write landed, the bot cannot know),
`before()` runs a function just before a request kind is served (a member of staff editing the sheet),
`calls` / `count()` record every request with its status and body (size, bytes as sent and
decoded). A body must be `application/json` in UTF-8, as `\\uXXXX` escapes or raw UTF-8.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import requests
import responses
from openpyxl.utils import column_index_from_string, get_column_letter

SHEETS_ROOT = "https://sheets.googleapis.com/"
TOKEN_URI = "https://oauth2.googleapis.com/token"
SPREADSHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
CELL_CHAR_LIMIT = 50_000
_EPOCH = datetime(1899, 12, 30)

GOOGLE_502_PAGE = """<!DOCTYPE html>
<html lang=en>
  <meta charset=utf-8>
  <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">
  <title>Error 502 (Server Error)!!1</title>
  <p><b>502.</b> <ins>That's an error.</ins>
  <p>The server encountered a temporary error and could not complete your request.
  <p>Please try again in 30 seconds.  <ins>That's all we know.</ins>
"""

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class FakeSheetsViolation(AssertionError):
    """A request the real Sheets API would not accept as movebot sent it."""


class _ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula (written with USER_ENTERED). The fake does not evaluate it:
    reads show `value` (default empty) and FORMULA reads show `text`."""

    text: str
    value: Any = ""


# --- the discovery document -------------------------------------------------------------------


def load_discovery() -> dict[str, Any]:
    """The Sheets v4 discovery document shipped in google-api-python-client."""
    doc = resources.files("googleapiclient").joinpath("discovery_cache/documents/sheets.v4.json")
    return json.loads(doc.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class _Method:
    id: str
    kind: str  # "values.batchGet", "spreadsheets.get", ...
    http_method: str
    pattern: re.Pattern[str]
    literal: int  # how much of the path is literal text: more specific patterns first
    parameters: dict[str, Any]
    request: str | None
    response: str | None


class Discovery:
    """Methods, parameters and schemas of the Sheets v4 API, for checking requests."""

    def __init__(self, doc: dict[str, Any] | None = None) -> None:
        self.doc = doc or load_discovery()
        self.schemas: dict[str, Any] = self.doc["schemas"]
        self.standard_parameters: dict[str, Any] = self.doc["parameters"]
        methods: list[_Method] = []

        def walk(resources_: dict[str, Any]) -> None:
            for res in resources_.values():
                for m in res.get("methods", {}).values():
                    path = m.get("flatPath", m["path"])
                    regex = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)).replace(
                        "(?P<+", "(?P<"
                    )
                    kind = (
                        m["id"].removeprefix("sheets.").replace("spreadsheets.values.", "values.")
                    )
                    methods.append(
                        _Method(
                            id=m["id"],
                            kind=kind,
                            http_method=m["httpMethod"],
                            pattern=re.compile("^" + regex + "$"),
                            literal=len(re.sub(r"\{[^}]+\}", "", path)),
                            parameters=m.get("parameters", {}),
                            request=(m.get("request") or {}).get("$ref"),
                            response=(m.get("response") or {}).get("$ref"),
                        )
                    )
                walk(res.get("resources", {}))

        walk(self.doc["resources"])
        self.methods = sorted(methods, key=lambda m: -m.literal)

    def match(self, http_method: str, path: str) -> tuple[_Method, dict[str, str]]:
        """The method a request's path and HTTP method call, with its path parameters."""
        path = path.lstrip("/")
        same_path = []
        for m in self.methods:
            found = m.pattern.match(path)
            if found:
                if m.http_method == http_method:
                    params = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
                    return m, params
                same_path.append(m.http_method)
        if same_path:
            raise FakeSheetsViolation(
                f"{http_method} /{path}: the Sheets API has this path only for "
                f"{', '.join(sorted(set(same_path)))}"
            )
        raise FakeSheetsViolation(f"{http_method} /{path} is no Sheets v4 method")

    def check_query(self, method: _Method, query: list[tuple[str, str]]) -> dict[str, Any]:
        """Query parameters -> {name: value or list}; unknown names and bad values raise."""
        out: dict[str, Any] = {}
        for name, value in query:
            spec = method.parameters.get(name) or self.standard_parameters.get(name)
            if spec is None or spec.get("location", "query") != "query":
                raise FakeSheetsViolation(
                    f'{method.id}: Invalid JSON payload received. Unknown name "{name}": Cannot '
                    f"bind query parameter. Field '{name}' could not be found in request message."
                )
            if "enum" in spec and value not in spec["enum"]:
                raise FakeSheetsViolation(
                    f"{method.id}: Invalid value at '{name}' ({value!r}); "
                    f"expected one of {spec['enum']}"
                )
            if spec.get("type") == "boolean" and value not in ("true", "false"):
                raise FakeSheetsViolation(f"{method.id}: {name}={value!r} is not a boolean")
            if spec.get("type") == "integer" and not re.fullmatch(r"-?\d+", value):
                raise FakeSheetsViolation(f"{method.id}: {name}={value!r} is not an integer")
            if spec.get("repeated"):
                out.setdefault(name, []).append(value)
            elif name in out:
                raise FakeSheetsViolation(f"{method.id}: parameter {name} given twice")
            else:
                out[name] = value
        for name, spec in method.parameters.items():
            if spec.get("required") and spec.get("location") == "query" and name not in out:
                raise FakeSheetsViolation(f"{method.id}: required parameter {name} missing")
        return out

    def check_body(self, method: _Method, body: Any) -> None:
        if method.request is None:
            if body is not None:
                raise FakeSheetsViolation(f"{method.id} takes no request body")
            return
        errors: list[str] = []
        self._check(body, {"$ref": method.request}, method.request, errors)
        if errors:
            raise FakeSheetsViolation(f"{method.id}: Invalid JSON payload received. {errors[0]}")

    def _check(self, value: Any, schema: dict[str, Any], where: str, errors: list[str]) -> None:
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        if value is None:
            return
        kind = schema.get("type")
        if kind == "object":
            if not isinstance(value, dict):
                errors.append(f"Invalid value at '{where}': expected an object")
                return
            props = schema.get("properties") or {}
            extra = schema.get("additionalProperties")
            for name, item in value.items():
                if name in props:
                    self._check(item, props[name], f"{where}.{name}", errors)
                elif extra is not None:
                    self._check(item, extra, f"{where}.{name}", errors)
                else:
                    errors.append(f"Unknown name \"{name}\" at '{where}': Cannot find field.")
        elif kind == "array":
            if not isinstance(value, list):
                errors.append(f"Invalid value at '{where}': expected a list")
                return
            for i, item in enumerate(value):
                self._check(item, schema.get("items", {}), f"{where}[{i}]", errors)
        elif kind == "string":
            if not isinstance(value, str):
                errors.append(f"Invalid value at '{where}' ({type(value).__name__}): not a string")
            elif "enum" in schema and value not in schema["enum"]:
                errors.append(f"Invalid value at '{where}' ({value!r}): not in {schema['enum']}")
        elif kind == "integer":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, str) and re.fullmatch(r"-?\d+", value)
            )
            if not ok:
                errors.append(f"Invalid value at '{where}' ({value!r}): not an integer")
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors.append(f"Invalid value at '{where}' ({value!r}): not a number")
        elif kind == "boolean" and not isinstance(value, bool):
            errors.append(f"Invalid value at '{where}' ({value!r}): not a boolean")

    def check_fields(self, method: _Method, mask: str) -> dict[str, Any]:
        """A `fields` mask -> a selection tree, its names checked against the response schema."""
        tree = _parse_mask(mask)
        if method.response:
            self._check_mask(tree, {"$ref": method.response}, method.id)
        return tree

    def _check_mask(self, tree: dict[str, Any], schema: dict[str, Any], where: str) -> None:
        while "$ref" in schema or schema.get("type") == "array":
            schema = self.schemas[schema["$ref"]] if "$ref" in schema else schema["items"]
        props = schema.get("properties") or {}
        for name, sub in tree.items():
            if name == "*":
                continue
            if name not in props:
                raise FakeSheetsViolation(f"{where}: Invalid field selection {name}")
            if sub:
                self._check_mask(sub, props[name], f"{where}.{name}")


def _parse_mask(mask: str) -> dict[str, Any]:
    """`a,b.c,d(e,f.g)` -> {"a": {}, "b": {"c": {}}, "d": {"e": {}, "f": {"g": {}}}}; {} = all."""
    pos = 0

    def parse_list() -> dict[str, Any]:
        nonlocal pos
        tree: dict[str, Any] = {}
        while True:
            start = pos
            while pos < len(mask) and mask[pos] not in ",()":
                pos += 1
            names = [n for n in re.split(r"[./]", mask[start:pos].strip())]
            if not all(names):
                raise FakeSheetsViolation(f"Invalid field mask {mask!r}")
            node = tree
            for name in names:
                node = node.setdefault(name, {})
            if pos < len(mask) and mask[pos] == "(":
                pos += 1
                sub = parse_list()
                if pos >= len(mask) or mask[pos] != ")":
                    raise FakeSheetsViolation(f"Invalid field mask {mask!r}")
                pos += 1
                for k, v in sub.items():
                    node.setdefault(k, {}).update(v)
            if pos < len(mask) and mask[pos] == ",":
                pos += 1
                continue
            return tree

    tree = parse_list()
    if pos != len(mask):
        raise FakeSheetsViolation(f"Invalid field mask {mask!r}")
    return tree


def _apply_mask(value: Any, tree: dict[str, Any]) -> Any:
    if not tree or "*" in tree:
        return value
    if isinstance(value, list):
        return [_apply_mask(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: _apply_mask(value[k], sub) for k, sub in tree.items() if k in value}
    return value


# --- A1 notation ----------------------------------------------------------------------------


def _column_index(letters: str) -> int:
    """0-based column of `AB` (or `ab`)."""
    return column_index_from_string(letters) - 1


def quote_title(title: str) -> str:
    """A tab title as the API writes it in ranges: quoted unless plain letters and digits."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(
        r"[A-Za-z]{1,3}\d+", title
    ):
        return title
    return "'" + title.replace("'", "''") + "'"


@dataclass(frozen=True)
class GridRange:
    """0-based, end-exclusive; None = open to the grid's end."""

    sheet: FakeSheet
    row0: int
    row1: int | None
    col0: int
    col1: int | None

    def bounds(self) -> tuple[int, int, int, int]:
        rows = self.sheet.row_count if self.row1 is None else self.row1
        cols = self.sheet.column_count if self.col1 is None else self.col1
        return self.row0, rows, self.col0, cols

    def a1(self) -> str:
        r0, r1, c0, c1 = self.bounds()
        title = quote_title(self.sheet.title)
        if r1 - r0 == 1 and c1 - c0 == 1:
            return f"{title}!{get_column_letter(c0 + 1)}{r0 + 1}"
        return f"{title}!{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1)}{r1}"


_CELLS = re.compile(r"^([A-Za-z]{0,3})(\d*)(?::([A-Za-z]{0,3})(\d*))?$")


def _split_sheet(text: str) -> tuple[str | None, str | None]:
    if text.startswith("'"):
        name: list[str] = []
        i = 1
        while True:
            if i >= len(text):
                raise _ApiError(400, f"Unable to parse range: {text}")
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    name.append("'")
                    i += 2
                    continue
                break
            name.append(text[i])
            i += 1
        rest = text[i + 1 :]
        if not rest:
            return "".join(name), None
        if not rest.startswith("!"):
            raise _ApiError(400, f"Unable to parse range: {text}")
        return "".join(name), rest[1:]
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells
    return None, text


# --- the data ---------------------------------------------------------------------------------


@dataclass
class FakeSheet:
    """One tab: a grid of `row_count` x `column_count` cells, stored sparsely (0-based keys)."""

    sheet_id: int
    title: str
    row_count: int = 1000
    column_count: int = 26
    index: int = 0
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)
    # merged blocks as the API's GridRange: 0-based, end exclusive
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    protected_ranges: list[dict[str, Any]] = field(default_factory=list)  # ProtectedRanges

    @staticmethod
    def _cell_ref(a1: str) -> tuple[int, int]:
        m = re.fullmatch(r"([A-Za-z]{1,3})(\d+)", a1)
        if not m:
            raise ValueError(f"not a cell reference: {a1}")
        return int(m.group(2)) - 1, _column_index(m.group(1))

    def set(self, a1: str, value: Any) -> None:
        """Type into a cell the way staff do (a Python value: text, number, date, datetime)."""
        row, col = self._cell_ref(a1)
        if row >= self.row_count or col >= self.column_count:
            raise ValueError(f"{a1} is beyond the grid of '{self.title}'")
        if value is None or value == "":
            self.cells.pop((row, col), None)
        else:
            self.cells[(row, col)] = value

    def get(self, a1: str) -> Any:
        return self.cells.get(self._cell_ref(a1))

    def merge(self, a1: str) -> None:
        """Merge a block (`"O3:Q4"`), as staff do: the cells right of and below its first
        lose their values, as in Google Sheets."""
        first, last = (self._cell_ref(ref) for ref in a1.split(":"))
        (r0, c0), (r1, c1) = first, last
        for key in [k for k in self.cells if r0 <= k[0] <= r1 and c0 <= k[1] <= c1]:
            if key != (r0, c0):
                del self.cells[key]
        self.merges.append((r0, r1 + 1, c0, c1 + 1))

    def set_rows(self, rows: list[list[Any]], start_row: int = 1) -> None:
        """Fill rows from `start_row` (1-based) down, each from column A; grows the grid."""
        need_rows = start_row - 1 + len(rows)
        need_cols = max((len(r) for r in rows), default=0)
        self.row_count = max(self.row_count, need_rows)
        self.column_count = max(self.column_count, need_cols)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                key = (start_row - 1 + i, j)
                if value is None or value == "":
                    self.cells.pop(key, None)
                else:
                    self.cells[key] = value

    def insert_rows(self, before: int, count: int = 1) -> None:
        """Insert `count` empty rows before sheet row `before` (1-based), as staff do."""
        at = before - 1
        moved = {}
        for (r, c), v in self.cells.items():
            moved[(r + count if r >= at else r, c)] = v
        self.cells = moved
        self.row_count += count
        self.merges = [
            (r0 + count if r0 >= at else r0, r1 + count if r1 > at else r1, c0, c1)
            for r0, r1, c0, c1 in self.merges
        ]

    def insert_columns(self, before: int, count: int = 1) -> None:
        """Insert `count` empty columns before 0-based column `before`."""
        moved = {}
        for (r, c), v in self.cells.items():
            moved[(r, c + count if c >= before else c)] = v
        self.cells = moved
        self.column_count += count
        self.merges = [
            (r0, r1, c0 + count if c0 >= before else c0, c1 + count if c1 > before else c1)
            for r0, r1, c0, c1 in self.merges
        ]

    def rows(self) -> list[list[Any]]:
        """The stored values, row by row, trailing empties dropped (for assertions)."""
        height = max((r for r, _ in self.cells), default=-1) + 1
        out = []
        for r in range(height):
            row = [self.cells.get((r, c)) for c in range(self.column_count)]
            while row and row[-1] is None:
                row.pop()
            out.append(row)
        return out

    def metadata(self) -> dict[str, Any]:
        """The tab in `spreadsheets.get`: its properties, and its merges when it has any (the
        API leaves out an empty list, and a GridRange's zero indexes)."""
        found: dict[str, Any] = {"properties": self.properties()}
        if self.merges:
            found["merges"] = [
                {
                    k: v
                    for k, v in {
                        "sheetId": self.sheet_id,
                        "startRowIndex": r0,
                        "endRowIndex": r1,
                        "startColumnIndex": c0,
                        "endColumnIndex": c1,
                    }.items()
                    if v
                }
                for r0, r1, c0, c1 in self.merges
            ]
        if self.protected_ranges:
            found["protectedRanges"] = self.protected_ranges
        return found

    def properties(self) -> dict[str, Any]:
        return {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": self.index,
            "sheetType": "GRID",
            "gridProperties": {"rowCount": self.row_count, "columnCount": self.column_count},
        }


@dataclass
class FakeSpreadsheet:
    spreadsheet_id: str
    title: str = "이사 데스크"
    shared_with: set[str] | None = None  # None: every caller with a valid token may edit
    sheets: list[FakeSheet] = field(default_factory=list)

    def add_sheet(self, title: str, rows: int = 1000, columns: int = 26) -> FakeSheet:
        if any(s.title == title for s in self.sheets):
            raise ValueError(f"a tab named {title!r} exists already")
        sheet_id = max((s.sheet_id for s in self.sheets), default=-1) + 1
        sheet = FakeSheet(sheet_id, title, rows, columns, len(self.sheets))
        self.sheets.append(sheet)
        return sheet

    def sheet(self, title: str) -> FakeSheet:
        for s in self.sheets:
            if s.title == title:
                return s
        raise KeyError(title)

    def resolve(self, text: str) -> GridRange:
        """An A1 range (with or without a tab) -> a GridRange, or a 400 like the API."""
        title, cells = _split_sheet(text)
        if title is None:
            if any(s.title == text for s in self.sheets):
                title, cells = text, None
            elif not self.sheets:
                raise _ApiError(400, f"Unable to parse range: {text}")
            else:
                title = self.sheets[0].title
        sheet = next((s for s in self.sheets if s.title == title), None)
        if sheet is None:
            raise _ApiError(400, f"Unable to parse range: {text}")
        if not cells:
            return GridRange(sheet, 0, None, 0, None)
        m = _CELLS.match(cells)
        if not m:
            raise _ApiError(400, f"Unable to parse range: {text}")
        c0, r0, c1, r1 = m.groups()
        colon = ":" in cells
        if not colon:
            if not (c0 and r0):
                raise _ApiError(400, f"Unable to parse range: {text}")
            row, col = int(r0) - 1, _column_index(c0)
            grid = GridRange(sheet, row, row + 1, col, col + 1)
        elif not c0 and not c1 and r0 and r1:  # 2:5
            a, b = sorted((int(r0), int(r1)))
            grid = GridRange(sheet, a - 1, b, 0, None)
        elif c0 and c1:  # A1:C9, A:C, A2:C, A:C9
            ca, cb = sorted((_column_index(c0), _column_index(c1)))
            start = int(r0) if r0 else 1
            end = int(r1) if r1 else None
            if end is not None and end < start:
                start, end = end, start
            grid = GridRange(sheet, start - 1, end, ca, cb + 1)
        else:
            raise _ApiError(400, f"Unable to parse range: {text}")
        if grid.row0 < 0:
            raise _ApiError(400, f"Unable to parse range: {text}")
        r_0, r_1, c_0, c_1 = grid.bounds()
        if (
            r_0 >= sheet.row_count
            or r_1 > sheet.row_count
            or c_0 >= sheet.column_count
            or (c_1 > sheet.column_count)
        ):
            raise _ApiError(
                400,
                f"Range ({text}) exceeds grid limits. Max rows: {sheet.row_count}, "
                f"max columns: {sheet.column_count}",
            )
        return grid


# --- values in and out --------------------------------------------------------------------------


def serial(value: date | datetime) -> int | float:
    """A date as a sheet serial number: days since 1899-12-30, the time as a fraction."""
    if not isinstance(value, datetime):
        return (value - _EPOCH.date()).days
    delta = value.replace(tzinfo=None) - _EPOCH
    number = delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
    return int(number) if float(number).is_integer() else number


def _number_json(value: int | float) -> int | float:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _formatted_date(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.strftime("%Y-%m-%d")


def render(value: Any, value_option: str, date_option: str) -> Any:
    """A stored cell as the API returns it for the given render options."""
    if value is None:
        return ""
    if isinstance(value, Formula):
        if value_option == "FORMULA":
            return value.text
        return render(value.value, value_option, date_option)
    if value_option == "FORMATTED_VALUE":
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, date):
            return _formatted_date(value)
        if isinstance(value, int | float):
            number = _number_json(value)
            return str(number)
        return str(value)
    if isinstance(value, bool | str):
        return value
    if isinstance(value, date):
        return serial(value) if date_option == "SERIAL_NUMBER" else _formatted_date(value)
    if isinstance(value, int | float):
        return _number_json(value)
    return str(value)


_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def user_entered(text: str) -> Any:
    """Text typed into the sheet UI (USER_ENTERED) -> what the cell stores."""
    if text.startswith("'"):
        return text[1:]
    if text.startswith("="):
        return Formula(text)
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return stripped.upper() == "TRUE"
    if stripped and _NUMBER.match(stripped) and any(ch.isdigit() for ch in stripped):
        number = float(stripped.replace(",", ""))
        return int(number) if number.is_integer() and "." not in stripped else number
    if stripped.endswith("%") and _NUMBER.match(stripped[:-1].strip() or "x"):
        return float(stripped[:-1].replace(",", "")) / 100
    m = _ISO_DATE.match(stripped)
    if m:
        y, mo, d, h, mi, s = m.groups()
        try:
            if h is None:
                return date(int(y), int(mo), int(d))
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
        except ValueError:
            return text
    return text


def _input(value: Any, option: str, where: str) -> Any:
    """A value of a write request -> the stored cell; `_SKIP` for null."""
    if value is None:
        return _SKIP
    if isinstance(value, bool | int | float):
        return value
    if not isinstance(value, str):
        raise _ApiError(400, f"Invalid values[{where}]: {type(value).__name__} is not a cell value")
    if len(value) > CELL_CHAR_LIMIT:
        raise _ApiError(
            400,
            f"Your input contains more than the maximum of {CELL_CHAR_LIMIT} characters in a "
            "single cell.",
        )
    if value == "":
        return None
    return value if option == "RAW" else user_entered(value)


_SKIP = object()


# --- the fake API -----------------------------------------------------------------------------


@dataclass
class Call:
    kind: str  # "values.batchGet", "spreadsheets.get", "token", ...
    http_method: str
    url: str
    status: int = 0
    body_bytes: int = 0  # the length of the request body as sent
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # the request body, decoded
    raw: bytes = b""  # the request body as sent (Sheets requests)
    content_type: str = ""  # its Content-Type header


@dataclass
class _Failure:
    status: int
    kind: str | None
    html: bool
    retry_after: int | None = None
    message: str | None = None  # Google's message, instead of the usual one for the status
    then: Callable[[FakeSheetsAPI], None] | None = None  # run once the failure is answered


@dataclass
class _ServiceAccount:
    email: str
    public_pem: bytes


class FakeSheetsAPI:
    """The fake Sheets API and token endpoint. Use `serve()` to route `requests` to it."""

    def __init__(self, discovery: Discovery | None = None) -> None:
        self.discovery = discovery or Discovery()
        self.spreadsheets: dict[str, FakeSpreadsheet] = {}
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.failures: list[_Failure] = []
        self.hooks: list[tuple[str, Callable[[FakeSheetsAPI], None]]] = []
        # request kinds whose next answer is lost, and what the caller sees (`lose_answer`)
        self.lost: list[tuple[str, BaseException]] = []
        self.accounts: dict[str, _ServiceAccount] = {}  # key id -> account
        self.tokens: dict[str, tuple[str, set[str]]] = {}  # token -> (email, scopes)

    # -- setting up

    def add_spreadsheet(
        self, spreadsheet_id: str, title: str = "이사 데스크", shared_with: set[str] | None = None
    ) -> FakeSpreadsheet:
        book = FakeSpreadsheet(spreadsheet_id, title, shared_with)
        self.spreadsheets[spreadsheet_id] = book
        return book

    def register_service_account(self, key_id: str, email: str, public_pem: bytes) -> None:
        self.accounts[key_id] = _ServiceAccount(email, public_pem)

    def fail(
        self,
        status: int,
        kind: str | None = None,
        times: int = 1,
        html: bool | None = None,
        retry_after: int | None = None,
        message: str | None = None,
        then: Callable[[FakeSheetsAPI], None] | None = None,
    ) -> None:
        """Answer the next `times` requests of `kind` (any Sheets request when None; "token"
        for the token endpoint) with `status` (and `message`, when given). A 502 comes as
        Google's HTML page by default. `then(self)` runs after each such answer: a member of
        staff editing the sheet while the bot waits to retry."""
        is_html = status == 502 if html is None else html
        self.failures.extend(
            _Failure(status, kind, is_html, retry_after, message, then) for _ in range(times)
        )

    def lose_answer(self, kind: str, times: int = 1, error: BaseException | None = None) -> None:
        """Serve the next `times` requests of `kind` (they land), then drop the connection
        instead of answering: the caller sees `requests.ConnectionError` (or `error`: a
        process killed while it waited for the answer)."""
        dropped = requests.ConnectionError("the connection dropped before the answer came")
        self.lost.extend([(kind, error or dropped)] * times)

    def before(self, kind: str, action: Callable[[FakeSheetsAPI], None]) -> None:
        """Run `action(self)` once, just before the next `kind` request is served."""
        self.hooks.append((kind, action))

    # -- inspecting

    def count(self, kind: str | None = None, ok: bool | None = None) -> int:
        """Requests received (token requests only when `kind` is "token")."""
        return sum(
            1
            for c in self.calls
            if (c.kind == kind if kind else c.kind != "token")
            and (ok is None or (200 <= c.status < 300) == ok)
        )

    def assert_clean(self) -> None:
        if self.violations:
            raise FakeSheetsViolation(
                "requests the real Sheets API would reject:\n" + "\n".join(self.violations)
            )

    # -- serving

    @contextmanager
    def serve(self) -> Iterator[responses.RequestsMock]:
        """Route every request to Google through this fake while the block runs."""
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            sheets = re.compile(re.escape(SHEETS_ROOT) + r".*")
            for verb in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                mock.add_callback(verb, sheets, callback=self._serve_sheets)
            mock.add_callback("POST", TOKEN_URI, callback=self._serve_token)
            yield mock
        self.assert_clean()

    @staticmethod
    def _json(status: int, body: Any, extra: dict[str, str] | None = None) -> tuple:
        headers = {"Content-Type": "application/json; charset=UTF-8", **(extra or {})}
        text = json.dumps(body, ensure_ascii=False)
        # a cell may hold half an emoji (a lone UTF-16 surrogate): JSON carries it escaped
        return status, headers, text.encode("utf-8", "backslashreplace")

    def _error(self, code: int, message: str) -> tuple:
        status = _STATUS_NAMES.get(code, "UNKNOWN")
        return self._json(code, {"error": {"code": code, "message": message, "status": status}})

    def _injected(self, kind: str) -> _Failure | None:
        for i, failure in enumerate(self.failures):
            if failure.kind is None and kind != "token" or failure.kind == kind:
                return self.failures.pop(i)
        return None

    def _failure_response(self, failure: _Failure) -> tuple:
        extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
        if failure.html:
            page = GOOGLE_502_PAGE.replace("502", str(failure.status))
            return failure.status, {"Content-Type": "text/html; charset=UTF-8", **extra}, page
        messages = {
            429: "Quota exceeded for quota metric 'Write requests' and limit 'Write requests "
            "per minute per user' of service 'sheets.googleapis.com'.",
            408: "The request timed out.",
        }
        code = failure.status
        message = failure.message or messages.get(
            code, "Internal error encountered." if code >= 500 else "Error"
        )
        body = {"error": {"code": code, "message": message, "status": _STATUS_NAMES.get(code)}}
        return self._json(code, body, extra)

    def _serve_token(self, request: Any) -> tuple:
        call = Call("token", request.method, request.url, body_bytes=len(request.body or b""))
        self.calls.append(call)
        failure = self._injected("token")
        if failure:
            result = (
                self._failure_response(failure)
                if failure.html
                else self._json(failure.status, {"error": "internal_failure"})
            )
        else:
            result = self._grant(request)
        call.status = result[0]
        return result

    def _grant(self, request: Any) -> tuple:
        from google.auth import jwt

        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        form = dict(urllib.parse.parse_qsl(body or ""))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._json(400, {"error": "unsupported_grant_type"})
        assertion = form.get("assertion", "")
        try:
            header = jwt.decode_header(assertion)
            account = self.accounts[header.get("kid", "")]
            claims = jwt.decode(assertion, certs=account.public_pem, audience=TOKEN_URI)
        except Exception:
            return self._json(
                400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            )
        if claims.get("iss") != account.email:
            return self._json(400, {"error": "invalid_grant", "error_description": "Bad issuer"})
        scopes = set(str(claims.get("scope", "")).split())
        token = f"ya29.fake-{len(self.tokens) + 1}"
        self.tokens[token] = (account.email, scopes)
        return self._json(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _serve_sheets(self, request: Any) -> tuple:
        parts = urllib.parse.urlsplit(request.url)
        raw = request.body or b""
        raw_bytes = raw.encode() if isinstance(raw, str) else raw
        content_type = request.headers.get("Content-Type", "")
        call = Call(
            "?",
            request.method,
            request.url,
            body_bytes=len(raw_bytes),
            raw=raw_bytes,
            content_type=content_type,
        )
        self.calls.append(call)
        try:
            method, path_params = self.discovery.match(request.method, parts.path)
            call.kind = method.kind
            query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
            params = self.discovery.check_query(method, query)
            call.params = params
            body = _json_body(method.id, raw_bytes, content_type) if raw_bytes else None
            self.discovery.check_body(method, body)
            call.body = body
            mask = (
                self.discovery.check_fields(method, params["fields"]) if "fields" in params else {}
            )
        except FakeSheetsViolation as err:
            self.violations.append(str(err))
            call.status = 400
            return self._error(400, str(err))
        failure = self._injected(method.kind)
        if failure:
            result = self._failure_response(failure)
            call.status = result[0]
            if failure.then is not None:
                failure.then(self)
            return result
        try:
            self._authorize(request)
            book = self.spreadsheets.get(path_params.get("spreadsheetId", ""))
            if book is None:
                raise _ApiError(404, "Requested entity was not found.")
            email, _ = self.tokens[_bearer(request)]
            if book.shared_with is not None and email not in book.shared_with:
                raise _ApiError(403, "The caller does not have permission")
            for i, (kind, action) in enumerate(self.hooks):
                if kind == method.kind:
                    del self.hooks[i]
                    action(self)
                    break
            handler = getattr(self, "_" + method.kind.replace(".", "_"), None)
            if handler is None:
                raise FakeSheetsViolation(f"the fake does not implement {method.id}")
            answer = handler(book, path_params, params, body)
            result = self._json(200, _apply_mask(answer, mask))
        except _ApiError as err:
            result = self._error(err.code, err.message)
        except FakeSheetsViolation as err:
            self.violations.append(str(err))
            result = self._error(400, str(err))
        call.status = result[0]
        for i, (kind, error) in enumerate(self.lost):
            if kind == method.kind:
                del self.lost[i]
                raise error
        return result

    def _authorize(self, request: Any) -> None:
        token = _bearer(request)
        if token not in self.tokens:
            raise _ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
            )
        _, scopes = self.tokens[token]
        if SPREADSHEETS_SCOPE not in scopes and "https://www.googleapis.com/auth/drive" not in (
            scopes
        ):
            raise _ApiError(403, "Request had insufficient authentication scopes.")

    # -- the methods (named after the discovery kinds)

    def _spreadsheets_get(self, book: FakeSpreadsheet, path: dict, params: dict, body: Any) -> Any:
        if params.get("includeGridData") == "true":
            raise FakeSheetsViolation("the fake does not serve includeGridData")
        sheets = book.sheets
        if params.get("ranges"):
            titles = {book.resolve(r).sheet.title for r in params["ranges"]}
            sheets = [s for s in sheets if s.title in titles]
        return {
            "spreadsheetId": book.spreadsheet_id,
            "properties": {
                "title": book.title,
                "locale": "ko_KR",
                "autoRecalc": "ON_CHANGE",
                "timeZone": "Asia/Seoul",
            },
            "sheets": [s.metadata() for s in sheets],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
        }

    def _read(self, book: FakeSpreadsheet, text: str, params: dict) -> dict[str, Any]:
        grid = book.resolve(text)
        value_option = params.get("valueRenderOption", "FORMATTED_VALUE")
        date_option = params.get("dateTimeRenderOption", "SERIAL_NUMBER")
        columns = params.get("majorDimension") == "COLUMNS"
        r0, r1, c0, c1 = grid.bounds()
        outer = range(c0, c1) if columns else range(r0, r1)
        inner = range(r0, r1) if columns else range(c0, c1)
        values: list[list[Any]] = []
        cells = grid.sheet.cells
        for a in outer:
            line = []
            for b in inner:
                stored = cells.get((b, a) if columns else (a, b))
                line.append(render(stored, value_option, date_option))
            while line and line[-1] == "":
                line.pop()
            values.append(line)
        while values and not values[-1]:
            values.pop()
        answer: dict[str, Any] = {
            "range": grid.a1(),
            "majorDimension": "COLUMNS" if columns else "ROWS",
        }
        if values:
            answer["values"] = values
        return answer

    def _values_get(self, book: FakeSpreadsheet, path: dict, params: dict, body: Any) -> Any:
        return self._read(book, path["range"], params)

    def _values_batchGet(self, book: FakeSpreadsheet, path: dict, params: dict, body: Any) -> Any:
        ranges = params.get("ranges", [])
        answer: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
        if ranges:
            answer["valueRanges"] = [self._read(book, r, params) for r in ranges]
        return answer

    def _plan_write(
        self, book: FakeSpreadsheet, vr: dict[str, Any], option: str, where: str
    ) -> tuple[GridRange, list[tuple[int, int, Any]]]:
        grid = book.resolve(vr.get("range") or "")
        r0, r1, c0, c1 = grid.bounds()
        columns = vr.get("majorDimension") == "COLUMNS"
        cells = []
        for i, line in enumerate(vr.get("values") or []):
            for j, value in enumerate(line):
                row, col = (r0 + j, c0 + i) if columns else (r0 + i, c0 + j)
                if row >= r1 or col >= c1:
                    what = (
                        f"row [{row + 1}]"
                        if row >= r1
                        else f"column [{get_column_letter(col + 1)}]"
                    )
                    raise _ApiError(
                        400,
                        f"Requested writing within range [{vr.get('range')}], but tried "
                        f"writing to {what}",
                    )
                stored = _input(value, option, f"{where}[{i}][{j}]")
                if stored is not _SKIP:
                    cells.append((row, col, stored))
        return grid, cells

    @staticmethod
    def _apply(grid: GridRange, cells: list[tuple[int, int, Any]]) -> dict[str, Any]:
        for row, col, value in cells:
            if value is None:
                grid.sheet.cells.pop((row, col), None)
            else:
                grid.sheet.cells[(row, col)] = value
        rows = {r for r, _, _ in cells}
        cols = {c for _, c, _ in cells}
        return {
            "updatedRange": grid.a1(),
            "updatedRows": len(rows),
            "updatedColumns": len(cols),
            "updatedCells": len(cells),
        }

    @staticmethod
    def _input_option(value: str | None) -> str:
        if value not in ("RAW", "USER_ENTERED"):
            raise _ApiError(
                400, f"Invalid valueInputOption: {value or 'INPUT_VALUE_OPTION_UNSPECIFIED'}"
            )
        return value

    def _values_update(self, book: FakeSpreadsheet, path: dict, params: dict, body: Any) -> Any:
        option = self._input_option(params.get("valueInputOption"))
        vr = dict(body or {})
        if vr.get("range") and vr["range"] != path["range"]:
            raise _ApiError(400, "The range in the body must match the range in the URL.")
        vr["range"] = path["range"]
        grid, cells = self._plan_write(book, vr, option, "0")
        return {"spreadsheetId": book.spreadsheet_id, **self._apply(grid, cells)}

    def _values_batchUpdate(
        self, book: FakeSpreadsheet, path: dict, params: dict, body: Any
    ) -> Any:
        body = body or {}
        option = self._input_option(body.get("valueInputOption"))
        planned = [
            self._plan_write(book, vr, option, f"data[{i}]")
            for i, vr in enumerate(body.get("data") or [])
        ]  # every range checked before any cell changes
        replies = [{"spreadsheetId": book.spreadsheet_id, **self._apply(g, c)} for g, c in planned]
        return {
            "spreadsheetId": book.spreadsheet_id,
            "totalUpdatedRows": sum(r["updatedRows"] for r in replies),
            "totalUpdatedColumns": sum(r["updatedColumns"] for r in replies),
            "totalUpdatedCells": sum(r["updatedCells"] for r in replies),
            "totalUpdatedSheets": len({g.sheet.sheet_id for g, _ in planned}),
            "responses": replies,
        }

    def _spreadsheets_batchUpdate(
        self, book: FakeSpreadsheet, path: dict, params: dict, body: Any
    ) -> Any:
        requests_ = (body or {}).get("requests") or []
        for i, req in enumerate(requests_):  # all or nothing, like the API: check, then apply
            if len(req) != 1:
                raise _ApiError(400, f"Invalid requests[{i}]: exactly one kind of request")
            ((kind, spec),) = req.items()
            self._sheet_request(book, i, kind, spec, apply=False)
        replies = [
            self._sheet_request(book, i, kind, spec, apply=True)
            for i, req in enumerate(requests_)
            for kind, spec in req.items()  # exactly one, checked above
        ]
        return {"spreadsheetId": book.spreadsheet_id, "replies": replies}

    def _sheet_request(
        self, book: FakeSpreadsheet, i: int, kind: str, spec: dict, apply: bool
    ) -> dict:
        def sheet_by_id(sheet_id: Any) -> FakeSheet:
            for s in book.sheets:
                if s.sheet_id == int(sheet_id or 0):
                    return s
            raise _ApiError(400, f"Invalid requests[{i}].{kind}: No grid with id: {sheet_id}")

        if kind == "appendDimension":
            sheet = sheet_by_id(spec.get("sheetId"))
            length = int(spec.get("length") or 0)
            dimension = spec.get("dimension")
            if length <= 0:
                raise _ApiError(400, f"Invalid requests[{i}].appendDimension: length must be > 0")
            if dimension not in ("ROWS", "COLUMNS"):
                raise _ApiError(400, f"Invalid requests[{i}].appendDimension: dimension")
            if apply and dimension == "COLUMNS":
                sheet.column_count += length
            elif apply:
                sheet.row_count += length
            return {}
        if kind == "insertDimension":
            dim = spec.get("range") or {}
            sheet = sheet_by_id(dim.get("sheetId"))
            start, end = int(dim.get("startIndex", 0)), int(dim.get("endIndex", 0))
            if end <= start or dim.get("dimension") not in ("ROWS", "COLUMNS"):
                raise _ApiError(400, f"Invalid requests[{i}].insertDimension: range")
            if apply and dim.get("dimension") == "ROWS":
                sheet.insert_rows(start + 1, end - start)
            elif apply:
                sheet.insert_columns(start, end - start)
            return {}
        if kind == "addSheet":
            props = spec.get("properties") or {}
            grid = props.get("gridProperties") or {}
            title = props.get("title") or f"Sheet{len(book.sheets) + 1}"
            if any(s.title == title for s in book.sheets):
                raise _ApiError(
                    400,
                    f'Invalid requests[{i}].addSheet: A sheet with the name "{title}" already '
                    "exists. Please enter another name.",
                )
            if not apply:
                return {}
            sheet = book.add_sheet(
                title, int(grid.get("rowCount", 1000)), int(grid.get("columnCount", 26))
            )
            return {"addSheet": {"properties": sheet.properties()}}
        raise FakeSheetsViolation(f"the fake does not implement batchUpdate request {kind}")


def _json_body(method_id: str, raw: bytes, content_type: str) -> Any:
    """A request body as the API reads it: JSON (`application/json`), in UTF-8 (JSON's
    encoding, and the only charset accepted): raw Korean text or `\\uXXXX` escapes alike."""
    media, _, rest = content_type.partition(";")
    if media.strip().lower() != "application/json":
        raise FakeSheetsViolation(
            f"{method_id}: body sent as {content_type or 'no Content-Type'}, not application/json"
        )
    params = dict(p.strip().lower().partition("=")[::2] for p in rest.split(";") if p.strip())
    charset = params.get("charset", "utf-8").strip('"')
    if charset not in ("utf-8", "utf8"):
        raise FakeSheetsViolation(f"{method_id}: body in charset {charset}, not UTF-8")
    try:
        return json.loads(raw.decode("utf-8"))  # strict: no BOM, no invalid sequences
    except UnicodeDecodeError as err:
        raise FakeSheetsViolation(f"{method_id}: body is not UTF-8 ({err})") from None
    except ValueError as err:
        raise FakeSheetsViolation(f"{method_id}: body is not JSON ({err})") from None


def _bearer(request: Any) -> str:
    value = request.headers.get("Authorization", "")
    return value.removeprefix("Bearer ").strip()


# --- service-account keys for tests ------------------------------------------------------------


@dataclass(frozen=True)
class ServiceAccountKey:
    path: Path
    email: str
    key_id: str
    private_pem: bytes
    public_pem: bytes


def make_service_account_key(
    directory: Path, email: str = "movebot@desk-project.iam.gserviceaccount.com"
) -> ServiceAccountKey:
    """A fresh RSA key written as a service-account JSON file (generated, never committed)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_id = f"fake-key-{int(time.time() * 1000) % 10**9}"
    info = {
        "type": "service_account",
        "project_id": "desk-project",
        "private_key_id": key_id,
        "private_key": private_pem.decode(),
        "client_email": email,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": TOKEN_URI,
    }
    path = directory / "service-account.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return ServiceAccountKey(path, email, key_id, private_pem, public_pem)


__all__ = [
    "Call",
    "Discovery",
    "FakeSheet",
    "FakeSheetsAPI",
    "FakeSheetsViolation",
    "FakeSpreadsheet",
    "Formula",
    "GOOGLE_502_PAGE",
    "ServiceAccountKey",
    "TOKEN_URI",
    "make_service_account_key",
    "render",
    "serial",
    "user_entered",
]
