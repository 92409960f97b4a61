"""Reading metadata files: a JSON array of objects, JSON Lines (one object per line), or CSV.

Every record comes with the line it starts on, so any later complaint about an entry can name
``file:line``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from typing import Any

from cosmos_datasets.errors import MetadataError

Record = tuple[int, dict[str, Any]]


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """``(line number, entry)`` for every entry of a JSON array or JSON Lines file.

    The format is told by the first non-blank character: ``[`` is a JSON array, ``{`` is JSON Lines
    (or one JSON object spread over several lines, returned as a single record). Raises
    :class:`MetadataError` naming ``file:line`` for malformed JSON and entries that are not objects.
    """
    path = os.fspath(path)
    text = _read_text(path)
    stripped = text.lstrip()
    if not stripped:
        raise MetadataError(f"{path}: the metadata file is empty; expected a JSON array of objects or JSON Lines")
    if stripped[0] == "[":
        return _read_json_array(path, text)
    return _read_json_lines(path, text)


def _read_text(path: str) -> str:
    try:
        # utf-8-sig: spreadsheet tools on Windows start CSV/JSON files with a byte-order mark.
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        raise MetadataError(f"metadata file not found: {path} (check the dataset's `metadata` setting)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise MetadataError(f"cannot read metadata file {path}: {err}") from err


def _read_json_lines(path: str, text: str) -> list[Record]:
    records = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as err:
            if not records and _is_one_object(text):
                return [(_line_of(text, text.index("{")), json.loads(text))]
            raise MetadataError(
                f"{path}:{line_no}: invalid JSON ({err.msg} at column {err.colno}). JSON Lines files hold "
                "one complete object per line; a JSON file must be an array of objects [{...}, ...]"
            ) from None
        records.append((line_no, _require_object(path, line_no, entry)))
    return records


def _is_one_object(text: str) -> bool:
    """Whether the whole text is a single JSON object (e.g. the MSR-VTT annotation file)."""
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


def _read_json_array(path: str, text: str) -> list[Record]:
    """Walk the top-level array element by element, to know on which line each entry starts."""
    decoder = json.JSONDecoder()
    records = []
    position = _skip_space(text, text.index("[") + 1)
    if position < len(text) and text[position] == "]":
        return _expect_end(path, text, position + 1, records)
    while True:
        line_no = _line_of(text, position)
        try:
            entry, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as err:
            raise MetadataError(f"{path}:{err.lineno}: invalid JSON ({err.msg} at column {err.colno})") from None
        records.append((line_no, _require_object(path, line_no, entry)))
        position = _skip_space(text, position)
        following = text[position] if position < len(text) else ""
        if following == "]":
            return _expect_end(path, text, position + 1, records)
        if following != ",":
            found = repr(following) if following else "the end of the file"
            raise MetadataError(
                f"{path}:{_line_of(text, position)}: invalid JSON (expected ',' or ']' after an entry, found {found})"
            )
        position = _skip_space(text, position + 1)


def _expect_end(path: str, text: str, position: int, records: list[Record]) -> list[Record]:
    position = _skip_space(text, position)
    if position < len(text):
        raise MetadataError(f"{path}:{_line_of(text, position)}: unexpected content after the closing ']'")
    return records


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _require_object(path: str, line_no: int, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise MetadataError(
            f"{path}:{line_no}: each metadata entry must be a JSON object with a video path and caption "
            f"fields, got {type(entry).__name__} {_preview(entry)}"
        )
    return entry


def _preview(value: Any, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fields_present(entry: dict[str, Any]) -> str:
    """The entry's field names, for messages about a missing one."""
    return ", ".join(sorted(entry)) or "none"


def require_text(entry: dict[str, Any], fields: Sequence[str], *, dataset_type: str, path: str, line: int) -> str:
    """The first of ``fields`` that holds a non-empty string (e.g. ``path`` or ``video_path``)."""
    for field in fields:
        value = entry.get(field)
        if isinstance(value, str) and value.strip():
            return value
        if value is not None:
            raise MetadataError(
                f"{path}:{line}: {dataset_type} entry field {field!r} must be a non-empty string, got {_preview(value)}"
            )
    names = " or ".join(repr(f) for f in fields)
    raise MetadataError(
        f"{path}:{line}: {dataset_type} entry has no {names} field (fields present: {fields_present(entry)})"
    )


def read_csv_records(
    path: str | os.PathLike[str], *, dataset_type: str, required: Sequence[str], example: str
) -> list[Record]:
    """``(line number, row)`` for every data row of a CSV file with a header row.

    Cells are stripped of surrounding spaces and blank rows are ignored. Raises :class:`MetadataError`
    naming ``file:line`` for a header without the ``required`` columns (``example`` shows a good
    header), a row with the wrong number of fields, or malformed quoting.
    """
    path = os.fspath(path)
    text = _read_text(path)
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    header: list[str] | None = None
    records: list[Record] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            cells = [cell.strip() for cell in row]
            if header is None:
                header = cells
                missing = [column for column in required if column not in header]
                if missing:
                    raise MetadataError(
                        f"{path}:{reader.line_num}: the {dataset_type} CSV header has no "
                        f"{', '.join(map(repr, missing))} column (found: {', '.join(header)}); the first row "
                        f"must name the columns, e.g. {example}"
                    )
                continue
            if len(cells) != len(header):
                raise MetadataError(
                    f"{path}:{reader.line_num}: expected {len(header)} comma-separated fields "
                    f"({','.join(header)}), got {len(cells)}"
                )
            records.append((reader.line_num, dict(zip(header, cells, strict=True))))
    except csv.Error as err:
        raise MetadataError(f"{path}:{reader.line_num}: malformed CSV ({err})") from None
    if header is None:
        raise MetadataError(f"{path}: the {dataset_type} CSV file is empty; expected a header row like {example}")
    return records
