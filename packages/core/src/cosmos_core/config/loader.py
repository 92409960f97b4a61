"""YAML spec + dotted overrides → a validated attrs config, with every problem reported at once.

Specs and override values are read by one YAML reader (:mod:`cosmos_core.config.yaml_io`).
Validation walks the attrs schema before anything is built: unknown keys get the closest valid
path, values of the wrong type name the path and the expected type, and each value that passes
its type check goes through its field's attrs converter and validator, so a range error
(``batch_size=0``) names its path too. Only a config that passes is structured (by cattrs), so a
run never starts with a half-valid config.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Union

import attrs
import cattrs
import cattrs.v
import yaml

from cosmos_core.config.schema import SECRET_KEY
from cosmos_core.config.yaml_io import SpecDumper, YamlInputError, YamlSyntaxError, parse_yaml, read_yaml_file
from cosmos_core.errors import UserInputError
from cosmos_core.io import write_text_atomically


class ConfigError(UserInputError, ValueError):
    """One or more problems in a spec or its overrides; ``problems`` lists each one."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        head = f"invalid config{f' ({source})' if source else ''}:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in problems)]))


# -------------------------------------------------------------------------------------------------
# Reading specs and overrides
# -------------------------------------------------------------------------------------------------


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in a YAML spec, read by :mod:`cosmos_core.config.yaml_io`; errors name ``file:line``."""
    try:
        data = read_yaml_file(path)
    except OSError as err:
        raise ConfigError([f"cannot read spec {path}: {err.strerror}"]) from None
    except YamlInputError as err:
        raise ConfigError([str(err)]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: a spec must be a mapping of config keys, got {type(data).__name__}"])
    return data


def parse_overrides(args: Iterable[str]) -> list[tuple[str, Any]]:
    """``a.b=value`` pairs; each value is parsed as YAML by the spec reader (``[1, 2]``, ``null``, ``1e-4``).

    A value that is not YAML stays the string it is (``name=a: b: c``); an empty value is ``""``.
    YAML the reader refuses (a duplicate key, an alias bomb) is a problem, as in a spec file.
    """
    parsed, problems = [], []
    for arg in args:
        key, sep, raw = arg.partition("=")
        if not sep or not key:
            problems.append(f"override {arg!r} is not of the form dotted.path=value")
            continue
        key = key.strip()
        try:
            value = parse_yaml(raw, f"override {key}") if raw != "" else ""
        except YamlSyntaxError:
            value = raw
        except YamlInputError as err:
            problems.append(f"override {arg!r}: {err.problem}")
            continue
        parsed.append((key, value))
    if problems:
        raise ConfigError(problems, "command line")
    return parsed


def apply_overrides(data: dict[str, Any], overrides: list[tuple[str, Any]]) -> dict[str, Any]:
    """A copy of ``data`` with each dotted override set (intermediate mappings are created)."""
    result = _deep_copy(data)
    for dotted, value in overrides:
        node = result
        *parents, leaf = dotted.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[leaf] = value
    return result


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


# -------------------------------------------------------------------------------------------------
# Validation against the attrs schema
# -------------------------------------------------------------------------------------------------


def schema_paths(cls: type, prefix: str = "") -> list[str]:
    """Every dotted path the schema accepts (nested attrs classes expanded)."""
    paths = []
    for field in attrs.fields(cls):
        path = f"{prefix}{field.name}"
        paths.append(path)
        nested = _attrs_class(_resolved_types(cls)[field.name])
        if nested is not None:
            paths.extend(schema_paths(nested, f"{path}."))
    return paths


def validate(cls: type, data: Mapping[str, Any]) -> list[str]:
    """All problems of ``data`` against ``cls``, with paths: unknown keys, wrong types, non-finite
    floats, and values that a field's attrs converter or validator refuses (``batch_size=0``)."""
    all_paths = schema_paths(cls)
    problems: list[str] = []
    _check_class(cls, data, "", all_paths, problems)
    return problems


def _check_class(cls: type, data: Any, prefix: str, all_paths: list[str], problems: list[str]) -> None:
    where = prefix.rstrip(".") or "<top level>"
    if not isinstance(data, Mapping):
        problems.append(f"{where}: expected a mapping of {cls.__name__} fields, got {_describe(data)}")
        return
    hints = _resolved_types(cls)
    fields = {f.name: f for f in attrs.fields(cls)}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in fields:
            problems.append(_unknown_key_message(path, all_paths))
            continue
        found = len(problems)
        _check_value(hints[key], value, path, all_paths, problems)
        if len(problems) == found:
            _check_field_rules(fields[key], hints[key], value, path, problems)


