"""The plugin host: a fresh pluggy manager per run, filled registries, and their provenance."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import attrs
import pluggy

from cosmos_core import hookspecs
from cosmos_core.errors import UserInputError
from cosmos_core.registry import REGISTRY_CLASSES, Registry, RegistryError

DISABLE_ENV = "COSMOS_DISABLE_PLUGINS"
"""Comma-separated plugin names to block, like ``-p no:NAME`` on the command line."""


@attrs.frozen
class PluginInfo:
    """One loaded plugin: its name, the distribution that ships it and the hooks it implements."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]


class PluginHost:
    """Loads plugins and exposes one registry per hook kind (``host.registries["datasets"]``)."""

    def __init__(self, pm: pluggy.PluginManager, blocked: tuple[str, ...]) -> None:
        self.pm = pm
        self.blocked = blocked
        self.registries: dict[str, Registry[Any]] = {}
        for kind, cls in REGISTRY_CLASSES.items():
            registry = cls()
            self._fill(kind, registry)
            self.registries[kind] = registry

    @property
    def tasks(self) -> Any:
        return self.registries["tasks"]

    @property
    def datasets(self) -> Any:
        return self.registries["datasets"]

    @property
    def callbacks(self) -> Any:
        return self.registries["callbacks"]

    @property
    def exporters(self) -> Any:
        return self.registries["exporters"]

    def _fill(self, kind: str, registry: Registry[Any]) -> None:
        """Call each implementation on its own so every name records the plugin that added it."""
        caller = getattr(self.pm.hook, f"cosmos_register_{kind}")
        for impl in caller.get_hookimpls():
            name = self.pm.get_name(impl.plugin) or repr(impl.plugin)
            registry.bind(name, self._distribution_label(impl.plugin))
            try:
                impl.function(**{arg: registry for arg in impl.argnames})
            except RegistryError:
                raise
            except Exception as err:
                raise PluginLoadError(
                    f"plugin {name!r} failed in cosmos_register_{kind}: {type(err).__name__}: {err}. "
                    f"Fix or reinstall it, or disable it with 'cosmos-run -p no:{name} ...'."
                ) from err
        registry.bind("<direct>", None)

    def _distribution_label(self, plugin: object) -> str | None:
        dist = self._distribution_of(plugin)
        return f"{dist.metadata['name']} {dist.version}" if dist else None

    def _distribution_of(self, plugin: object) -> importlib.metadata.Distribution | None:
        for loaded, dist in self.pm.list_plugin_distinfo():
            if loaded is plugin:
                return dist
        return None

    def plugins(self) -> list[PluginInfo]:
        infos = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda item: item[0]):
            if plugin is None or plugin is hookspecs:
                continue
            dist = self._distribution_of(plugin)
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or []))
            infos.append(
                PluginInfo(
                    name=name,
                    distribution=dist.metadata["name"] if dist else None,
                    version=dist.version if dist else None,
                    hooks=hooks,
                )
            )
        return infos


class PluginLoadError(UserInputError, RuntimeError):
    """An installed plugin could not be imported."""


def _failing_entry_point(pm: pluggy.PluginManager, err: Exception) -> str:
    """Name the entry point that broke, so the user can disable or fix that one plugin."""
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group != hookspecs.ENTRY_POINT_GROUP or pm.is_registered(pm.get_plugin(ep.name)):
                continue
            if pm.is_blocked(ep.name):
                continue
            try:
                ep.load()
            except Exception as exc:
                return (
                    f"plugin {ep.name!r} ({ep.value}) from {dist.metadata['name']} {dist.version} failed to "
                    f"import: {type(exc).__name__}: {exc}. Fix or reinstall it, or disable it with "
                    f"'cosmos-run -p no:{ep.name} ...' or {DISABLE_ENV}={ep.name}."
                )
    return f"loading plugins failed: {type(err).__name__}: {err}"


def blocked_from_env() -> tuple[str, ...]:
    raw = os.environ.get(DISABLE_ENV, "")
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def load_plugins(disabled: Iterable[str] = (), extra: Iterable[ModuleType | object] = ()) -> PluginHost:
    """Build a fresh plugin manager: entry-point plugins minus blocked ones, plus ``extra`` objects.

    ``extra`` registers plugin objects directly (tests, inline plugins).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    blocked = tuple(dict.fromkeys([*blocked_from_env(), *disabled]))
    for name in blocked:
        pm.set_blocked(name)
    try:
        pm.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
    except Exception as err:
        raise PluginLoadError(_failing_entry_point(pm, err)) from err
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return PluginHost(pm, blocked)
