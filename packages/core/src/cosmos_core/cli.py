"""``cosmos-run``: the one launcher.

cosmos-run [-p no:PLUGIN] plugins [--json]
cosmos-run list [KIND]
cosmos-run show FAMILY ACTION -e SPEC [dotted.overrides]
cosmos-run specs FAMILY
cosmos-run FAMILY ACTION -e SPEC [dotted.overrides]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cosmos_core.config.loader import dump_yaml
from cosmos_core.errors import UserInputError
from cosmos_core.plugins import PluginHost, load_plugins
from cosmos_core.registry import REGISTRY_CLASSES, RegistryError, closest
from cosmos_core.run import bundled_specs, prepare

BUILTIN_COMMANDS = ("plugins", "list", "show", "specs")


def _global_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosmos-run",
        description="Train, evaluate, search with and export Cosmos models.",
        epilog="Model commands: cosmos-run FAMILY ACTION -e SPEC [dotted.path=value ...]. "
        "Run 'cosmos-run list tasks' for families and actions.",
    )
    parser.add_argument(
        "-p",
        dest="plugin_options",
        action="append",
        default=[],
        metavar="no:NAME",
        help="disable a plugin by name (repeatable); also COSMOS_DISABLE_PLUGINS=a,b",
    )
    parser.add_argument("command", help="plugins, list, show, specs, or a model family name")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of the command")
    return parser


def _disabled(options: list[str]) -> list[str]:
    names = []
    for option in options:
        if not option.startswith("no:"):
            raise SystemExit(f"cosmos-run: -p takes no:NAME to disable a plugin, got {option!r}")
        names.append(option[3:])
    return names


def _cmd_plugins(host: PluginHost, args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cosmos-run plugins", description="Installed plugins.")
    parser.add_argument("--json", action="store_true", help="print JSON")
    opts = parser.parse_args(args)
    infos = host.plugins()
    provided = {info.name: {} for info in infos}
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


def _model_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("-e", "--experiment_spec", dest="spec", help="spec path or bundled spec name")
    parser.add_argument("overrides", nargs="*", help="dotted.path=value overrides")
    return parser


def _cmd_show(host: PluginHost, args: list[str], argv: tuple[str, ...]) -> int:
    if len(args) < 2:
        raise SystemExit("usage: cosmos-run show FAMILY ACTION -e SPEC [overrides]")
    family, action, *rest = args
    opts = _model_parser(f"cosmos-run show {family} {action}").parse_args(rest)
    config, _, _ = prepare(host, family, action, opts.spec, opts.overrides, argv)
    print(dump_yaml(config), end="")
    return 0


def _cmd_specs(host: PluginHost, args: list[str]) -> int:
    families = args or host.tasks.names()
    for name in families:
        family = host.tasks.get(name)
        print(f"{family.name}:")
        for spec, path in sorted(bundled_specs(family).items()):
            print(f"    {spec:<24} {path}")
    return 0


def _cmd_family(host: PluginHost, family: str, args: list[str], argv: tuple[str, ...]) -> int:
    if not args:
        actions = ", ".join(host.tasks.get(family).actions)
        raise SystemExit(f"usage: cosmos-run {family} ACTION -e SPEC [overrides]; actions: {actions}")
    action, *rest = args
    opts = _model_parser(f"cosmos-run {family} {action}").parse_args(rest)
    config, context, function = prepare(host, family, action, opts.spec, opts.overrides, argv)
    result = function(config, context)
    return int(result) if isinstance(result, int) else 0


def main(argv: Sequence[str] | None = None, extra_plugins: Sequence[object] = ()) -> int:
    """Run the launcher; ``extra_plugins`` are registered beside the installed ones (tests, embedding)."""
    argv = tuple(sys.argv[1:] if argv is None else argv)
    opts = _global_parser().parse_args(argv)
    try:
        host = load_plugins(disabled=_disabled(opts.plugin_options), extra=extra_plugins)
        if opts.command == "plugins":
            return _cmd_plugins(host, opts.rest)
        if opts.command == "list":
            return _cmd_list(host, opts.rest)
        if opts.command == "show":
            return _cmd_show(host, opts.rest, argv)
        if opts.command == "specs":
            return _cmd_specs(host, opts.rest)
        return _cmd_family(host, opts.command, opts.rest, argv)
    except UserInputError as err:
        print(f"cosmos-run: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
