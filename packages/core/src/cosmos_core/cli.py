"""``cosmos-run``: the one launcher.

cosmos-run [-p no:PLUGIN | -p MODULE] plugins [--json]
cosmos-run list [KIND] [--json]
cosmos-run specs [FAMILY]
cosmos-run show FAMILY ACTION [-e SPEC] [--] [experiment=NAME] [dotted.overrides]
cosmos-run FAMILY --help
cosmos-run FAMILY ACTION --help
cosmos-run FAMILY ACTION [--dryrun] [-e SPEC] [--] [experiment=NAME] [dotted.overrides]   (config actions)
cosmos-run FAMILY ACTION [--dryrun] [ARGUMENTS]                                         (command actions)

The same works as ``torchrun ... -m cosmos_core.cli FAMILY ACTION ...``.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import yaml

from cosmos_core.config.describe import format_options
from cosmos_core.config.loader import dump_yaml, write_yaml
from cosmos_core.distributed import maybe_relaunch
from cosmos_core.errors import UserInputError
from cosmos_core.family import Action, ModelFamily
from cosmos_core.io import describe_os_error
from cosmos_core.plugins import PluginHost, PluginLoadError, load_plugins
from cosmos_core.registry import REGISTRY_CLASSES, RegistryError, closest
from cosmos_core.run import (
    RunContext,
    bundled_specs,
    family_experiments,
    family_runtime,
    find_action,
    import_object,
    resolve_config,
)
from cosmos_core.signals import Interrupted

BUILTIN_COMMANDS = ("plugins", "list", "show", "specs")
PLUGINS_ENV = "COSMOS_PLUGINS"
"""Comma-separated plugin modules to load beside the installed ones, like ``-p MODULE``."""

OPERATIONAL_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ELOOP,
        errno.ENAMETOOLONG,
        errno.EFBIG,
        errno.EIO,
    }
)
"""OS errors that mean "the machine refused" (disk full, read-only, no permission, a bad path), not a bug."""


def _global_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosmos-run",
        description="Train, evaluate, search with and export Cosmos models.",
        epilog="Model commands: cosmos-run FAMILY ACTION ... ('cosmos-run FAMILY --help' lists the actions; "
        "'cosmos-run list tasks' lists the families).",
    )
    parser.add_argument(
        "-p",
        dest="plugin_options",
        action="append",
        default=[],
        metavar="no:NAME|MODULE",
        help="disable a plugin by name (no:NAME), or load a plugin module by import name (repeatable); "
        f"also COSMOS_DISABLE_PLUGINS=a,b and {PLUGINS_ENV}=module.a,module.b",
    )
    parser.add_argument("command", help="plugins, list, show, specs, or a model family name")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of the command")
    return parser


def _plugin_options(options: list[str]) -> tuple[list[str], list[object]]:
    """``-p`` values (and the environment) → plugin names to block, plugin modules to load."""
    disabled, modules = [], []
    names = [name.strip() for name in os.environ.get(PLUGINS_ENV, "").split(",") if name.strip()]
    for option in options:
        if option.startswith("no:"):
            disabled.append(option[3:])
        else:
            names.append(option)
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except Exception as err:
            raise PluginLoadError(
                f"plugin module {name!r} (from -p or {PLUGINS_ENV}) cannot be imported: {type(err).__name__}: {err}"
            ) from None
    return disabled, modules


# -------------------------------------------------------------------------------------------------
# Built-in commands
# -------------------------------------------------------------------------------------------------


def _cmd_plugins(host: PluginHost, args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cosmos-run plugins", description="Installed plugins.")
    parser.add_argument("--json", action="store_true", help="print JSON")
    opts = parser.parse_args(args)
    infos = host.plugins()
    provided: dict[str, dict[str, list[str]]] = {info.name: {} for info in infos}
    for kind, registry in host.registries.items():
        for entry in registry.entries():
            provided.setdefault(entry.plugin, {}).setdefault(kind, []).append(entry.name)
    if opts.json:
        payload = [
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "hooks": list(info.hooks),
                "provides": provided.get(info.name, {}),
            }
            for info in infos
        ]
        print(json.dumps(payload, indent=2))
        return 0
    for info in infos:
        dist = f"{info.distribution} {info.version}" if info.distribution else "(not from a distribution)"
        print(f"{info.name}  [{dist}]")
        for kind, names in sorted(provided.get(info.name, {}).items()):
            print(f"    {kind}: {', '.join(names)}")
    if host.blocked:
        print(f"disabled: {', '.join(host.blocked)}")
    return 0


def _cmd_list(host: PluginHost, args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cosmos-run list", description="Registered names.")
    parser.add_argument("kind", nargs="?", help=f"one of: {', '.join(REGISTRY_CLASSES)}")
    parser.add_argument("--json", action="store_true", help="print JSON")
    opts = parser.parse_args(args)
    kinds = list(REGISTRY_CLASSES)
    if opts.kind:
        kind = opts.kind if opts.kind in kinds else f"{opts.kind}s"
        if kind not in kinds:
            hint = closest(opts.kind, kinds)
            raise RegistryError(
                f"unknown kind {opts.kind!r}"
                + (f"; did you mean {hint!r}?" if hint else "")
                + f" Kinds: {', '.join(kinds)}."
            )
        kinds = [kind]
    rows = [
        {"kind": kind, "name": e.name, "plugin": e.plugin, "distribution": e.distribution, "help": e.help}
        for kind in kinds
        for e in host.registries[kind].entries()
    ]
    if opts.json:
        print(json.dumps(rows, indent=2))
        return 0
    for kind in kinds:
        print(f"{kind}:")
        for row in (r for r in rows if r["kind"] == kind):
            origin = row["distribution"] or row["plugin"]
            print(f"    {row['name']:<28} {origin:<28} {row['help']}")
            if kind == "tasks":
                family = host.tasks.get(row["name"])
                print(f"    {'':<28} actions: {', '.join(family.actions)}")
    return 0


def _cmd_specs(host: PluginHost, args: list[str]) -> int:
    families = args or host.tasks.names()
    for name in families:
        family = host.tasks.get(name)
        print(f"{family.name}:")
        for spec, path in sorted(bundled_specs(family).items()):
            print(f"    {spec:<24} {path}")
    return 0


def _cmd_show(host: PluginHost, args: list[str]) -> int:
    if len(args) < 2:
        raise SystemExit("usage: cosmos-run show FAMILY ACTION [-e SPEC] [--] [overrides]")
    family_name, action, *rest = args
    family = host.tasks.get(family_name)
    parser = _config_parser(family, action, find_action(family, action), prog=f"cosmos-run show {family_name}")
    opts = parser.parse_args(rest)
    config, _ = resolve_config(host, family, action, opts.spec, opts.overrides)
    print(dump_yaml(config), end="")
    return 0


# -------------------------------------------------------------------------------------------------
# Family commands
# -------------------------------------------------------------------------------------------------


class _LazyEpilogParser(argparse.ArgumentParser):
    """An ArgumentParser whose epilog (the option tables) is built only when help is printed."""

    def __init__(self, *args: Any, epilog_builder: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
        self._epilog_builder = epilog_builder

    def format_help(self) -> str:
        self.epilog = self._epilog_builder()
        return super().format_help()


def _family_help(family: ModelFamily) -> str:
    lines = [f"usage: cosmos-run {family.name} ACTION [--help] ...", ""]
    if family.description:
        lines += [family.description, ""]
    lines.append("actions:")
    lines += [f"  {name:<16} {action.help}" for name, action in family.actions.items()]
    lines += _specs_and_experiments(family)
    lines += ["", f"'cosmos-run {family.name} ACTION --help' shows an action's options."]
    return "\n".join(lines)


def _specs_and_experiments(family: ModelFamily) -> list[str]:
    lines = []
    specs = bundled_specs(family)
    if specs:
        lines += ["", "bundled specs (-e NAME):", *(f"  {name}" for name in sorted(specs))]
    catalog = family_experiments(family)
    if catalog is not None:
        lines += ["", "experiments (experiment=NAME):", *(f"  {name}" for name in catalog.names())]
    return lines


def _config_parser(family: ModelFamily, name: str, action: Action, prog: str | None = None) -> argparse.ArgumentParser:
    def epilog() -> str:
        lines = _specs_and_experiments(family)
        if family.config_class is not None:
            lines += ["", "config options (dotted.path=value; values are YAML):", format_options(family.config_class)]
        return "\n".join(lines).lstrip("\n")

    parser = _LazyEpilogParser(
        prog=prog or f"cosmos-run {family.name} {name}",
        description=action.help,
        epilog_builder=epilog,
        usage="%(prog)s [-h] [--dryrun] [-e SPEC] [--] [experiment=NAME] [dotted.path=value ...]",
    )
    parser.add_argument("-e", "--experiment_spec", dest="spec", help="spec path or bundled spec name")
    parser.add_argument(
        "--dryrun",
        action="store_true",
        help="resolve, validate, write and print the config; touch no data, weights or devices",
    )
    parser.add_argument("overrides", nargs="*", help="experiment=NAME and dotted.path=value overrides")
    return parser


def _command_parser(family: ModelFamily, name: str, action: Action) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"cosmos-run {family.name} {name}", description=action.help)
    import_object(action.arguments)(parser)
    parser.add_argument("--dryrun", action="store_true", help="print the resolved arguments and stop; run nothing")
    return parser


def _cmd_family(host: PluginHost, family_name: str, args: list[str], argv: tuple[str, ...]) -> int:
    family = host.tasks.get(family_name)
    if not args or args[0] in ("-h", "--help"):
        print(_family_help(family))
        return 0 if args else 2
    name, *rest = args
    action = find_action(family, name)
    ctx = RunContext(host=host, family=family, action=name, argv=argv)
    if not action.takes_config:
        opts = _command_parser(family, name, action).parse_args(rest)
        if opts.dryrun:
            resolved = {key: value for key, value in vars(opts).items() if key != "dryrun"}
            print(yaml.safe_dump(resolved, sort_keys=False, default_flow_style=False), end="")
            print(f"dry run: {family.name} {name} was not run")
            return 0
        return _exit_code(import_object(action.target)(opts, ctx))
    opts = _config_parser(family, name, action).parse_args(rest)
    config, spec = resolve_config(host, family, name, opts.spec, opts.overrides)
    ctx = RunContext(host=host, family=family, action=name, argv=argv, spec=spec)
    if opts.dryrun:
        return _dryrun(family, name, config)
    relaunched = maybe_relaunch(family_runtime(family).devices(config, name), argv)
    if relaunched is not None:
        return relaunched
    return _exit_code(import_object(action.target)(config, ctx))


def _dryrun(family: ModelFamily, action: str, config: Any) -> int:
    """Write the resolved config where the run would and print it; nothing else is touched."""
    from cosmos_core.io import make_dirs
    from cosmos_core.runlock import RunLock

    runtime = family_runtime(family)
    folder = make_dirs(runtime.run_dir(config, action))
    with RunLock(folder):  # never overwrite the config of a run in progress
        path = write_yaml(config, folder / runtime.config_file)
    print(dump_yaml(config), end="")
    print(f"dry run: config written to {path}; no data, weights or devices were touched")
    return 0


def _exit_code(result: Any) -> int:
    return int(result) if isinstance(result, int) and not isinstance(result, bool) else 0


# -------------------------------------------------------------------------------------------------
# Entry point
# -------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, extra_plugins: Sequence[object] = ()) -> int:
    """Run the launcher; ``extra_plugins`` are registered beside the installed ones (tests, embedding)."""
    argv = tuple(sys.argv[1:] if argv is None else argv)
    opts = _global_parser().parse_args(argv)
    try:
        disabled, modules = _plugin_options(opts.plugin_options)
        host = load_plugins(disabled=disabled, extra=[*modules, *extra_plugins])
        if opts.command == "plugins":
            return _cmd_plugins(host, opts.rest)
        if opts.command == "list":
            return _cmd_list(host, opts.rest)
        if opts.command == "show":
            return _cmd_show(host, opts.rest)
        if opts.command == "specs":
            return _cmd_specs(host, opts.rest)
        return _cmd_family(host, opts.command, opts.rest, argv)
    except UserInputError as err:
        print(f"{_rank_tag()}cosmos-run: error: {err}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        if not _rank_tag():  # every rank stopped at the same boundary: one line is enough
            note = f": {stop.note}" if stop.note else ""
            print(f"cosmos-run: stopped by {stop.signal_name}{note}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print(f"{_rank_tag()}cosmos-run: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        if err.errno not in OPERATIONAL_ERRNOS or not err.filename:
            raise
        print(f"{_rank_tag()}cosmos-run: error: {err.filename}: {describe_os_error(err)}", file=sys.stderr)
        return 2


def _rank_tag() -> str:
    """``[rank N] `` for the workers of a multi-process job other than rank 0, else nothing."""
    rank = os.environ.get("RANK", "0")
    return "" if rank in ("", "0") else f"[rank {rank}] "


if __name__ == "__main__":
    sys.exit(main())
