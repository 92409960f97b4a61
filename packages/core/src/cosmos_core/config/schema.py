"""Declaring config fields: every field carries a help string that `cosmos-run show` can print."""

from __future__ import annotations

from typing import Any

import attrs

HELP_KEY = "help"


def option(default: Any = attrs.NOTHING, *, help: str, factory: Any = None, validator: Any = None) -> Any:
    """An attrs field with a help string; use ``factory`` for mutable defaults (lists, dicts, configs)."""
    if factory is not None:
        return attrs.field(factory=factory, metadata={HELP_KEY: help}, validator=validator)
    return attrs.field(default=default, metadata={HELP_KEY: help}, validator=validator)


def field_help(field: attrs.Attribute) -> str:
    return field.metadata.get(HELP_KEY, "")