def _check_field_rules(field: attrs.Attribute, tp: Any, value: Any, path: str, problems: list[str]) -> None:
    """Run the field's attrs converter and validator on ``value`` as ``__init__`` would receive it.

    Here, not inside cattrs, so that range errors get the field's path and come with every other
    problem at once. Validators run without an instance (``instance=None``): a rule that compares
    fields belongs in ``__attrs_post_init__`` or the family's validator, which see the whole config.
    """
    if field.converter is None and field.validator is None:
        return
    try:
        # cattrs structures a field by its type; a type it has no hook for reaches ``__init__`` as is
        with contextlib.suppress(cattrs.StructureHandlerNotFoundError):
            value = CONVERTER.structure(value, tp)
        if isinstance(field.converter, attrs.Converter):
            value = field.converter(value, None, field)
        elif field.converter is not None:
            value = field.converter(value)
        if field.validator is not None:
            field.validator(None, field, value)
    except cattrs.BaseValidationError as err:
        if not _is_user_error(err):
            raise
        problems.extend(_cattrs_problems(err, path))
    except (ValueError, TypeError) as err:
        problems.append(f"{path}: {err}")


def _unknown_key_message(path: str, all_paths: list[str]) -> str:
    match = difflib.get_close_matches(path, all_paths, n=1, cutoff=0.6)
    if not match:
        leaf = path.rsplit(".", 1)[-1]
        by_leaf = [p for p in all_paths if p.rsplit(".", 1)[-1] == leaf]
        match = by_leaf[:1]
    hint = f"; did you mean {match[0]!r}?" if match else ""
    return f"{path}: unknown config key{hint}"


def _check_value(tp: Any, value: Any, path: str, all_paths: list[str], problems: list[str]) -> None:
    if not _type_error(tp, value, path, all_paths, problems):
        return
    if isinstance(value, float) and not math.isfinite(value) and not _type_error(tp, 0.0, path, all_paths, []):
        problems.append(f"{path}: expected a finite number, got {value}")
    else:
        problems.append(f"{path}: expected {_type_name(tp)}, got {_describe(value)}")


def _type_error(tp: Any, value: Any, path: str, all_paths: list[str], problems: list[str]) -> bool:
    """True when ``value`` does not fit ``tp``; nested problems are appended directly."""
    if tp is Any or tp is object:
        return False
    nested = _attrs_class(tp)
    if nested is not None:
        if isinstance(value, Mapping):
            _check_class(nested, value, f"{path}.", all_paths, problems)
            return False
        return True
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return all(_type_error(arg, value, path, all_paths, []) for arg in args) or _check_members(
            args, value, path, all_paths, problems
        )
    if origin is Literal:
        return value not in args
    if origin in (list, tuple, typing.Sequence, Iterable):
        if not isinstance(value, (list, tuple)):
            return True
        item_tp = args[0] if args else Any
        for i, item in enumerate(value):
            _check_value(item_tp, item, f"{path}[{i}]", all_paths, problems)
        return False
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            return True
        key_tp, val_tp = args if args else (Any, Any)
        for key, item in value.items():
            _check_value(key_tp, key, f"{path} key {key!r}", all_paths, problems)
            _check_value(val_tp, item, f"{path}.{key}", all_paths, problems)
        return False
    if tp is type(None):
        return value is not None
    if tp is bool:
        return not isinstance(value, bool)
    if tp is int:
        return isinstance(value, bool) or not isinstance(value, int)
    if tp is float:  # ``.nan`` and ``.inf`` are floats in YAML, never a useful learning rate or size
        return isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value)
    if tp is str:
        return not isinstance(value, (str, int, float)) or isinstance(value, bool)
    return False


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        return False


def _check_members(args: tuple[Any, ...], value: Any, path: str, all_paths: list[str], problems: list[str]) -> bool:
    """For a union that matched, report nested problems from the first member that fits."""
    for arg in args:
        if not _type_error(arg, value, path, all_paths, []):
            _type_error(arg, value, path, all_paths, problems)
            return False
    return True


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if tp is type(None):
        return "null"
    if _attrs_class(tp) is not None:
        return f"a mapping ({tp.__name__})"
    return getattr(tp, "__name__", str(tp))


