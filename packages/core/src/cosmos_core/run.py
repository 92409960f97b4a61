"""Resolving a family action into a validated config and calling it."""

from __future__ import annotations

import importlib
import importlib.resources
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from cosmos_core.config.loader import ConfigError, load_config
from cosmos_core.plugins import PluginHost
from cosmos_core.registry import ModelFamily, closest


@attrs.frozen
class RunContext:
    """What an action receives besides its config."""

    host: PluginHost
    family: ModelFamily
    action: str
    argv: tuple[str, ...]
    """The launcher arguments after ``cosmos-run`` (used to re-launch under torchrun)."""
    spec: Path | None


def import_object(target: str) -> Any:
    """Import ``"package.module:attribute"``."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def bundled_specs(family: ModelFamily) -> dict[str, Path]:
    """Spec name → file for the specs shipped in the family's ``specs`` folder."""
    folder = importlib.resources.files(family.specs_package) / "specs"
    if not folder.is_dir():
        return {}
    return {Path(item.name).stem: Path(str(item)) for item in folder.iterdir() if item.name.endswith((".yaml", ".yml"))}


def resolve_spec(family: ModelFamily, spec: str) -> Path:
    """A spec path, or the name of a bundled spec (``finetune_224p``, ``finetune_224p.yaml`` or the
    seed's ``cosmos_embed1/configs/experiment_specs/finetune_224p.yaml``)."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    specs = bundled_specs(family)
    name = Path(spec).stem
    if name in specs:
        return specs[name]
    hint = closest(name, list(specs))
    raise ConfigError(
        [
            f"-e {spec}: no such file, and no bundled {family.name} spec of that name"
            + (f"; did you mean {hint!r}?" if hint else "")
            + f" Bundled specs: {', '.join(sorted(specs))}."
        ]
    )


def prepare(
    host: PluginHost,
    family_name: str,
    action: str,
    spec: str | None,
    overrides: list[str],
    argv: tuple[str, ...],
) -> tuple[Any, RunContext, Callable[..., Any]]:
    """Everything checked before an action runs: family, action, spec, overrides, family rules."""
    family = host.tasks.get(family_name)
    if action not in family.actions:
        hint = closest(action, list(family.actions))
        raise ConfigError(
            [
                f"{family.name} has no action {action!r}"
                + (f"; did you mean {hint!r}?" if hint else "")
                + f" Actions: {', '.join(sorted(family.actions))}."
            ]
        )
    spec_path = resolve_spec(family, spec) if spec else None
    config = load_config(family.config_class, spec_path, overrides)
    if family.validator:
        problems = import_object(family.validator)(config, action, host)
        if problems:
            raise ConfigError(problems, str(spec_path) if spec_path else "defaults")
    context = RunContext(host=host, family=family, action=action, argv=argv, spec=spec_path)
    return config, context, import_object(family.actions[action])
