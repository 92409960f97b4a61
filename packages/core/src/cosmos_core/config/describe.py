"""Every option of a config schema with its type, default and help text, for ``--help``."""

from __future__ import annotations

import textwrap
import types
import typing
from typing import Any

import attrs
import yaml

from cosmos_core.config.schema import SECRET_KEY, field_help


@attrs.frozen
class OptionDoc:
    path: str
    type: str
    default: str
    help: str


def option_docs(cls: type, prefix: str = "") -> list[OptionDoc]:
    """One entry per leaf option of ``cls`` (nested attrs sections are expanded, not listed)."""
    docs = []
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        path = f"{prefix}{field.name}"
        tp = hints[field.name]
        if isinstance(tp, type) and attrs.has(tp):
            docs.extend(option_docs(tp, f"{path}."))
            continue
        docs.append(OptionDoc(path, type_name(tp), _default_text(field), field_help(field)))
    return docs


def format_options(cls: type, width: int = 100) -> str:
    """The options of ``cls`` as an indented block: ``path  type = default`` then the help text."""
    lines = []
    for doc in option_docs(cls):
        lines.append(f"  {doc.path}  ({doc.type}) = {doc.default}")
        if doc.help:
            lines.append(textwrap.fill(doc.help, width=width, initial_indent="      ", subsequent_indent="      "))
    return "\n".join(lines)


def type_name(tp: Any) -> str:
    """A short, readable name of a field type (``int``, ``list[int]``, ``one of 'bf16', 'fp16'``)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(type_name(a) for a in args)}]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _default_text(field: attrs.Attribute) -> str:
    if field.metadata.get(SECRET_KEY):
        return "<secret>"
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        value = default.factory()
    elif default is attrs.NOTHING:
        return "(required)"
    else:
        value = default
    if attrs.has(type(value)):
        value = attrs.asdict(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("...").strip()  # a YAML scalar document ends with "..."
