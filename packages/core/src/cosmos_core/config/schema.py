"""Declaring config fields: every field carries a help string that `cosmos-run show` can print."""

from __future__ import annotations

from typing import Any

import attrs

HELP_KEY = "help"
SECRET_KEY = "secret"


def option(
    default: Any = attrs.NOTHING, *, help: str, factory: Any = None, validator: Any = None, secret: bool = False
) -> Any:
    """An attrs field with a help string; use ``factory`` for mutable defaults (lists, dicts, configs).

    ``secret`` fields (API keys) are redacted wherever a config is written out or logged.
    """
    metadata = {HELP_KEY: help, SECRET_KEY: secret}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata, validator=validator)
    return attrs.field(default=default, metadata=metadata, validator=validator)


def field_help(field: attrs.Attribute) -> str:
    return field.metadata.get(HELP_KEY, "")