def _describe(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python prints (only from Python callers; YAML refuses them)
        return f"a value too large to print ({type(value).__name__})"
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _attrs_class(tp: Any) -> type | None:
    return tp if isinstance(tp, type) and attrs.has(tp) else None


def _resolved_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


# -------------------------------------------------------------------------------------------------
# Structuring and writing
# -------------------------------------------------------------------------------------------------


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, lambda v, _: v if isinstance(v, str) else str(v))
    converter.register_structure_hook(float, lambda v, _: float(v))
    converter.register_structure_hook(Any, lambda v, _: v)
    converter.register_structure_hook_func(_is_str_or_str_list, _structure_str_or_list)
    return converter


def _is_str_or_str_list(tp: Any) -> bool:
    """``str | list[str]`` fields (a caption field name or a list of them)."""
    return typing.get_origin(tp) in (Union, types.UnionType) and set(typing.get_args(tp)) == {str, list[str]}


def _structure_str_or_list(value: Any, _: Any) -> str | list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value)


CONVERTER = _converter()


def structure(cls: type, data: Mapping[str, Any], source: str = "") -> Any:
    """Validate ``data`` against ``cls`` (raising :class:`ConfigError` with every problem) and build it.

    :func:`validate` finds what field rules can; a rule only construction can check (an
    ``__attrs_post_init__``) that refuses the config still gives a :class:`ConfigError` with paths.
    """
    problems = validate(cls, data)
    if problems:
        raise ConfigError(problems, source)
    try:
        return CONVERTER.structure(dict(data), cls)
    except cattrs.BaseValidationError as err:
        if not _is_user_error(err):
            raise
        raise ConfigError(_cattrs_problems(err, ""), source) from None


_USER_ERRORS = (ValueError, TypeError, KeyError, cattrs.ForbiddenExtraKeysError)
"""What a cattrs error wraps when the data was wrong; anything else (a missing hook) is a bug."""


def _is_user_error(err: BaseException) -> bool:
    if isinstance(err, cattrs.BaseValidationError):
        return all(_is_user_error(inner) for inner in err.exceptions)
    return isinstance(err, _USER_ERRORS)


def _cattrs_problems(err: cattrs.BaseValidationError, prefix: str) -> list[str]:
    """One ``path: message`` problem per exception that cattrs collected."""
    problems = []
    for line in cattrs.transform_error(err, path=prefix, format_exception=_format_exception):
        message, _, where = line.rpartition(" @ ")
        problems.append(f"{where.lstrip('.') or '<top level>'}: {message}")
    return problems


def _format_exception(exc: BaseException, tp: type | None) -> str:
    """The validator's own message (``batch_size must be at least 1``), else cattrs' wording."""
    if isinstance(exc, (ValueError, TypeError)) and str(exc):
        return str(exc)
    return cattrs.v.format_exception(exc, tp)


def unstructure(config: Any) -> dict[str, Any]:
    return CONVERTER.unstructure(config)


REDACTED = "<redacted>"


def redacted(config: Any) -> dict[str, Any]:
    """``unstructure(config)`` with every non-empty ``secret`` field replaced by ``<redacted>``."""
    data = unstructure(config)
    _redact(type(config), data)
    return data


def _redact(cls: type, data: dict[str, Any]) -> None:
    hints = _resolved_types(cls)
    for field in attrs.fields(cls):
        value = data.get(field.name)
        if field.metadata.get(SECRET_KEY) and value:
            data[field.name] = REDACTED
        elif (nested := _attrs_class(hints[field.name])) is not None and isinstance(value, dict):
            _redact(nested, value)


def load_config(cls: type, spec: Path | None, overrides: Iterable[str] = ()) -> Any:
    """The experiment config from a spec file (or the defaults) plus command-line overrides."""
    data = read_yaml(spec) if spec is not None else {}
    data = apply_overrides(data, parse_overrides(overrides))
    return structure(cls, data, str(spec) if spec else "defaults")


def dump_yaml(config: Any) -> str:
    """The config as YAML, secrets redacted (what ``show`` prints and ``experiment.yaml`` holds)."""
    return yaml.dump(redacted(config), Dumper=SpecDumper, sort_keys=False, default_flow_style=None)


def write_yaml(config: Any, path: Path) -> Path:
    """Write the resolved config (``experiment.yaml``) next to a run's outputs, atomically."""
    return write_text_atomically(Path(path), dump_yaml(config))
