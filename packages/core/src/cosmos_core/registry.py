"""Typed, attributed registries: the one place where plugins meet.

Each hook of :mod:`cosmos_core.hookspecs` receives a registry of one kind. A registry remembers which
plugin (and which installed distribution) added every name, refuses a second component under a name
that is taken (naming both plugins), and answers an unknown name with the list of what exists and the
closest match.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import attrs

from cosmos_core.errors import UserInputError
from cosmos_core.family import ModelFamily

T = TypeVar("T")


class RegistryError(UserInputError, LookupError):
    """A name was registered twice, or asked for but never registered."""


def closest(name: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    """The candidate most similar to ``name``, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


@attrs.frozen
class Entry(Generic[T]):
    """One registered component and where it came from."""

    name: str
    obj: T
    kind: str
    plugin: str
    distribution: str | None = None
    help: str = ""
    options: type | None = None
    """An attrs class of the component's own options, where its kind has them (dataset types)."""
    requires: tuple[str, ...] = ()
    """Config fields the component cannot work without (dataset types: ``metadata``, ``data_root``);
    a config that leaves one unset is refused before any work starts, naming its config path."""


class Registry(Generic[T]):
    """Name → component map for one kind (datasets, callbacks, tasks, …)."""

    kind = "component"

    def __init__(self) -> None:
        self._entries: dict[str, Entry[T]] = {}
        self._plugin = "<direct>"
        self._distribution: str | None = None

    def bind(self, plugin: str, distribution: str | None) -> None:
        """Attribute the following registrations to ``plugin`` (done by the plugin host)."""
        self._plugin = plugin
        self._distribution = distribution

    def add(self, name: str, obj: T, *, help: str = "") -> None:
        """Register ``obj`` under ``name``; a name already taken is an error naming both plugins."""
        self._add(Entry(name, obj, self.kind, self._plugin, self._distribution, help))

    def _add(self, entry: Entry[T]) -> None:
        name = entry.name
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{self.kind} names must be non-empty strings, got {name!r}")
        if name in self._entries:
            first = self._entries[name]
            raise RegistryError(
                f"{self.kind} {name!r} is registered twice: by plugin {first.plugin!r}"
                f"{_dist_suffix(first.distribution)} and by plugin {self._plugin!r}"
                f"{_dist_suffix(self._distribution)}. Uninstall or disable one of them "
                f"(cosmos-run -p no:<plugin> ... or COSMOS_DISABLE_PLUGINS=<plugin>)."
            )
        self._entries[name] = entry

    def get(self, name: str) -> T:
        """The component registered as ``name``."""
        return self.entry(name).obj

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        names = sorted(self._entries)
        hint = closest(name, names)
        msg = f"unknown {self.kind} {name!r}."
        if hint:
            msg += f" Did you mean {hint!r}?"
        msg += f" Registered {self.kind}s: {', '.join(names) if names else '(none)'}."
        return msg

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


def _dist_suffix(distribution: str | None) -> str:
    return f" (from {distribution})" if distribution else ""


class TaskRegistry(Registry[ModelFamily]):
    """Model families and their actions (train, evaluate, inference, export, …)."""

    kind = "task"


class DatasetRegistry(Registry[Callable[..., Any]]):
    """Dataset types, keyed by ``dataset_type``: ``factory(config, *, training) -> Dataset``.

    A type may declare options of its own: an attrs class whose fields a spec sets under the dataset
    config's ``options`` mapping. They are validated at load time like every other config key, and
    the factory then receives the structured object as ``factory(config, training=..., options=...)``.
    """

    kind = "dataset"

    def add(
        self,
        name: str,
        obj: Callable[..., Any],
        *,
        help: str = "",
        options: type | None = None,
        requires: tuple[str, ...] = (),
    ) -> None:
        """``requires`` names the dataset config fields the type needs set (e.g. ``("metadata",)``)."""
        if options is not None and not attrs.has(options):
            raise TypeError(f"the options of dataset type {name!r} must be an attrs class, got {options!r}")
        self._add(Entry(name, obj, self.kind, self._plugin, self._distribution, help, options, tuple(requires)))


class CallbackRegistry(Registry[Callable[..., Any]]):
    """Training callbacks, keyed by the names used in ``train.callbacks``: ``factory(**params)``."""

    kind = "callback"


class LossRegistry(Registry[Callable[..., Any]]):
    """Loss functions a model family can select by name."""

    kind = "loss"


class ControlModalityRegistry(Registry[Any]):
    """Control inputs for controlled video diffusion (edge, depth, seg, …)."""

    kind = "control modality"


class ExporterRegistry(Registry[Any]):
    """Exporters, keyed by ``export.mode`` (video, text, combined, huggingface, …)."""

    kind = "exporter"


REGISTRY_CLASSES: dict[str, type[Registry[Any]]] = {
    "tasks": TaskRegistry,
    "datasets": DatasetRegistry,
    "callbacks": CallbackRegistry,
    "losses": LossRegistry,
    "control_modalities": ControlModalityRegistry,
    "exporters": ExporterRegistry,
}
