"""Reading metadata files: a JSON array of objects, JSON Lines (one object per line), or CSV.

Every record comes with the line it starts on, so any later complaint about an entry can name
``file:line``. Entries nested more than :data:`MAX_DEPTH` levels deep are refused here, so nothing
that walks an entry later (comparisons, messages) can exhaust Python's recursion limit.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from typing import Any

from cosmos_datasets.errors import MetadataError

Record = tuple[int, dict[str, Any]]

MAX_DEPTH = 32
"""Most levels of lists and objects one metadata entry may nest (a VAD-R1 entry with chunks has 3)."""


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
    # Lines end at "\n" only, as for JSON's own line numbers: str.splitlines() would also cut at
    # characters a JSON string may hold (U+2028, form feed).
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            entry = _loads(path, line_no, line)
        except json.JSONDecodeError as err:
            if not records and (document := _one_object(path, text)) is not None:
                start = _line_of(text, text.index("{"))
                return [(start, _require_object(path, start, document))]
            raise MetadataError(
                f"{path}:{line_no}: invalid JSON ({err.msg} at column {err.colno}). JSON Lines files hold "
                "one complete object per line; a JSON file must be an array of objects [{...}, ...]"
            ) from None
        records.append((line_no, _require_object(path, line_no, entry)))
    return records


def _one_object(path: str, text: str) -> dict[str, Any] | None:
    """The whole text as a single JSON object (e.g. the MSR-VTT annotation file), else None."""
    try:
        document = _loads(path, _line_of(text, len(text) - len(text.lstrip())), text)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


def _loads(path: str, line_no: int, text: str) -> Any:
    """``json.loads`` whose non-syntax failures become :class:`MetadataError` (syntax errors propagate)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise _too_deep(path, line_no) from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        raise MetadataError(f"{path}:{line_no}: unreadable JSON value ({err})") from None


def _too_deep(path: str, line_no: int) -> MetadataError:
    return MetadataError(
        f"{path}:{line_no}: lists or objects are nested deeper than the JSON reader can follow; a metadata "
        "entry is a flat object (its `chunks` a list of objects), so check that this is the metadata file"
    )


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
        except RecursionError:
            raise _too_deep(path, line_no) from None
        except ValueError as err:  # e.g. an integer of more digits than Python converts
            raise MetadataError(f"{path}:{line_no}: unreadable JSON value ({err})") from None
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
    depth = nesting_depth(entry)
    if depth > MAX_DEPTH:
        raise MetadataError(
            f"{path}:{line_no}: the entry nests lists or objects {depth} levels deep (at most {MAX_DEPTH}); a "
            "metadata entry is a flat object (its `chunks` a list of objects), so check that this is the "
            "metadata file"
        )
    if not isinstance(entry, dict):
        raise MetadataError(
            f"{path}:{line_no}: each metadata entry must be a JSON object with a video path and caption "
            f"fields, got {json_type(entry)} {preview(entry)}"
        )
    return entry


def nesting_depth(value: Any) -> int:
    """Levels of lists and objects in a parsed JSON value (a scalar is 0), counted without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def json_type(value: Any) -> str:
    """What a parsed JSON value is, in JSON's words: ``null``, ``true/false``, ``number``, ``list``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def preview(value: Any, limit: int = 60) -> str:
    """``value`` as JSON, cut to ``limit`` characters (entries are depth-checked, so this cannot recurse far)."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fields_present(entry: dict[str, Any]) -> str:
    """The entry's field names, for messages about a missing one."""
    return ", ".join(sorted(entry)) or "none"


def require_text(entry: dict[str, Any], fields: Sequence[str], *, dataset_type: str, path: str, line: int) -> str:
    """The first of ``fields`` that holds a non-empty string (e.g. ``path`` or ``video_path``).

    A field that is absent or ``null`` gives way to the next one; when none holds a string, the
    message says what the fields held (``'path' is null``), not only that they are missing.
    """
    nulls = []
    for field in fields:
        value = entry.get(field)
        if value is None:
            if field in entry:
                nulls.append(field)
            continue
        if not isinstance(value, str):
            raise MetadataError(
                f"{path}:{line}: {dataset_type} entry field {field!r} must be a string naming the video, got "
                f"{json_type(value)} {preview(value)}"
            )
        if not value.strip():
            raise MetadataError(
                f"{path}:{line}: {dataset_type} entry field {field!r} is {'empty' if not value else 'blank'}; it "
                "must name the video (a path relative to data_root, or absolute)"
            )
        return value
    if nulls:
        held = " and ".join(f"{f!r} is null" for f in nulls)
        raise MetadataError(
            f"{path}:{line}: {dataset_type} entry {held}; it must name the video (a path relative to data_root, "
            "or absolute), or drop the entry"
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
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # rows end at \n, \r\n or \r only
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
