"""From a command line to a running action: the family's config resolved, validated, dry-run or run.

Config actions resolve their experiment config in this order, each step over the previous one:

1. ``experiment=NAME`` (from the family's :class:`~cosmos_core.family.ExperimentCatalog`), when given;
2. the spec of ``-e SPEC`` (a path or the name of a bundled spec);
3. every other ``dotted.path=value`` override, in command-line order.

The result is structured into the family's attrs schema and validated (schema, family rules, action
rules) before anything runs.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.resources
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from cosmos_core.config.loader import ConfigError, apply_overrides, parse_overrides, read_yaml, structure
from cosmos_core.family import Action, DeviceRequest, ExperimentCatalog, FamilyRuntime, ModelFamily, ParallelDims
from cosmos_core.plugins import PluginHost
from cosmos_core.registry import closest

EXPERIMENT_KEY = "experiment"


def import_object(target: str) -> Any:
    """Import ``"package.module:attribute"``."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@attrs.frozen
class RunContext:
    """What an action receives besides its config (or parsed arguments)."""

    host: PluginHost
    family: ModelFamily
    action: str
    argv: tuple[str, ...]
    """The launcher arguments after ``cosmos-run`` (used to re-launch under torchrun)."""
    spec: Path | None = None

    @property
    def runtime(self) -> FamilyRuntime:
        return family_runtime(self.family)

    @contextlib.contextmanager
    def open_run(
        self,
        config: Any = None,
        *,
        folder: Path | None = None,
        logs: bool = True,
        lock: bool = True,
        devices: DeviceRequest | None = None,
        parallel: ParallelDims | None = None,
    ) -> Iterator[Any]:
        """Start this action's run (see :func:`cosmos_core.lifecycle.open_run`).

        With a config, the family's runtime supplies the folder, the config file name, the devices
        and the parallel layout unless given here; without one, ``folder`` is required.
        """
        from cosmos_core.lifecycle import open_run

        config_file = None
        if config is not None:
            runtime = self.runtime
            folder = folder or runtime.run_dir(config, self.action)
            config_file = runtime.config_file
            devices = devices or runtime.devices(config, self.action)
            parallel = parallel or runtime.parallel(config, self.action)
        if folder is None:
            raise TypeError("open_run needs a folder when no config is given")
        with open_run(
            self.action,
            Path(folder),
            config=config,
            config_file=config_file,
            devices=devices,
            parallel=parallel,
            logs=logs,
            lock=lock,
        ) as run:
            yield run


def family_runtime(family: ModelFamily) -> FamilyRuntime:
    if family.runtime is None:
        raise TypeError(f"model family {family.name!r} declares no runtime (ModelFamily.runtime)")
    return import_object(family.runtime)


def family_experiments(family: ModelFamily) -> ExperimentCatalog | None:
    return import_object(family.experiments) if family.experiments else None


def bundled_specs(family: ModelFamily) -> dict[str, Path]:
    """Spec name → file for the specs shipped in the family's ``specs`` folder."""
    if not family.specs_package:
        return {}
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
            + (f" Bundled specs: {', '.join(sorted(specs))}." if specs else "")
        ]
    )


def find_action(family: ModelFamily, name: str) -> Action:
    if name in family.actions:
        return family.actions[name]
    hint = closest(name, list(family.actions))
    raise ConfigError(
        [
            f"{family.name} has no action {name!r}"
            + (f"; did you mean {hint!r}?" if hint else "")
            + f" Actions: {', '.join(sorted(family.actions))}."
        ]
    )


def experiment_data(family: ModelFamily, name: Any) -> Mapping[str, Any]:
    """The base config of ``experiment=NAME``; an unknown name lists the closest and how to see all."""
    catalog = family_experiments(family)
    if catalog is None:
        raise ConfigError(
            [f"{EXPERIMENT_KEY}={name}: {family.name} has no named experiments; give a spec with -e instead"]
        )
    names = catalog.names()
    if not isinstance(name, str) or name not in names:
        hint = closest(str(name), names)
        raise ConfigError(
            [
                f"{EXPERIMENT_KEY}={name}: unknown {family.name} experiment"
                + (f"; did you mean {hint!r}?" if hint else "")
                + f" 'cosmos-run {family.name} --help' lists all {len(names)}."
            ]
        )
    return catalog.get(name)


def resolve_config(
    host: PluginHost, family: ModelFamily, action: str, spec: str | None, overrides: list[str]
) -> tuple[Any, Path | None]:
    """The validated experiment config of a config action, and the spec file it came from."""
    if family.config_class is None:
        raise TypeError(f"model family {family.name!r} has config actions but no config_class")
    chosen = find_action(family, action)
    parsed = parse_overrides(overrides)
    experiments = [value for key, value in parsed if key == EXPERIMENT_KEY]
    data: dict[str, Any] = {}
    if len(experiments) > 1:
        raise ConfigError([f"{EXPERIMENT_KEY}= is given {len(experiments)} times; give one experiment name"])
    if experiments:
        data = apply_overrides(dict(experiment_data(family, experiments[0])), [])
    if family.spec_required and not spec:
        raise ConfigError([_spec_required_message(family, action)])
    spec_path = resolve_spec(family, spec) if spec else None
    if spec_path is not None:
        data = _merge(data, read_yaml(spec_path))
    data = apply_overrides(data, [(key, value) for key, value in parsed if key != EXPERIMENT_KEY])
    source = str(spec_path) if spec_path else (f"{EXPERIMENT_KEY}={experiments[0]}" if experiments else "defaults")
    config = structure(family.config_class, data, source)
    problems: list[str] = []
    if family.validator:
        problems += import_object(family.validator)(config, action, host)
    if chosen.validator:
        context = RunContext(host=host, family=family, action=action, argv=(), spec=spec_path)
        problems += import_object(chosen.validator)(config, context)
    if problems:
        raise ConfigError(problems, source)
    return config, spec_path


def _spec_required_message(family: ModelFamily, action: str) -> str:
    names = sorted(bundled_specs(family))
    listed = f" Bundled specs: {', '.join(names)}." if names else ""
    return (
        f"-e SPEC is required: 'cosmos-run {family.name} {action} -e SPEC [overrides]' with a spec file "
        f"or the name of a bundled spec.{listed}"
    )


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` deep-merged over ``base`` (mappings merge key by key; anything else replaces)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged
